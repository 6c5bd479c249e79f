# CallbackRoute moves to the sms app with its table and rows: here it leaves webhooks' state
# only; sms.0002_callbackroute takes the table over.

from django.db import migrations


class Migration(migrations.Migration):

    dependencies = [
        ('webhooks', '0001_initial'),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[migrations.DeleteModel(name='CallbackRoute')],
            database_operations=[],
        ),
    ]
