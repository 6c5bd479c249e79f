"""Outbound messages: accepting a send (messages and their credits in one transaction), never
to a contact who opted out. The outbox that hands queued messages to a provider is
messaging.outbox; the status reports providers send back are applied by
messaging.status_reports."""

import io
import json
import uuid
from collections.abc import Collection, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from itertools import islice
from typing import cast

from django.db import connection, transaction
from django.db.models import F, TextField
from django.db.models.functions import Cast
from django.utils import timezone

from billing.services import credit_reserve
from messaging.models import Message, SendRequest, Template
from messaging.outbox import outbox_enqueue_ready, outbox_enqueue_send
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
# A send due now of at most this many messages gets no tasks of its own: the tenant's drain
# sends it with the other small sends of the moment (messaging.outbox, "Small sends").
DRAINED_MAX = 1000


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


def _recipients_of_numbers(
    phones: list[str], *, with_values: bool
) -> tuple[list[Recipient], set[str]]:
    """The recipients of numbers given one by one, in their order, with the live contacts
    that have those numbers, and the numbers whose contacts opted out (a deleted one's opt-out
    too, as _opted_out_numbers). One query, written out: compiling it cost more than running
    it for a one-recipient send."""
    columns = ", ".join(("id", *CONTACT_VALUE_FIELDS) if with_values else ("id", "phone_e164"))
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT NOT is_opted_in AND opt_out_at IS NOT NULL, deleted_at IS NULL, "  # noqa: S608 (constants only)
            f"{columns} FROM messaging_contact WHERE phone_e164 = ANY(%s)",
            [phones],
        )
        rows = cursor.fetchall()
    opted_out = {row[3] for row in rows if row[0]}
    rows = [row[2:] for row in rows if row[1]]
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
    return recipients, opted_out


def send_to_numbers(*, tenant, data: SendInput, created_by=None) -> SendRequest:
    """Send to numbers given one by one (the send APIs); see send_create."""
    content = data.template.content if data.template else data.text
    recipients, opted_out = _recipients_of_numbers(
        data.recipients, with_values=is_personalised(content)
    )
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
        opted_out=opted_out,
    )


def send_to_contacts(
    *, tenant, contacts, sender: str, text: str, template: Template | None, created_by=None
) -> SendRequest:
    """Send to every contact of a queryset (a campaign's audience, which leaves out the
    contacts who opted out: campaign_recipients), streamed from the database in chunks, each
    contact once; see send_create."""
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
        opted_out=(),  # the audience has none: reading them again costs a query per chunk
    )


@dataclass
class _Written:
    count: int = 0
    credits: int = 0
    longest: SegmentInfo | None = None
    opted_out: list[str] = field(default_factory=list)  # numbers left out, in their order
    # The ids of the first `ids_kept` messages: a send that small is drained by id.
    ids_kept: int = 0
    ids: list[str] = field(default_factory=list)


def _csv_quoted(value: str) -> str:
    return '"' + value.replace('"', '""') + '"'


def _csv_time(moment: datetime | None) -> str:
    return moment.isoformat() if moment else ""  # an unquoted empty field is NULL


def _message_lines(
    send: SendRequest,
    messages,
    written: _Written,
    *,
    status,
    now,
    charge: bool,
    conversations: Mapping[str, uuid.UUID] | None,
):
    """The COPY lines (CSV, _COPY_COLUMNS) of (id, recipient) pairs, rendered as they are
    read, counting what they cost into `written`. A message's credits are its segments (none
    for a free send); a number in `conversations` is written into that conversation."""
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
        credits = info.segments if charge else 0
        written.count += 1
        written.credits += credits
        if written.count <= written.ids_kept:
            written.ids.append(pk)
        if written.longest is None or info.segments > written.longest.segments:
            written.longest = info
        conversation = conversations.get(phone, "") if conversations else ""
        yield (
            f"{pk},{head}{contact_id or ''},{conversation}{middle}{phone}{after_sender}"
            f"{_csv_quoted(text)},{info.encoding},{info.segments},{credits}{tail}"
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
    "id, send_request_id, contact_id, conversation_id, direction, channel, status, recipient, "
    "sender, text, encoding, segments, credits, provider, provider_message_id, error_code, "
    "error_message, attempts, scheduled_at, queued_at, created_at, updated_at"
)
_COPY_SQL = (
    f"COPY messaging_message ({_COPY_COLUMNS}) FROM STDIN WITH (FORMAT csv, "
    # An unquoted empty CSV field is NULL; these text columns are '' instead.
    "FORCE_NOT_NULL (sender, text, provider, provider_message_id, error_code, error_message))"
)


def _opted_out_numbers(phones: list[str]) -> set[str]:
    """Which of these numbers are contacts who opted out (one query on the phone index). A
    deleted contact's opt-out still counts: consent outlives the address book entry."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT phone_e164 FROM messaging_contact WHERE phone_e164 = ANY(%s) "
            "AND NOT is_opted_in AND opt_out_at IS NOT NULL",
            [phones],
        )
        return {phone for (phone,) in cursor.fetchall()}


def _messages_write(
    send: SendRequest,
    recipients: Iterable[Recipient],
    *,
    opted_out: Collection[str] | None,
    **common,
) -> _Written:
    """Render and insert a send's messages, one streamed COPY per chunk of recipients (the
    connection cannot read more recipients while a COPY is open), leaving out the `opted_out`
    numbers (None: read per chunk); returns what was written and who was left out, and the ids
    of a send small enough to be drained with others (outbox_enqueue_ready)."""
    written, ids, recipients = _Written(ids_kept=DRAINED_MAX), uuid7_ids(), iter(recipients)
    with connection.cursor() as cursor:
        while chunk := list(islice(recipients, _CHUNK_SIZE)):
            left_out = _opted_out_numbers([r[1] for r in chunk]) if opted_out is None else opted_out
            if left_out:
                written.opted_out.extend(r[1] for r in chunk if r[1] in left_out)
                chunk = [r for r in chunk if r[1] not in left_out]
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
    conversations: Mapping[str, uuid.UUID] | None = None,
    charge: bool = True,
    opted_out: Collection[str] | None = None,
    to_opted_out: bool = False,
) -> SendRequest:
    """Create the messages of one send and reserve their credits, all or nothing.

    A send needing more credits than the balance raises 402 INSUFFICIENT_BALANCE and creates
    nothing. Messages due now are queued and handed to the pipeline after commit; later ones
    wait as `scheduled` for the outbox sweep. Messages are rendered and COPYed in chunks, so
    memory stays flat however many recipients stream in.

    Contacts who opted out are left out (send_opted_out_details names them): the `opted_out`
    numbers when the caller has read them already, else one query per chunk finds them. When
    that leaves no one, as for a send to one such contact, it is a 400 CONTACT_OPTED_OUT. Only
    the confirmation of an opt-out (messaging.keywords) is sent `to_opted_out`. A number in
    `conversations` gets its message in that conversation. A send that does not `charge`
    costs no credits (the keyword replies): its messages record 0.
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
            send,
            recipients,
            opted_out=() if to_opted_out else opted_out,
            status=Status.SCHEDULED if scheduled else Status.QUEUED,
            now=now,
            charge=charge,
            conversations=conversations,
        )
        if not written.count and written.opted_out:
            raise ApplicationError(
                "The contact has opted out of messages; they must reply START first."
                if len(written.opted_out) == 1
                else "Every recipient has opted out of messages.",
                code=ErrorCode.CONTACT_OPTED_OUT,
                details={
                    "opted_out_count": len(written.opted_out),
                    "opted_out_recipients": written.opted_out[:100],
                },
            )
        if not written.count:
            raise ApplicationError("There is no one to send to.", code=ErrorCode.VALIDATION_ERROR)
        longest = cast(SegmentInfo, written.longest)  # set by the first message written
        send.recipient_count, send.credits = written.count, written.credits
        # Not stored: what this call left out, for send_opted_out_details.
        send.opted_out_recipients = written.opted_out  # type: ignore[attr-defined]
        send.encoding, send.segments = longest.encoding, longest.segments
        send.save(force_insert=True)
        if template is not None:
            Template.objects.filter(pk=template.pk).update(usage_count=F("usage_count") + 1)
        # Last, so the balance row stays locked for as short a time as possible.
        if charge:
            credit_reserve(
                tenant_id=tenant.pk, credits=send.credits, reference=send.pk, created_by=created_by
            )
        # Scheduled messages are released by the outbox sweep when due.
        if not scheduled and written.count <= DRAINED_MAX:
            outbox_enqueue_ready(written.ids)
        else:
            outbox_enqueue_send(send.pk, mark_contacted=True)
    return send


def send_opted_out_details(*, send: SendRequest) -> dict | None:
    """What a send tells its caller in `details`: how many numbers send_create left out
    because their contacts opted out and the first 100 of them, or None when it left out none."""
    left_out: list[str] = getattr(send, "opted_out_recipients", [])
    if not left_out:
        return None
    return {"opted_out_count": len(left_out), "opted_out_recipients": left_out[:100]}


def contacts_mark_contacted(
    *, send_request_id: str | None = None, message_ids: Sequence[str] = ()
) -> int:
    """Set `last_contacted_at` of a send's contacts (or of these messages' contacts) to when
    the send was made; run after it commits (messaging.tasks.outbox_send_release and
    outbox_drain), so a send to many contacts does not wait for their index updates."""
    with connection.cursor() as cursor:
        cursor.execute(
            "UPDATE messaging_contact AS c SET last_contacted_at = s.created_at "
            "FROM messaging_sendrequest AS s JOIN messaging_message AS m "
            "ON m.send_request_id = s.id "
            "WHERE (m.send_request_id = %s OR m.id = ANY(%s::uuid[])) AND c.id = m.contact_id "
            "AND (c.last_contacted_at IS NULL OR c.last_contacted_at < s.created_at)",
            [send_request_id, list(message_ids)],
        )
        return cursor.rowcount
