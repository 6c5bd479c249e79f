"""Writes of the sms app: platform SMS (verification codes), sender ID requests and reviews,
and the callback routes of providers whose callbacks name no tenant."""

import re
import uuid
from collections.abc import Iterable
from typing import TYPE_CHECKING

from django.conf import settings
from django.db import IntegrityError, connection, transaction
from django.db.models.functions import Lower
from django.utils import timezone
from rest_framework import status

from mifumo.errors import ApplicationError, ErrorCode, field_error
from sms.models import SenderId
from sms.tasks import platform_sms_deliver

if TYPE_CHECKING:
    from accounts.models import User
    from tenants.models import Tenant

SENDER_ID_CHARACTERS_RE = re.compile(r"^[A-Za-z0-9 .\-]+$")
SENDER_ID_LETTER_RE = re.compile(r"[A-Za-z]")
SENDER_ID_FIELD = "sender_id"
OPERATOR_REJECTION_REASON = "Rejected by an operator."
OPERATOR_REVOCATION_REASON = "Revoked by an operator."


def platform_sms_send(*, to: str, text: str) -> str:
    """Queue one platform SMS for after the current transaction commits; returns its reference."""
    reference = f"platform_{uuid.uuid4().hex}"
    platform_sms_deliver.delay_on_commit(  # type: ignore[attr-defined]  # a DjangoTask at run time
        reference=reference, to=to, text=text, sender=settings.PLATFORM_SMS_SENDER
    )
    return reference


# Sorted ids: concurrent batches take the unique index's entries in the same order.
_ROUTES_RECORD_SQL = """
INSERT INTO sms_callbackroute (provider, provider_message_id, schema_name, created_at)
SELECT %s, pid, %s, statement_timestamp() FROM unnest(%s::text[]) AS pid
ON CONFLICT (provider, provider_message_id) DO NOTHING
"""


def callback_routes_record(
    *, provider: str, provider_message_ids: Iterable[str], schema_name: str
) -> None:
    """Remember that these provider message ids belong to `schema_name`, so their callbacks
    (which name no tenant) find it; one INSERT, ids already recorded are kept as they are.
    A batch of 1,000 distinct ids is one array parameter: built as 1,000 model instances it
    cost the send worker ten times the CPU."""
    pids = sorted({pid for pid in provider_message_ids if pid})
    if not pids:
        return
    with connection.cursor() as cursor:
        cursor.execute(_ROUTES_RECORD_SQL, [provider, schema_name, pids])


def sender_id_name_check(name: str | None) -> str:
    """The trimmed name if carriers accept it as an alphanumeric sender ID, else a 400 field
    error on `sender_id`: 1 to 11 letters, digits, spaces, '-' or '.', at least one letter."""
    name = (name or "").strip()
    if not name:
        raise field_error(SENDER_ID_FIELD, "Enter a sender ID.")
    if len(name) > SenderId.MAX_LENGTH:
        raise field_error(
            SENDER_ID_FIELD,
            f"A sender ID has at most {SenderId.MAX_LENGTH} characters (this one has {len(name)}).",
        )
    if not SENDER_ID_CHARACTERS_RE.match(name):
        raise field_error(
            SENDER_ID_FIELD, "Use only letters A-Z, digits, spaces, hyphens and full stops."
        )
    if not SENDER_ID_LETTER_RE.search(name):
        raise field_error(
            SENDER_ID_FIELD, "A sender ID needs at least one letter; carriers refuse all digits."
        )
    if name.lower() == settings.PLATFORM_SMS_SENDER.lower():
        raise field_error(
            SENDER_ID_FIELD,
            f"'{settings.PLATFORM_SMS_SENDER}' is the shared platform sender ID; "
            "every tenant can already send from it.",
        )
    return name


def _status_refused(sender_id: SenderId, action: str, allowed: list[str]) -> ApplicationError:
    return ApplicationError(
        f"Cannot {action} the sender ID '{sender_id.name}': it is {sender_id.status}.",
        code=ErrorCode.INVALID_STATUS,
        status_code=status.HTTP_409_CONFLICT,
        details={"current_status": sender_id.status, "allowed_statuses": allowed},
    )


def _duplicate(existing: SenderId) -> ApplicationError:
    return field_error(
        SENDER_ID_FIELD,
        f"You already have the sender ID '{existing.name}' ({existing.status}).",
    )


def _locked(sender_id: SenderId) -> SenderId:
    return SenderId.objects.select_for_update().get(pk=sender_id.pk)


@transaction.atomic
def sender_id_request(
    *,
    tenant: "Tenant",
    name: str,
    purpose: str = "",
    sample_message: str = "",
    created_by: "User | None" = None,
) -> SenderId:
    """Ask operators to approve `name` for `tenant`; the request starts pending.

    A name the tenant already has (compared case-insensitively) is a 400 field error, unless
    it was rejected: then that request is reopened (rejected -> pending) with the new details.
    """
    name = sender_id_name_check(name)
    existing = (
        SenderId.objects.select_for_update()
        .alias(name_lower=Lower("name"))
        .filter(tenant=tenant, name_lower=name.lower())
        .first()
    )
    if existing is not None:
        if existing.status != SenderId.Status.REJECTED:
            raise _duplicate(existing)
        existing.name = name
        existing.purpose = purpose
        existing.sample_message = sample_message
        existing.status = SenderId.Status.PENDING
        existing.rejection_reason = ""
        existing.reviewed_by = None
        existing.reviewed_at = None
        existing.created_by = created_by
        existing.save()
        return existing
    try:
        with transaction.atomic():
            return SenderId.objects.create(
                tenant=tenant,
                name=name,
                purpose=purpose,
                sample_message=sample_message,
                created_by=created_by,
            )
    except IntegrityError as exc:  # the same name requested concurrently
        raise field_error(SENDER_ID_FIELD, f"You already have the sender ID '{name}'.") from exc


def _review(
    sender_id: SenderId, *, to: str, reason: str = "", reviewed_by: "User | None" = None
) -> SenderId:
    sender_id.status = to
    sender_id.rejection_reason = reason
    sender_id.reviewed_by = reviewed_by
    sender_id.reviewed_at = timezone.now()
    sender_id.save(
        update_fields=["status", "rejection_reason", "reviewed_by", "reviewed_at", "updated_at"]
    )
    return sender_id


def _reason_check(reason: str) -> str:
    reason = (reason or "").strip()
    if not reason:
        raise field_error("reason", "Give the tenant a reason.")
    return reason


@transaction.atomic
def sender_id_approve(*, sender_id: SenderId, reviewed_by: "User | None" = None) -> SenderId:
    """pending -> approved: the tenant may send from it from now on."""
    locked = _locked(sender_id)
    if locked.status != SenderId.Status.PENDING:
        raise _status_refused(locked, "approve", [SenderId.Status.PENDING])
    return _review(locked, to=SenderId.Status.APPROVED, reviewed_by=reviewed_by)


@transaction.atomic
def sender_id_reject(
    *, sender_id: SenderId, reason: str, reviewed_by: "User | None" = None
) -> SenderId:
    """pending -> rejected, with the reason the tenant sees."""
    reason = _reason_check(reason)
    locked = _locked(sender_id)
    if locked.status != SenderId.Status.PENDING:
        raise _status_refused(locked, "reject", [SenderId.Status.PENDING])
    return _review(locked, to=SenderId.Status.REJECTED, reason=reason, reviewed_by=reviewed_by)


@transaction.atomic
def sender_id_revoke(
    *, sender_id: SenderId, reason: str, reviewed_by: "User | None" = None
) -> SenderId:
    """approved -> revoked: sends from it are refused from now on."""
    reason = _reason_check(reason)
    locked = _locked(sender_id)
    if locked.status != SenderId.Status.APPROVED:
        raise _status_refused(locked, "revoke", [SenderId.Status.APPROVED])
    return _review(locked, to=SenderId.Status.REVOKED, reason=reason, reviewed_by=reviewed_by)
