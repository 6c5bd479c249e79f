# CallbackRoute comes from the webhooks app with its rows: its table is renamed, not copied.

from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ('sms', '0001_initial'),
        ('webhooks', '0002_callbackroute_to_sms'),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.CreateModel(
                    name='CallbackRoute',
                    fields=[
                        ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                        ('provider', models.CharField(max_length=16)),
                        ('provider_message_id', models.CharField(max_length=64)),
                        ('schema_name', models.CharField(max_length=63)),
                        ('created_at', models.DateTimeField(auto_now_add=True)),
                    ],
                    options={
                        'constraints': [models.UniqueConstraint(fields=('provider', 'provider_message_id'), name='callback_route_unique')],
                    },
                ),
            ],
            database_operations=[
                migrations.RunSQL(
                    'ALTER TABLE webhooks_callbackroute RENAME TO sms_callbackroute',
                    reverse_sql='ALTER TABLE sms_callbackroute RENAME TO webhooks_callbackroute',
                ),
            ],
        ),
    ]
