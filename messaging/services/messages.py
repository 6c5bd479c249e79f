"""Outbound messages: accepting a send (messages and their credits in one transaction). The
outbox that hands queued messages to a provider is messaging.outbox; the status reports
providers send back are applied by messaging.status_reports."""

import io
import json
import uuid
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import datetime
from itertools import islice
from typing import cast

from django.db import connection, transaction
from django.db.models import F, TextField
from django.db.models.functions import Cast
from django.utils import timezone

from billing.services import credit_reserve
from messaging.models import Message, SendRequest, Template
from messaging.outbox import outbox_enqueue_send
from messaging.services.templates import (
    CONTACT_VALUE_FIELDS,
    contact_values,
    is_personalised,
    template_render,
)
from mifumo.errors import ApplicationError, ErrorCode
from mifumo.ids import uuid7_ids
from sms.segments import SegmentInfo, segment_info

Status = Message.Status


@dataclass(frozen=True)
class SendInput:
    """A checked send: E.164 recipients without duplicates, an approved sender, and either a
    text or a template; placeholders in either are filled per recipient from the contact with
    that number."""

    recipients: list[str]
    sender: str
    text: str = ""
    template: Template | None = None
    scheduled_at: datetime | None = None
    source: str = SendRequest.Source.DASHBOARD
    webhook_url: str = ""


# One recipient of a send: its contact's id (None for a number that is no contact), its number,
# and the values its text's placeholders are filled from (None when it has none).
Recipient = tuple[uuid.UUID | str | None, str, dict | None]

# Recipients written per COPY: a send of any size holds at most this many in memory.
_CHUNK_SIZE = 20_000


def _recipients_of_numbers(phones: list[str], *, with_values: bool) -> list[Recipient]:
    """The recipients of numbers given one by one, in their order, with the live contacts
    that have those numbers (one query, written out: compiling it cost more than running it
    for a one-recipient send)."""
    columns = ", ".join(("id", *CONTACT_VALUE_FIELDS) if with_values else ("id", "phone_e164"))
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT {columns} FROM messaging_contact "  # noqa: S608 (constants only)
            "WHERE phone_e164 = ANY(%s) AND deleted_at IS NULL",
            [phones],
        )
        rows = cursor.fetchall()
    if with_values:  # attributes, the last column: jsonb comes back as text to Django
        rows = [(*row[:-1], json.loads(row[-1])) for row in rows]
    contacts = {row[1]: row for row in rows}
    recipients = []
    for phone in phones:
        contact = contacts.get(phone)
        values = None
        if with_values:
            values = (
                contact_values(*contact[1:]) if contact else {"phone": phone, "phone_e164": phone}
            )
        recipients.append((contact[0] if contact else None, phone, values))
    return recipients


def send_to_numbers(*, tenant, data: SendInput, created_by=None) -> SendRequest:
    """Send to numbers given one by one (the send APIs); see send_create."""
    content = data.template.content if data.template else data.text
    recipients = _recipients_of_numbers(data.recipients, with_values=is_personalised(content))
    return send_create(
        tenant=tenant,
        recipients=recipients,
        sender=data.sender,
        text=data.text,
        template=data.template,
        scheduled_at=data.scheduled_at,
        source=data.source,
        webhook_url=data.webhook_url,
        created_by=created_by,
    )


def send_to_contacts(
    *, tenant, contacts, sender: str, text: str, template: Template | None, created_by=None
) -> SendRequest:
    """Send to every contact of a queryset (a campaign's audience), streamed from the database
    in chunks, each contact once; see send_create."""
    personalised = is_personalised(template.content if template else text)
    fields = ("id", *CONTACT_VALUE_FIELDS) if personalised else ("id", "phone_e164")
    # The id as text: the COPY wants it so, and converting 100,000s of UUIDs is not free.
    contacts = contacts.order_by().annotate(id_text=Cast("id", TextField()))
    rows = contacts.values_list("id_text", *fields[1:]).iterator(chunk_size=_CHUNK_SIZE)
    recipients: Iterator[Recipient]
    if not personalised:
        recipients = ((contact_id, phone, None) for contact_id, phone in rows)
    else:
        recipients = ((row[0], row[1], contact_values(*row[1:])) for row in rows)
    return send_create(
        tenant=tenant,
        recipients=recipients,
        sender=sender,
        text=text,
        template=template,
        source=SendRequest.Source.CAMPAIGN,
        created_by=created_by,
    )


@dataclass
class _Written:
    count: int = 0
    credits: int = 0
    longest: SegmentInfo | None = None


def _csv_quoted(value: str) -> str:
    return '"' + value.replace('"', '""') + '"'


def _csv_time(moment: datetime | None) -> str:
    return moment.isoformat() if moment else ""  # an unquoted empty field is NULL


def _message_lines(send: SendRequest, messages, written: _Written, *, status, now):
    """The COPY lines (CSV, _COPY_COLUMNS) of (id, recipient) pairs, rendered as they are
    read, counting what they cost into `written`. A message's credits are its segments."""
    content = send.text
    plain = None if is_personalised(content) else segment_info(content)
    head = f"{send.pk},"
    queued_at = "" if status == Status.SCHEDULED else _csv_time(now)
    middle = f",outbound,sms,{status},"
    after_sender = f",{_csv_quoted(send.sender_id)},"
    tail = f',"","","","",0,{_csv_time(send.scheduled_at)},{queued_at},{now.isoformat()},'
    tail += f"{now.isoformat()}\n"
    for pk, (contact_id, phone, values) in messages:
        # `plain` is None only for personalised content, whose messages all carry values.
        text, info = content, cast(SegmentInfo, plain)
        if values is not None:
            text = template_render(content, values)[0]
            info = segment_info(text)
        written.count += 1
        written.credits += info.segments
        if written.longest is None or info.segments > written.longest.segments:
            written.longest = info
        yield (
            f"{pk},{head}{contact_id or ''}{middle}{phone}{after_sender}{_csv_quoted(text)},"
            f"{info.encoding},{info.segments},{info.segments}{tail}"
        )


class _Lines(io.TextIOBase):
    """A file over an iterator of strings, for COPY to read while they are still being made:
    Postgres stores one part of a send while Python renders the next."""

    def __init__(self, lines):
        self._lines, self._rest = iter(lines), ""

    def read(self, size: int | None = -1) -> str:
        size = -1 if size is None else size  # None reads to the end, as for any text file
        parts, length = [self._rest], len(self._rest)
        while size < 0 or length < size:
            line = next(self._lines, None)
            if line is None:
                break
            parts.append(line)
            length += len(line)
        data = "".join(parts)
        cut = len(data) if size < 0 else size
        self._rest = data[cut:]
        return data[:cut]


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


def _messages_write(send: SendRequest, recipients: Iterable[Recipient], **common) -> _Written:
    """Render and insert a send's messages, one streamed COPY per chunk of recipients (the
    connection cannot read more recipients while a COPY is open); returns what was written."""
    written, ids, recipients = _Written(), uuid7_ids(), iter(recipients)
    with connection.cursor() as cursor:
        while chunk := list(islice(recipients, _CHUNK_SIZE)):
            lines = _message_lines(send, zip(ids, chunk, strict=False), written, **common)
            # The read size is positional: Django's debug cursor takes no keywords here.
            cursor.copy_expert(_COPY_SQL, _Lines(lines), 1 << 16)
    return written


def send_create(
    *,
    tenant,
    recipients: Iterable[Recipient],
    sender: str,
    text: str,
    template: Template | None,
    scheduled_at: datetime | None = None,
    source: str = SendRequest.Source.DASHBOARD,
    webhook_url: str = "",
    created_by=None,
) -> SendRequest:
    """Create the messages of one send and reserve their credits, all or nothing.

    A send needing more credits than the balance raises 402 INSUFFICIENT_BALANCE and creates
    nothing. Messages due now are queued and handed to the pipeline after commit; later ones
    wait as `scheduled` for the outbox sweep. Messages are rendered and COPYed in chunks, so
    memory stays flat however many recipients stream in.
    """
    now = timezone.now()
    scheduled = scheduled_at is not None and scheduled_at > now
    send = SendRequest(
        source=source,
        text=template.content if template else text,
        sender_id=sender,
        template=template,
        scheduled_at=scheduled_at if scheduled else None,
        webhook_url=webhook_url,
        created_by=created_by,
    )
    with transaction.atomic():
        # The messages go in first (their foreign key is checked at commit), so the send is
        # inserted once, with its counts.
        written = _messages_write(
            send, recipients, status=Status.SCHEDULED if scheduled else Status.QUEUED, now=now
        )
        if not written.count:
            raise ApplicationError("There is no one to send to.", code=ErrorCode.VALIDATION_ERROR)
        longest = cast(SegmentInfo, written.longest)  # set by the first message written
        send.recipient_count, send.credits = written.count, written.credits
        send.encoding, send.segments = longest.encoding, longest.segments
        send.save(force_insert=True)
        if template is not None:
            Template.objects.filter(pk=template.pk).update(usage_count=F("usage_count") + 1)
        # Last, so the balance row stays locked for as short a time as possible.
        credit_reserve(
            tenant_id=tenant.pk, credits=send.credits, reference=send.pk, created_by=created_by
        )
        # Scheduled messages are released by the outbox sweep when due.
        outbox_enqueue_send(send.pk, mark_contacted=True)
    return send


def contacts_mark_contacted(*, send_request_id) -> int:
    """Set `last_contacted_at` of a send's contacts to when it was made; run after the send
    commits (messaging.tasks.outbox_send_release), so a send to many contacts does not wait for
    their index updates."""
    with connection.cursor() as cursor:
        cursor.execute(
            "UPDATE messaging_contact AS c SET last_contacted_at = s.created_at "
            "FROM messaging_sendrequest AS s JOIN messaging_message AS m "
            "ON m.send_request_id = s.id "
            "WHERE s.id = %s AND c.id = m.contact_id "
            "AND (c.last_contacted_at IS NULL OR c.last_contacted_at < s.created_at)",
            [send_request_id],
        )
        return cursor.rowcount
