"""Sending SMS that belong to the platform itself (verification codes), not to a tenant."""

import uuid

from django.conf import settings

from sms.tasks import platform_sms_deliver


def platform_sms_send(*, to: str, text: str) -> str:
    """Queue one platform SMS for after the current transaction commits; returns its reference."""
    reference = f"platform_{uuid.uuid4().hex}"
    platform_sms_deliver.delay_on_commit(
        reference=reference, to=to, text=text, sender=settings.PLATFORM_SMS_SENDER
    )
    return reference
