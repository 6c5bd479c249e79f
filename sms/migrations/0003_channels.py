# Channels and their addresses; the sequence numbers each tenant's sandbox number
# (sms.channels.channel_sandbox_ensure).

import django.db.models.deletion
import uuid
from django.conf import settings
from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("sms", "0002_callbackroute"),
        ("tenants", "0002_plans_subscriptions_lots"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.CreateModel(
            name="Channel",
            fields=[
                (
                    "id",
                    models.UUIDField(
                        default=uuid.uuid4, editable=False, primary_key=True, serialize=False
                    ),
                ),
                ("name", models.CharField(max_length=100)),
                (
                    "provider",
                    models.CharField(
                        choices=[
                            ("sandbox", "Sandbox"),
                            ("beem", "Beem Africa"),
                            ("twilio", "Twilio"),
                            ("whatsapp", "WhatsApp Cloud"),
                        ],
                        max_length=16,
                    ),
                ),
                (
                    "is_platform",
                    models.BooleanField(
                        default=False,
                        help_text="Works through the platform's account, with its numbers",
                    ),
                ),
                ("is_default", models.BooleanField(default=False)),
                ("is_active", models.BooleanField(default=True)),
                (
                    "credentials",
                    models.TextField(blank=True, help_text="Fernet token; never shown"),
                ),
                (
                    "credentials_hint",
                    models.JSONField(
                        blank=True,
                        default=dict,
                        help_text="The credentials masked, as readers see them",
                    ),
                ),
                (
                    "verified_at",
                    models.DateTimeField(
                        blank=True,
                        help_text="When the provider last accepted the credentials",
                        null=True,
                    ),
                ),
                ("created_at", models.DateTimeField(auto_now_add=True)),
                ("updated_at", models.DateTimeField(auto_now=True)),
                ("deleted_at", models.DateTimeField(blank=True, null=True)),
                (
                    "created_by",
                    models.ForeignKey(
                        blank=True,
                        null=True,
                        on_delete=django.db.models.deletion.SET_NULL,
                        related_name="+",
                        to=settings.AUTH_USER_MODEL,
                    ),
                ),
                (
                    "tenant",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.CASCADE,
                        related_name="channels",
                        to="tenants.tenant",
                    ),
                ),
            ],
            options={
                "ordering": ["provider", "-is_default", "created_at", "id"],
            },
        ),
        migrations.CreateModel(
            name="ChannelAddress",
            fields=[
                (
                    "id",
                    models.BigAutoField(
                        auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                    ),
                ),
                (
                    "provider",
                    models.CharField(
                        choices=[
                            ("sandbox", "Sandbox"),
                            ("beem", "Beem Africa"),
                            ("twilio", "Twilio"),
                            ("whatsapp", "WhatsApp Cloud"),
                        ],
                        max_length=16,
                    ),
                ),
                (
                    "kind",
                    models.CharField(
                        choices=[
                            ("number", "Phone number"),
                            ("sender_id", "Sender ID"),
                            ("shortcode", "Shortcode"),
                        ],
                        max_length=16,
                    ),
                ),
                ("address", models.CharField(max_length=32)),
                ("created_at", models.DateTimeField(auto_now_add=True)),
                (
                    "assigned_by",
                    models.ForeignKey(
                        blank=True,
                        help_text="The operator who attached this platform-owned address",
                        null=True,
                        on_delete=django.db.models.deletion.SET_NULL,
                        related_name="+",
                        to=settings.AUTH_USER_MODEL,
                    ),
                ),
                (
                    "channel",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.CASCADE,
                        related_name="addresses",
                        to="sms.channel",
                    ),
                ),
                (
                    "tenant",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.CASCADE,
                        related_name="+",
                        to="tenants.tenant",
                    ),
                ),
            ],
            options={
                "verbose_name_plural": "channel addresses",
                "ordering": ["created_at", "id"],
            },
        ),
        migrations.AddConstraint(
            model_name="channel",
            constraint=models.UniqueConstraint(
                condition=models.Q(("is_default", True)),
                fields=("tenant", "provider"),
                name="channel_one_default_per_provider",
            ),
        ),
        migrations.AddConstraint(
            model_name="channel",
            constraint=models.UniqueConstraint(
                condition=models.Q(("is_platform", True)),
                fields=("tenant", "provider"),
                name="channel_one_platform_per_provider",
            ),
        ),
        migrations.AddConstraint(
            model_name="channel",
            constraint=models.CheckConstraint(
                condition=models.Q(("is_default", False), ("is_active", True), _connector="OR"),
                name="channel_default_is_active",
            ),
        ),
        migrations.AddConstraint(
            model_name="channel",
            constraint=models.CheckConstraint(
                condition=models.Q(("provider__in", ["sandbox", "beem", "twilio", "whatsapp"])),
                name="channel_provider_known",
            ),
        ),
        migrations.AddConstraint(
            model_name="channeladdress",
            constraint=models.UniqueConstraint(
                fields=("provider", "address"), name="channel_address_unique_per_provider"
            ),
        ),
        migrations.RunSQL(
            "CREATE SEQUENCE sms_sandbox_number_seq",
            reverse_sql="DROP SEQUENCE sms_sandbox_number_seq",
        ),
    ]
