"""Outbound messages: accepting a send (messages and their credits in one transaction) and
applying the status reports providers send back. The pipeline that hands queued messages to a
provider is sms.pipeline."""

import csv
import io
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
    webhook_url: str = ""


def _texts(data: SendInput) -> tuple[list[str], dict[str, uuid.UUID]]:
    """Each recipient's text, and the ids of the recipients who are live contacts."""
    if data.template is None:
        return [data.text] * len(data.recipients), _contact_ids(data.recipients)
    contacts = {
        c.phone_e164: c
        for c in Contact.objects.filter(phone_e164__in=data.recipients, deleted_at__isnull=True)
    }
    texts = []
    for phone in data.recipients:
        contact = contacts.get(phone)
        values = contact_variables(contact) if contact else {"phone": phone, "phone_e164": phone}
        texts.append(template_render(data.template.content, values)[0])
    return texts, {phone: contact.pk for phone, contact in contacts.items()}


def _contact_ids(phones: list[str]) -> dict[str, uuid.UUID]:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT phone_e164, id FROM messaging_contact "
            "WHERE phone_e164 = ANY(%s) AND deleted_at IS NULL",
            [phones],
        )
        return dict(cursor.fetchall())


_COPY_COLUMNS = (
    "id, send_request_id, contact_id, direction, channel, status, recipient, sender, text, "
    "encoding, segments, credits, provider, provider_message_id, error_code, error_message, "
    "attempts, scheduled_at, queued_at, created_at, updated_at"
)
_COPY_SQL = (
    f"COPY messaging_message ({_COPY_COLUMNS}) FROM STDIN WITH (FORMAT csv, "
    # An unquoted empty CSV field is NULL; these text columns are '' instead.
    "FORCE_NOT_NULL (sender, text, provider, provider_message_id, error_code, error_message))"
)


def messages_copy(rows: Iterable[tuple]) -> None:
    """Insert outbound messages in one COPY. Each row holds, in order: id, send_request_id,
    contact_id, status, recipient, sender, text, encoding, segments, credits, scheduled_at,
    queued_at, created_at (SMS channel; provider fields empty; no attempt yet)."""
    buffer = io.StringIO()
    write = csv.writer(buffer).writerow
    for (pk, send_id, contact_id, status, to, sender, text, encoding, segments, credits,
         scheduled_at, queued_at, created_at) in rows:  # fmt: skip
        write(
            (pk, send_id, contact_id, "outbound", "sms", status, to, sender, text, encoding,
             segments, credits, "", "", "", "", 0, scheduled_at, queued_at, created_at,
             created_at)
        )  # fmt: skip
    buffer.seek(0)
    with connection.cursor() as cursor:
        cursor.copy_expert(_COPY_SQL, buffer)


def message_send(*, tenant, data: SendInput, created_by=None) -> SendRequest:
    """Create the messages of one send and reserve their credits, all or nothing.

    A send needing more credits than the balance raises 402 INSUFFICIENT_BALANCE and creates
    nothing. Messages due now are queued and handed to the pipeline after commit; later ones
    wait as `scheduled` for the outbox sweep. The messages are written with one COPY.
    """
    from sms.pipeline import outbox_enqueue

    now = timezone.now()
    texts, contact_ids = _texts(data)
    infos = {text: segment_info(text) for text in set(texts)}
    scheduled = data.scheduled_at is not None and data.scheduled_at > now
    status = Status.SCHEDULED if scheduled else Status.QUEUED
    scheduled_at = data.scheduled_at if scheduled else None
    longest = max(infos.values(), key=lambda info: info.segments)
    ids = [uuid.uuid4() for _ in data.recipients]
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
            scheduled_at=scheduled_at,
            webhook_url=data.webhook_url,
            created_by=created_by,
        )
        messages_copy(
            (pk, send.pk, contact_ids.get(phone), status, phone, data.sender, text,
             infos[text].encoding, infos[text].segments, infos[text].segments, scheduled_at,
             None if scheduled else now, now)
            for pk, phone, text in zip(ids, data.recipients, texts, strict=True)
        )  # fmt: skip
        if contact_ids:
            Contact.objects.filter(pk__in=contact_ids.values()).update(last_contacted_at=now)
        if data.template is not None:
            Template.objects.filter(pk=data.template.pk).update(usage_count=F("usage_count") + 1)
        # Last, so the balance row stays locked for as short a time as possible.
        credit_reserve(
            tenant_id=tenant.pk, credits=send.credits, reference=send.pk, created_by=created_by
        )
        if not scheduled:
            outbox_enqueue(ids)
    return send


# --- Status reports ------------------------------------------------------------------------

_RANK_SQL = (
    "CASE m.status "
    + " ".join(f"WHEN '{status}' THEN {rank}" for status, rank in STATUS_RANK.items())
    + " END"
)

# One statement: find the reports' messages, move forward those a report outranks, and
# answer which keys were found (key, -, -) and which messages moved (-, id, status).
# Built from constants only (statuses and ranks), never input.
_APPLY_SQL = f"""
WITH r AS (
    SELECT * FROM unnest(%s::text[], %s::text[], %s::int[], %s::text[], %s::timestamptz[])
        AS r(key, status, rank, error_code, at)
), found AS (
    SELECT m.id AS message_id, r.* FROM messaging_message AS m JOIN r ON {{match}}
), moved AS (
    UPDATE messaging_message AS m SET
        status = f.status,
        sent_at = COALESCE(m.sent_at, f.at),
        delivered_at = CASE WHEN f.status = 'delivered' THEN f.at ELSE m.delivered_at END,
        failed_at = CASE WHEN f.status IN ('failed', 'undelivered') THEN f.at
            ELSE m.failed_at END,
        error_code = CASE WHEN f.error_code <> '' THEN f.error_code ELSE m.error_code END,
        updated_at = now()
    FROM found AS f
    WHERE m.id = f.message_id AND {_RANK_SQL} < f.rank
    RETURNING m.id, m.status
)
SELECT DISTINCT key, NULL, NULL FROM found
UNION ALL SELECT NULL, id::text, status FROM moved
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


def _apply(column: str, reports: dict[str, StatusReport]) -> tuple[set[str], list[tuple]]:
    """Apply reports keyed by our id or the provider's; returns the keys whose message exists
    and the (message id, new status) of the messages that moved."""
    if not reports:
        return set(), []
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
        rows = cursor.fetchall()
    return {key for key, _, _ in rows if key is not None}, [
        (i, st) for key, i, st in rows if key is None
    ]


def _is_uuid(value: str) -> bool:
    try:
        uuid.UUID(value)
    except ValueError:
        return False
    return True


@transaction.atomic
def message_status_reports_apply(*, reports: list[StatusReport]) -> list[StatusReport]:
    """Apply provider status reports in the current tenant schema, in two statements.

    A report only ever moves a message forward (STATUS_RANK), so duplicate and out-of-order
    reports change nothing. Returns the reports whose message was not found (yet): a callback
    can outrun the pipeline's recording of the provider's message id.
    """
    best = _newest_per_message(r for r in reports if r.status in STATUS_RANK)
    by_reference = {k: r for k, r in best.items() if r.reference and _is_uuid(r.reference)}
    by_provider_id = {k: r for k, r in best.items() if k not in by_reference}
    found_by_id, moved_by_id = _apply("id", by_reference)
    found_by_provider, moved_by_provider = _apply("provider_message_id", by_provider_id)
    _emit(moved_by_id + moved_by_provider)
    found = found_by_id | found_by_provider
    return [r for k, r in best.items() if k not in found]


_EVENT_OF_STATUS = {
    Status.SENT: "message.sent",
    Status.DELIVERED: "message.delivered",
    Status.UNDELIVERED: "message.failed",
    Status.FAILED: "message.failed",
}


def _emit(moved: list[tuple]) -> None:
    """Tell the tenant's webhooks about the messages a report moved (after commit)."""
    from integration.services.webhooks import message_events_emit

    by_event: dict[str, list[str]] = {}
    for message_id, status in moved:
        by_event.setdefault(_EVENT_OF_STATUS[status], []).append(message_id)
    for event_type, message_ids in by_event.items():
        message_events_emit(event_type=event_type, message_ids=message_ids)
