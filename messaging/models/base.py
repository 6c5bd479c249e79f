"""What every messaging model shares: who made it, and the channels a message travels on."""

from django.conf import settings
from django.db import models


def created_by_field():
    # Users live in the public schema. No database constraint and DO_NOTHING, so deleting a
    # user from the public schema never makes Django look for this tenant-only table.
    return models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.DO_NOTHING,
        db_constraint=False,
        db_index=False,
        related_name="+",
    )


class Channel(models.TextChoices):
    """A channel a message, a send or a template is for."""

    SMS = "sms", "SMS"
    WHATSAPP = "whatsapp", "WhatsApp"
