"""Reads of the sms app: a tenant's sender IDs, and the sender a send may use."""

from django.conf import settings
from django.db.models.functions import Lower
from rest_framework import status as http_status

from mifumo.errors import ApplicationError, ErrorCode
from sms.models import SenderId


def sender_ids_of(*, tenant_id, status: str | None = None):
    """The tenant's sender IDs, newest first, optionally only those with `status`."""
    sender_ids = SenderId.objects.filter(tenant_id=tenant_id).order_by("-created_at", "id")
    if status:
        sender_ids = sender_ids.filter(status=status)
    return sender_ids


def sender_id_check(*, tenant_id, name: str | None) -> str:
    """The sender name to send from: the platform sender when `name` is empty (no query), else
    the stored spelling of the tenant's approved sender ID matching `name` in any case (one
    query on the (tenant, lower(name)) unique index).

    Raises 400 SENDER_ID_INVALID when the tenant has no approved sender ID of that name.
    """
    name = (name or "").strip()
    platform = settings.PLATFORM_SMS_SENDER
    if not name or name.lower() == platform.lower():
        return platform
    if len(name) <= SenderId.MAX_LENGTH:
        stored = list(
            SenderId.objects.alias(name_lower=Lower("name"))
            .filter(tenant_id=tenant_id, name_lower=name.lower(), status=SenderId.Status.APPROVED)
            .order_by()
            .values_list("name", flat=True)[:1]
        )
        if stored:
            return stored[0]
    raise ApplicationError(
        f"'{name}' is not an approved sender ID of this account. Send from "
        f"'{platform}' or request the sender ID and wait for its approval.",
        code=ErrorCode.SENDER_ID_INVALID,
        status_code=http_status.HTTP_400_BAD_REQUEST,
        details={"sender_id": name, "default_sender_id": platform},
    )
