"""Outbound messages: accepting a send (messages and their credits in one transaction) and
applying the status reports providers send back. The pipeline that hands queued messages to a
provider is sms.pipeline."""

import uuid
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

from django.db import connection, transaction
from django.db.models import F
from django.utils import timezone

from billing.services import credit_reserve
from messaging.models import STATUS_RANK, Contact, Message, SendRequest, Template
from messaging.services.templates import contact_variables, template_render
from sms.providers.base import StatusReport
from sms.segments import segment_info

Status = Message.Status


@dataclass(frozen=True)
class SendInput:
    """A checked send: E.164 recipients without duplicates, an approved sender, and either a
    text or a template (rendered per recipient from the contact with that number)."""

    recipients: list[str]
    sender: str
    text: str = ""
    template: Template | None = None
    scheduled_at: datetime | None = None
    source: str = SendRequest.Source.DASHBOARD


def _texts(data: SendInput, contacts: dict[str, Contact]) -> list[str]:
    if data.template is None:
        return [data.text] * len(data.recipients)
    texts = []
    for phone in data.recipients:
        contact = contacts.get(phone)
        values = contact_variables(contact) if contact else {"phone": phone, "phone_e164": phone}
        texts.append(template_render(data.template.content, values)[0])
    return texts


def message_send(*, tenant, data: SendInput, created_by=None) -> SendRequest:
    """Create the messages of one send and reserve their credits, all or nothing.

    A send needing more credits than the balance raises 402 INSUFFICIENT_BALANCE and creates
    nothing. Messages due now are queued and handed to the pipeline after commit; later ones
    wait as `scheduled` for the outbox sweep.
    """
    from sms.pipeline import outbox_enqueue

    now = timezone.now()
    contacts = {
        c.phone_e164: c
        for c in Contact.objects.filter(phone_e164__in=data.recipients, deleted_at__isnull=True)
    }
    texts = _texts(data, contacts)
    infos = {text: segment_info(text) for text in set(texts)}
    scheduled = data.scheduled_at is not None and data.scheduled_at > now
    status = Status.SCHEDULED if scheduled else Status.QUEUED
    longest = max(infos.values(), key=lambda info: info.segments)
    with transaction.atomic():
        send = SendRequest.objects.create(
            source=data.source,
            text=data.template.content if data.template else data.text,
            sender_id=data.sender,
            template=data.template,
            encoding=longest.encoding,
            segments=longest.segments,
            recipient_count=len(data.recipients),
            credits=sum(infos[text].segments for text in texts),
            scheduled_at=data.scheduled_at if scheduled else None,
            created_by=created_by,
        )
        messages = [
            Message(
                send_request=send,
                contact=contacts.get(phone),
                status=status,
                recipient=phone,
                sender=data.sender,
                text=text,
                encoding=infos[text].encoding,
                segments=infos[text].segments,
                credits=infos[text].segments,
                scheduled_at=data.scheduled_at if scheduled else None,
                queued_at=None if scheduled else now,
            )
            for phone, text in zip(data.recipients, texts, strict=True)
        ]
        Message.objects.bulk_create(messages, batch_size=5000)
        if contacts:
            Contact.objects.filter(pk__in=[c.pk for c in contacts.values()]).update(
                last_contacted_at=now
            )
        if data.template is not None:
            Template.objects.filter(pk=data.template.pk).update(usage_count=F("usage_count") + 1)
        # Last, so the balance row stays locked for as short a time as possible.
        credit_reserve(
            tenant_id=tenant.pk, credits=send.credits, reference=send.pk, created_by=created_by
        )
        if not scheduled:
            outbox_enqueue([m.pk for m in messages])
    return send


# --- Status reports ------------------------------------------------------------------------

_RANK_SQL = (
    "CASE m.status "
    + " ".join(f"WHEN '{status}' THEN {rank}" for status, rank in STATUS_RANK.items())
    + " END"
)

# Built from constants only (statuses and ranks), never from input.
_APPLY_SQL = f"""
UPDATE messaging_message AS m SET
    status = r.status,
    sent_at = COALESCE(m.sent_at, r.at),
    delivered_at = CASE WHEN r.status = 'delivered' THEN r.at ELSE m.delivered_at END,
    failed_at = CASE WHEN r.status IN ('failed', 'undelivered') THEN r.at ELSE m.failed_at END,
    error_code = CASE WHEN r.error_code <> '' THEN r.error_code ELSE m.error_code END,
    updated_at = now()
FROM unnest(%s::text[], %s::text[], %s::int[], %s::text[], %s::timestamptz[])
    AS r(key, status, rank, error_code, at)
WHERE {{match}} AND {_RANK_SQL} < r.rank
"""  # noqa: S608


def _newest_per_message(reports: Iterable[StatusReport]) -> dict[str, StatusReport]:
    """The highest-ranked report per message key; out-of-order duplicates fall away here."""
    best: dict[str, StatusReport] = {}
    for report in reports:
        key = report.reference or report.provider_message_id
        current = best.get(key)
        if current is None or STATUS_RANK[report.status] > STATUS_RANK[current.status]:
            best[key] = report
    return best


_MATCH_BY = {"id": "m.id = r.key::uuid", "provider_message_id": "m.provider_message_id = r.key"}


def _apply(column: str, reports: dict[str, StatusReport]) -> None:
    if not reports:
        return
    now = timezone.now()
    rows = list(reports.values())
    with connection.cursor() as cursor:
        cursor.execute(
            _APPLY_SQL.format(match=_MATCH_BY[column]),
            [
                list(reports),
                [r.status for r in rows],
                [STATUS_RANK[r.status] for r in rows],
                [r.error_code or "" for r in rows],
                [r.occurred_at or now for r in rows],
            ],
        )


def _existing(column: str, keys: list[str]) -> set[str]:
    if not keys:
        return set()
    found = Message.objects.filter(**{f"{column}__in": keys}).values_list(column, flat=True)
    return {str(key) for key in found}


def _is_uuid(value: str) -> bool:
    try:
        uuid.UUID(value)
    except ValueError:
        return False
    return True


@transaction.atomic
def message_status_reports_apply(*, reports: list[StatusReport]) -> list[StatusReport]:
    """Apply provider status reports in the current tenant schema, in two UPDATEs.

    A report only ever moves a message forward (STATUS_RANK), so duplicate and out-of-order
    reports change nothing. Returns the reports whose message was not found (yet): a callback
    can outrun the pipeline's recording of the provider's message id.
    """
    best = _newest_per_message(r for r in reports if r.status in STATUS_RANK)
    by_reference = {k: r for k, r in best.items() if r.reference and _is_uuid(r.reference)}
    by_provider_id = {k: r for k, r in best.items() if k not in by_reference}
    found = _existing("id", list(by_reference)) | _existing(
        "provider_message_id", list(by_provider_id)
    )
    _apply("id", {k: r for k, r in by_reference.items() if k in found})
    _apply("provider_message_id", {k: r for k, r in by_provider_id.items() if k in found})
    return [r for k, r in best.items() if k not in found]
