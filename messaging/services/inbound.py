"""Receiving: the messages customers send to a tenant's addresses become inbound Messages in
their conversations (DESIGN section 5, "Inbound"). webhooks stores each provider event raw,
finds the tenant by the receiving address and hands a batch here, inside the tenant's schema
and its own transaction.

A batch of any size costs a fixed number of statements, none per message: the duplicates are
dropped (the same provider message twice in the batch, or already stored), the senders become
contacts (a new number is a new contact, a deleted one comes back), each (contact, channel)
finds its conversation (messaging.services.conversations), the messages are inserted and
counted into their conversations, then keywords are applied and `message.received` is
published with the ids of the messages made.
"""

import uuid
from collections import defaultdict
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.db import connection, transaction

from messaging.keywords import keywords_apply
from messaging.models import Channel, Message
from messaging.services.conversations import (
    ConversationKey,
    conversations_count_inbound,
    conversations_receive,
)
from mifumo import events
from mifumo.ids import uuid7_ids
from sms.models import ChannelProvider
from sms.segments import segment_info
from tenants.models import Tenant


@dataclass(frozen=True, slots=True)
class Inbound:
    """One message a customer sent: who wrote (`sender`, E.164) to which of our addresses
    (`address` as ChannelAddress keeps it, on channel `channel_id`; None for the platform's
    account without a channel), through which provider, under the provider's id."""

    provider: str
    provider_message_id: str
    sender: str
    address: str
    channel_id: uuid.UUID | None
    text: str
    segments: int
    received_at: datetime


_STORED_SQL = """
    SELECT provider, provider_message_id FROM messaging_message
    WHERE provider_message_id = ANY(%(ids)s) AND provider_message_id <> ''
      AND direction = %(inbound)s
"""
# New numbers become contacts; deleted ones come back (Contact: "comes back if it is created
# again"); then every sender's id. The SELECT sees the table as the statement began, so the
# new contacts come from the INSERT's RETURNING; a contact another transaction committed
# meanwhile is in neither, and read again (_CONTACTS_SQL).
_CONTACTS_UPSERT_SQL = """
    WITH new AS (
        INSERT INTO messaging_contact (id, name, phone_e164, email, attributes, tags,
            is_active, is_opted_in, opt_out_reason, created_at, updated_at)
        SELECT k.id, '', k.phone, '', '{}'::jsonb, '{}'::varchar(64)[], true, false, '',
            now(), now()
        FROM unnest(%(ids)s::uuid[], %(phones)s::text[]) AS k(id, phone)
        ORDER BY k.phone
        ON CONFLICT (phone_e164) DO NOTHING
        RETURNING phone_e164, id
    ), revived AS (
        UPDATE messaging_contact SET deleted_at = NULL, updated_at = now()
        WHERE phone_e164 = ANY(%(phones)s) AND deleted_at IS NOT NULL
        RETURNING id
    )
    SELECT phone_e164, id FROM new
    UNION ALL
    SELECT phone_e164, id FROM messaging_contact WHERE phone_e164 = ANY(%(phones)s)
"""
_CONTACTS_SQL = "SELECT phone_e164, id FROM messaging_contact WHERE phone_e164 = ANY(%(phones)s)"
_MESSAGES_INSERT_SQL = """
    INSERT INTO messaging_message (id, contact_id, conversation_id, direction, channel, status,
        recipient, sender, text, encoding, segments, credits, provider, provider_message_id,
        error_code, error_message, attempts, received_at, created_at, updated_at)
    SELECT m.id, m.contact_id, m.conversation_id, %(inbound)s, m.channel, %(received)s,
        m.recipient, m.sender, m.text, m.encoding, m.segments, 0, m.provider,
        m.provider_message_id, '', '', 0, m.received_at, now(), now()
    FROM unnest(%(ids)s::uuid[], %(contacts)s::uuid[], %(conversations)s::uuid[],
                %(channels)s::text[], %(recipients)s::text[], %(senders)s::text[],
                %(texts)s::text[], %(encodings)s::text[], %(segments)s::int[],
                %(providers)s::text[], %(provider_ids)s::text[], %(received_ats)s::timestamptz[])
        AS m(id, contact_id, conversation_id, channel, recipient, sender, text, encoding,
             segments, provider, provider_message_id, received_at)
"""


def _execute(sql: str, params: dict[str, Any]) -> list[tuple[Any, ...]]:
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return cursor.fetchall() if cursor.description else []


def _unseen(messages: list[Inbound]) -> list[Inbound]:
    """The messages, each provider message once, without those already stored (one read of
    the message_provider_id index)."""
    first: dict[tuple[str, str], Inbound] = {}
    unique = []
    for message in messages:
        key = (message.provider, message.provider_message_id)
        if message.provider_message_id and key in first:
            continue
        first[key] = message
        unique.append(message)
    ids = sorted({m.provider_message_id for m in unique if m.provider_message_id})
    if not ids:
        return unique
    stored = _execute(_STORED_SQL, {"ids": ids, "inbound": Message.Direction.INBOUND})
    seen = {(provider, provider_id) for provider, provider_id in stored}
    return [m for m in unique if (m.provider, m.provider_message_id) not in seen]


def _contacts_upsert(phones: list[str]) -> dict[str, uuid.UUID]:
    """{phone: contact id} for every phone, each a live contact afterwards."""
    ids = uuid7_ids()
    params = {"ids": [next(ids) for _ in phones], "phones": phones}
    contacts = dict(_execute(_CONTACTS_UPSERT_SQL, params))
    if len(contacts) < len(phones):  # made by a transaction that committed meanwhile
        contacts.update(_execute(_CONTACTS_SQL, params))
    return contacts


def _channel_of(provider: str) -> str:
    return Channel.WHATSAPP if provider == ChannelProvider.WHATSAPP else Channel.SMS


@transaction.atomic
def inbound_messages_receive(*, tenant: Tenant, messages: list[Inbound]) -> list[uuid.UUID]:
    """Store a batch of inbound messages of the current tenant in their conversations; returns
    the ids of the Messages made, in the batch's order. A message whose (provider, provider
    message id) is already stored, or came earlier in the batch, is skipped: a batch handed
    over twice makes its messages once."""
    fresh = _unseen(messages)
    if not fresh:
        return []
    contacts = _contacts_upsert(sorted({m.sender for m in fresh}))
    keys: dict[ConversationKey, tuple[str, str]] = {}
    for m in fresh:
        keys.setdefault((contacts[m.sender], m.channel_id), (m.provider, m.address))
    conversations = conversations_receive(keys=keys)

    ids = uuid7_ids()
    message_ids = [uuid.UUID(next(ids)) for _ in fresh]
    contact_ids = [contacts[m.sender] for m in fresh]
    conversation_ids = [
        conversations[(contact_id, m.channel_id)]
        for contact_id, m in zip(contact_ids, fresh, strict=True)
    ]
    infos = [segment_info(m.text) for m in fresh]
    _execute(
        _MESSAGES_INSERT_SQL,
        {
            "ids": [str(pk) for pk in message_ids],
            "contacts": [str(pk) for pk in contact_ids],
            "conversations": [str(pk) for pk in conversation_ids],
            "channels": [_channel_of(m.provider) for m in fresh],
            "recipients": [m.address for m in fresh],
            "senders": [m.sender for m in fresh],
            "texts": [m.text for m in fresh],
            "encodings": [info.encoding for info in infos],
            "segments": [info.segments for info in infos],
            "providers": [m.provider for m in fresh],
            "provider_ids": [m.provider_message_id for m in fresh],
            "received_ats": [m.received_at for m in fresh],
            "inbound": Message.Direction.INBOUND,
            "received": Message.Status.RECEIVED,
        },
    )

    counts: dict[uuid.UUID, tuple[int, datetime]] = {}
    per_conversation: dict[uuid.UUID, list[datetime]] = defaultdict(list)
    for conversation_id, m in zip(conversation_ids, fresh, strict=True):
        per_conversation[conversation_id].append(m.received_at)
    for conversation_id, times in per_conversation.items():
        counts[conversation_id] = (len(times), max(times))
    conversations_count_inbound(counts=counts)

    keywords_apply(
        tenant=tenant,
        received=[
            (message_id, contact_id, conversation_id, m.text)
            for message_id, contact_id, conversation_id, m in zip(
                message_ids, contact_ids, conversation_ids, fresh, strict=True
            )
        ],
    )
    events.publish("message.received", {"message_ids": [str(pk) for pk in message_ids]})
    return message_ids
