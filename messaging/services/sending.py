"""The checks of a send request, made before anything is written (the send routes of the
dashboard and of the integration API): its recipients read as E.164 numbers, its sender
approved for the tenant, and a text or an active SMS template. messaging.services.messages
then accepts the checked send."""

import uuid
from datetime import datetime

from rest_framework import status

from messaging.models import Channel
from messaging.selectors import template_get
from messaging.services.messages import SendInput
from mifumo.errors import ApplicationError, ErrorCode
from mifumo.phone import InvalidPhoneNumber, normalize_phone
from sms.selectors import sender_id_check
from tenants.models import Tenant


def send_recipients_read(*, numbers: list[str], region: str | None) -> list[str]:
    """The E.164 recipients of a send, de-duplicated in their first order; local spellings
    are read in `region`.

    No recipient is a 400 VALIDATION_ERROR; any number that cannot be read is a 400
    INVALID_PHONE_FORMAT naming every such number, and nothing is sent.
    """
    numbers = [value for value in numbers if value.strip()]
    if not numbers:
        message = "Give at least one recipient (recipients or recipient)."
        raise ApplicationError(
            message, code=ErrorCode.VALIDATION_ERROR, errors={"recipients": [message]}
        )
    read, invalid = [], []
    for value in numbers:
        try:
            read.append(normalize_phone(value, region))
        except InvalidPhoneNumber:
            invalid.append(value)
    if invalid:
        raise ApplicationError(
            f"{len(invalid)} recipient number(s) are not valid phone numbers.",
            code=ErrorCode.INVALID_PHONE_FORMAT,
            status_code=status.HTTP_400_BAD_REQUEST,
            details={"invalid_recipients": invalid[:100]},
        )
    return list(dict.fromkeys(read))


def send_input_check(
    *,
    tenant: Tenant,
    source: str,
    recipients: list[str],
    message: str = "",
    template_id: uuid.UUID | None = None,
    sender_id: str | None = None,
    scheduled_at: datetime | None = None,
    webhook_url: str = "",
) -> SendInput:
    """A checked send: `recipients` read in the tenant's country, `sender_id` approved for
    the tenant (the platform sender when empty), and the `message` text or an active SMS
    template (which wins). Neither is a 400 MISSING_MESSAGE."""
    template = None
    if template_id:
        template = template_get(template_id=template_id)
        if not template.is_active or template.channel != Channel.SMS:
            refusal = "The template must be an active SMS template."
            raise ApplicationError(
                refusal, code=ErrorCode.VALIDATION_ERROR, errors={"template_id": [refusal]}
            )
        message = ""
    if not message.strip() and template is None:
        raise ApplicationError(
            "Give the message text (message) or a template (template_id).",
            code=ErrorCode.MISSING_MESSAGE,
        )
    return SendInput(
        recipients=send_recipients_read(numbers=recipients, region=tenant.country),
        sender=sender_id_check(tenant_id=tenant.pk, name=sender_id),
        text=message,
        template=template,
        scheduled_at=scheduled_at,
        source=source,
        webhook_url=webhook_url,
    )
