"""Conversations (messaging.models.Conversation, whose docstring has the status machine): the
only writer of their status and counters.

Opening one for a (contact, channel) returns the conversation that is not resolved, else
reopens the latest resolved one, else makes one: a contact keeps one thread per channel.
Agents move the status (conversation_update, each move checked against STATUS_MOVES under
a row lock: 409 INVALID_STATUS otherwise), assign, snooze, read, and reply
(conversation_reply: one message through the outbox, from the conversation's address).
Inbound messages are counted in sets (conversations_receive, conversations_count_inbound,
for messaging.services.inbound); the periodic run wakes snoozed conversations whose time
came (conversations_wake_due).

Who may assign: owners and admins assign any active member, or nobody; an agent takes a
conversation for themselves, or gives back one that is theirs (or nobody's), and nothing else
(403 PERMISSION_DENIED): agents pick their work, managers hand it out.
"""

import uuid
from collections.abc import Collection, Mapping, Sequence
from datetime import datetime
from typing import Any

from django.conf import settings
from django.db import IntegrityError, connection, transaction
from django.db.models import Case, F, Q, QuerySet, Value, When
from django.db.models.functions import Greatest
from django.utils import timezone
from rest_framework import status as http_status

from messaging.models import Channel, Contact, Conversation, Message, Template
from messaging.selectors.conversations import (
    ChannelRef,
    conversation_channel_for,
    conversation_of_contact,
    status_read,
)
from messaging.services.messages import send_create
from messaging.services.templates import contact_values, is_personalised
from mifumo.errors import ApplicationError, ErrorCode, field_error
from mifumo.ids import uuid7_ids
from tenants.models import Membership, Tenant

Status = Conversation.Status

# Where an agent may move a conversation from each status (the model's docstring); a
# contact's message reopens any (conversations_receive, conversations_count_inbound).
STATUS_MOVES: dict[str, tuple[str, ...]] = {
    Status.OPEN: (Status.PENDING, Status.RESOLVED, Status.SNOOZED),
    Status.PENDING: (Status.OPEN,),
    Status.SNOOZED: (Status.OPEN,),
    Status.RESOLVED: (Status.OPEN,),
}
# Tries at opening before giving up: each lost race is read back on the next.
_OPEN_ATTEMPTS = 3

# (contact id, channel id): at most one conversation of a key is not resolved.
ConversationKey = tuple[uuid.UUID, uuid.UUID | None]


def _unresolved(contact_id: uuid.UUID, channel_id: uuid.UUID | None) -> QuerySet[Conversation]:
    return Conversation.objects.filter(contact_id=contact_id, channel_id=channel_id).exclude(
        status=Status.RESOLVED
    )


def conversation_open(
    *, contact: Contact, channel: ChannelRef, subject: str = ""
) -> tuple[Conversation, bool]:
    """The contact's conversation on `channel`: the one not resolved, else the latest resolved
    one reopened, else a new one (`subject` is a new one's). Returns (conversation, created).
    A concurrent open of the same one is read back, never a second conversation."""
    for _ in range(_OPEN_ATTEMPTS):
        current = _unresolved(contact.pk, channel.channel_id).first()
        if current is not None:
            current.contact = contact
            return current, False
        try:
            with transaction.atomic():
                return _reopened_or_new(contact, channel, subject)
        except IntegrityError:  # another request opened it meanwhile: read it on the next try
            continue
    raise ApplicationError(
        "The conversation is being opened by another request; try again.",
        code=ErrorCode.CONFLICT,
        status_code=http_status.HTTP_409_CONFLICT,
    )


def _reopened_or_new(
    contact: Contact, channel: ChannelRef, subject: str
) -> tuple[Conversation, bool]:
    resolved = Conversation.objects.filter(
        contact=contact, channel_id=channel.channel_id, status=Status.RESOLVED
    )
    latest = resolved.order_by(
        F("last_message_at").desc(nulls_last=True), "-created_at", "id"
    ).first()
    if latest is not None:
        now = timezone.now()
        moved = resolved.filter(pk=latest.pk).update(
            status=Status.OPEN, closed_at=None, snoozed_until=None, updated_at=now
        )
        if not moved:  # resolved no more: reopened by someone else, read it again
            raise IntegrityError("conversation moved meanwhile")
        latest.status, latest.closed_at, latest.snoozed_until = Status.OPEN, None, None
        latest.updated_at, latest.contact = now, contact
        return latest, False
    conversation = Conversation.objects.create(
        contact=contact,
        channel_id=channel.channel_id,
        provider=channel.provider,
        address=channel.address,
        subject=subject,
    )
    return conversation, True


@transaction.atomic
def conversation_start(
    *,
    tenant: Tenant,
    contact: Contact,
    channel_id: uuid.UUID | None = None,
    subject: str = "",
    text: str = "",
    created_by: Any = None,
) -> tuple[Conversation, bool]:
    """POST conversations/: open (or return) the contact's conversation on the channel
    `channel_id` (the tenant's default SMS channel when not given) and send `text` into it when
    given. Returns (conversation, created); a send that fails (402, opted out) opens nothing."""
    channel = conversation_channel_for(tenant=tenant, channel_id=channel_id)
    conversation, created = conversation_open(contact=contact, channel=channel, subject=subject)
    if text.strip():
        conversation_reply(
            tenant=tenant, conversation=conversation, text=text, created_by=created_by
        )
        conversation.refresh_from_db()
    return conversation, created


def _check_template(template: Template | None, text: str) -> str:
    """The content to send: the template's (an active SMS one) or the text."""
    if template is not None:
        if not template.is_active or template.channel != Channel.SMS:
            raise field_error("template_id", "The template must be an active SMS template.")
        return template.content
    if not text.strip():
        raise ApplicationError(
            "Give the message text (text) or a template (template_id).",
            code=ErrorCode.MISSING_MESSAGE,
        )
    return text


@transaction.atomic
def conversation_reply(
    *,
    tenant: Tenant,
    conversation: Conversation,
    text: str = "",
    template: Template | None = None,
    created_by: Any = None,
) -> Message:
    """Send one message to the conversation's contact through the outbox (credits reserved,
    status followed as every send's), from the conversation's address, else from the platform
    sender, written into the conversation and counted there.

    `first_reply_at` is the first answer to a contact who wrote: a conversation an agent
    began has none until the contact writes and is answered. A reply leaves the status as it
    is (the contact's next message reopens). Errors of the send pass through: 402
    INSUFFICIENT_BALANCE, 400 CONTACT_OPTED_OUT, MISSING_MESSAGE.
    """
    content = _check_template(template, text)
    contact = conversation.contact
    values = None
    if is_personalised(content):
        values = contact_values(contact.phone_e164, contact.name, contact.email, contact.attributes)
    send = send_create(
        tenant=tenant,
        recipients=[(contact.pk, contact.phone_e164, values)],
        sender=conversation.address or settings.PLATFORM_SMS_SENDER,
        text="" if template is not None else text,
        template=template,
        created_by=created_by,
        conversations={contact.phone_e164: conversation.pk},
    )
    conversations_count_outbound(conversation_ids=[conversation.pk], at=timezone.now(), reply=True)
    return Message.objects.get(send_request=send)


def conversations_count_outbound(
    *, conversation_ids: Collection[uuid.UUID], at: datetime, reply: bool = False
) -> int:
    """One more outbound message in each of these conversations, sent `at`, in one UPDATE:
    the message count and the last message time (never backwards). A `reply` is an agent's
    answer: the first one to a contact who wrote sets `first_reply_at` (an automatic answer,
    such as a keyword's, does not)."""
    changes: dict[str, Any] = {
        "message_count": F("message_count") + 1,
        "last_message_at": Greatest(F("last_message_at"), Value(at)),
        "updated_at": at,
    }
    if reply:
        changes["first_reply_at"] = Case(
            When(Q(first_reply_at__isnull=True, last_inbound_at__isnull=False), then=Value(at)),
            default=F("first_reply_at"),
        )
    return Conversation.objects.filter(pk__in=conversation_ids).update(**changes)


@transaction.atomic
def conversation_message_send(
    *,
    tenant: Tenant,
    conversation: Conversation | None = None,
    contact: Contact | None = None,
    provider: str | None = None,
    text: str = "",
    template: Template | None = None,
    created_by: Any = None,
) -> Message:
    """POST messages/: reply into `conversation`, or to `contact`: into its latest conversation
    that is not resolved, else one opened on the tenant's default SMS channel (with
    `provider`: on that provider's default channel). A `provider` other than the given
    conversation's is a 400. A send that fails opens nothing."""
    if conversation is None:
        if contact is None:
            raise field_error("conversation_id", "Give conversation_id or contact_id.")
        conversation = None if provider else conversation_of_contact(contact=contact)
        if conversation is None:
            channel = conversation_channel_for(tenant=tenant, provider=provider)
            conversation, _ = conversation_open(contact=contact, channel=channel)
    elif provider and provider != conversation.provider:
        raise field_error(
            "provider",
            f"The conversation is on {conversation.provider or 'the platform account'}; "
            "leave provider out or give that one.",
        )
    return conversation_reply(
        tenant=tenant,
        conversation=conversation,
        text=text,
        template=template,
        created_by=created_by,
    )


def _check_assignee(by: Membership, conversation: Conversation, assignee_id: int | None) -> None:
    if not by.can_manage:
        own = assignee_id == by.user_id or (
            assignee_id is None and conversation.assignee_id in (None, by.user_id)
        )
        if not own:
            raise ApplicationError(
                "Agents assign conversations to themselves only; owners and admins assign "
                "them to others.",
                code=ErrorCode.PERMISSION_DENIED,
                status_code=http_status.HTTP_403_FORBIDDEN,
            )
    if assignee_id is not None and assignee_id != by.user_id:
        member = Membership.objects.filter(
            tenant_id=by.tenant_id, user_id=assignee_id, status=Membership.Status.ACTIVE
        )
        if not member.exists():
            raise field_error("assignee", "The assignee must be an active member of the tenant.")


def _status_move(
    conversation: Conversation, target: str, snoozed_until: datetime | None, now: datetime
) -> None:
    current = conversation.status
    if target != current and target not in STATUS_MOVES[current]:
        raise ApplicationError(
            f"A conversation that is {current} cannot become {target}.",
            code=ErrorCode.INVALID_STATUS,
            status_code=http_status.HTTP_409_CONFLICT,
            details={"current_status": current, "allowed_statuses": list(STATUS_MOVES[current])},
        )
    if target == Status.SNOOZED:
        if snoozed_until is None or snoozed_until <= now:
            raise field_error("snoozed_until", "Snoozing needs snoozed_until, a time to come.")
        conversation.snoozed_until = snoozed_until
    else:
        conversation.snoozed_until = None
    if target == Status.RESOLVED and current != Status.RESOLVED:
        conversation.closed_at = now
    elif target != Status.RESOLVED:
        conversation.closed_at = None
    conversation.status = target


@transaction.atomic
def conversation_update(
    *, conversation: Conversation, by: Membership, data: Mapping[str, Any]
) -> Conversation:
    """PUT conversations/{id}/: any of `status` (`active` is `open`; `snoozed` with
    `snoozed_until`), `assignee` (a user id, or None), `subject`, under the row's lock.

    A move the docstring does not allow is 409 INVALID_STATUS with the allowed statuses;
    reopening a resolved conversation of a contact who has another one open on the channel is
    409 CONFLICT naming it; an assignee outside the rule of this module's docstring is 403,
    one who is no active member a 400.
    """
    locked = Conversation.objects.select_for_update().get(pk=conversation.pk)
    now = timezone.now()
    if "assignee" in data:
        _check_assignee(by, locked, data["assignee"])
        locked.assignee_id = data["assignee"]
    if "subject" in data:
        locked.subject = data["subject"]
    if "status" in data:
        _status_move(locked, status_read(data["status"]), data.get("snoozed_until"), now)
    elif data.get("snoozed_until") is not None:
        _status_move(locked, Status.SNOOZED, data["snoozed_until"], now)
    try:
        with transaction.atomic():
            locked.save()
    except IntegrityError as exc:  # conversation_one_unresolved: the contact has another
        other = _unresolved(locked.contact_id, locked.channel_id).exclude(pk=locked.pk).first()
        raise ApplicationError(
            "The contact has another conversation open on this channel; work in that one.",
            code=ErrorCode.CONFLICT,
            status_code=http_status.HTTP_409_CONFLICT,
            details={"conversation_id": str(other.pk) if other else None},
        ) from exc
    locked.contact = conversation.contact
    return locked


def conversation_mark_read(*, conversation: Conversation) -> Conversation:
    """POST conversations/{id}/read/: no unread messages left (nothing written when none)."""
    now = timezone.now()
    Conversation.objects.filter(pk=conversation.pk, unread_count__gt=0).update(
        unread_count=0, updated_at=now
    )
    conversation.unread_count = 0
    return conversation


def conversations_wake_due() -> int:
    """Snoozed conversations whose snoozed_until passed are open again (the periodic run);
    returns how many. One UPDATE over the conversation_snoozed index."""
    now = timezone.now()
    return Conversation.objects.filter(status=Status.SNOOZED, snoozed_until__lte=now).update(
        status=Status.OPEN, snoozed_until=None, updated_at=now
    )


# --- Inbound, in sets (messaging.services.inbound): a statement per step for a whole batch

_KEYS = "unnest(%(contacts)s::uuid[], %(channels)s::uuid[]) AS k(contact_id, channel_id)"
_SAME_KEY = "c.contact_id = k.contact_id AND c.channel_id IS NOT DISTINCT FROM k.channel_id"
_UNRESOLVED_LOCK_SQL = f"""
    SELECT c.id, c.contact_id, c.channel_id FROM messaging_conversation c JOIN {_KEYS}
      ON {_SAME_KEY}
    WHERE c.status <> %(resolved)s
    ORDER BY c.id
    FOR UPDATE OF c
"""  # noqa: S608 (constants only)
_REOPEN_SQL = f"""
    UPDATE messaging_conversation AS r
    SET status = %(open)s, closed_at = NULL, snoozed_until = NULL, updated_at = now()
    FROM (
        SELECT DISTINCT ON (c.contact_id, c.channel_id) c.id
        FROM messaging_conversation c JOIN {_KEYS} ON {_SAME_KEY}
        WHERE c.status = %(resolved)s
        ORDER BY c.contact_id, c.channel_id, c.last_message_at DESC NULLS LAST,
                 c.created_at DESC, c.id
    ) AS latest
    WHERE r.id = latest.id AND r.status = %(resolved)s
"""  # noqa: S608 (constants only)
_INSERT_SQL = """
    INSERT INTO messaging_conversation (id, contact_id, channel_id, provider, address, status,
        subject, message_count, unread_count, created_at, updated_at)
    SELECT k.id, k.contact_id, k.channel_id, k.provider, k.address, %(open)s, '', 0, 0,
        now(), now()
    FROM unnest(%(ids)s::uuid[], %(contacts)s::uuid[], %(channels)s::uuid[],
                %(providers)s::text[], %(addresses)s::text[])
        AS k(id, contact_id, channel_id, provider, address)
    WHERE NOT EXISTS (
        SELECT 1 FROM messaging_conversation c
        WHERE c.contact_id = k.contact_id AND c.channel_id IS NOT DISTINCT FROM k.channel_id
    )
    ORDER BY k.contact_id
    ON CONFLICT DO NOTHING
"""
_COUNT_INBOUND_SQL = """
    UPDATE messaging_conversation AS c SET
        message_count = c.message_count + d.n,
        unread_count = c.unread_count + d.n,
        last_message_at = GREATEST(c.last_message_at, d.last_at),
        last_inbound_at = GREATEST(c.last_inbound_at, d.last_at),
        status = %(open)s, snoozed_until = NULL, closed_at = NULL,
        updated_at = now()
    FROM unnest(%(ids)s::uuid[], %(counts)s::int[], %(lasts)s::timestamptz[]) AS d(id, n, last_at)
    WHERE c.id = d.id
"""


def _keys_params(keys: Sequence[ConversationKey]) -> dict[str, Any]:
    return {
        "contacts": [str(contact_id) for contact_id, _ in keys],
        "channels": [str(channel_id) if channel_id else None for _, channel_id in keys],
        "open": Status.OPEN,
        "resolved": Status.RESOLVED,
    }


def _unresolved_locked(keys: Sequence[ConversationKey]) -> dict[ConversationKey, uuid.UUID]:
    with connection.cursor() as cursor:
        cursor.execute(_UNRESOLVED_LOCK_SQL, _keys_params(keys))
        return {
            (contact_id, channel_id): conversation_id
            for conversation_id, contact_id, channel_id in cursor.fetchall()
        }


def _reopen_or_insert(missing: Mapping[ConversationKey, tuple[str, str]]) -> None:
    keys = list(missing)
    params = _keys_params(keys)
    ids = uuid7_ids()
    params.update(
        ids=[next(ids) for _ in keys],
        providers=[provider for provider, _ in missing.values()],
        addresses=[address for _, address in missing.values()],
    )
    with connection.cursor() as cursor:
        cursor.execute(_REOPEN_SQL, params)
        cursor.execute(_INSERT_SQL, params)


def conversations_receive(
    *, keys: Mapping[ConversationKey, tuple[str, str]]
) -> dict[ConversationKey, uuid.UUID]:
    """The conversation each (contact, channel) key's inbound messages go to, locked for the
    rest of the transaction (in id order, so concurrent batches do not deadlock): the one not
    resolved, else the latest resolved one reopened, else a new open one on that channel with
    the key's (provider, address). One locking read when they all exist; a race with another
    batch is read back, never a second conversation of a key. Pending and snoozed ones are
    opened by conversations_count_inbound, which must follow in the same transaction."""
    found: dict[ConversationKey, uuid.UUID] = {}
    missing = dict(keys)
    for _ in range(_OPEN_ATTEMPTS):
        found.update(_unresolved_locked(list(missing)))
        missing = {key: value for key, value in missing.items() if key not in found}
        if not missing:
            return found
        try:
            with transaction.atomic():
                _reopen_or_insert(missing)
        except IntegrityError:  # another batch reopened or opened one meanwhile: read it back
            continue
    found.update(_unresolved_locked(list(missing)))
    if len(found) < len(keys):
        raise RuntimeError(f"No conversation for {len(keys) - len(found)} inbound key(s).")
    return found


def conversations_count_inbound(*, counts: Mapping[uuid.UUID, tuple[int, datetime]]) -> None:
    """Count inbound messages into their conversations, {conversation id: (messages, latest
    received_at)}, in one UPDATE: message and unread counts, last message and last inbound
    times (never backwards), and open again whatever was pending or snoozed."""
    if not counts:
        return
    params: dict[str, Any] = {
        "ids": [str(conversation_id) for conversation_id in counts],
        "counts": [n for n, _ in counts.values()],
        "lasts": [last for _, last in counts.values()],
        "open": Status.OPEN,
    }
    with connection.cursor() as cursor:
        cursor.execute(_COUNT_INBOUND_SQL, params)
