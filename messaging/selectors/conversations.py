"""Reads of conversations (the request's tenant schema): the filtered list with its search over
message texts and contacts, one conversation and its latest messages, a contact's current
conversation, and the channel and address a new conversation is held on."""

import uuid
from dataclasses import dataclass

from django.conf import settings
from django.db.models import BooleanField, F, Q, QuerySet, Value
from django.db.models.expressions import RawSQL
from django.db.models.functions import Upper
from django.db.models.lookups import IsNull

from messaging.models import Contact, Conversation, Message
from messaging.selectors.audience import contact_search
from mifumo.selectors import get_or_404
from sms.models import ChannelAddress, ChannelProvider
from sms.selectors import channel_default_get, channel_get
from tenants.models import Tenant

Status = Conversation.Status

# The dashboard's spelling of `open` (the Complete API Documentation's "active").
STATUS_ALIASES = {"active": Status.OPEN}
ASSIGNEE_ME = "me"
ASSIGNEE_NONE = "unassigned"
# A search probes this many of the newest conversations: with this many matches among them
# its term is common, and the conversations are walked newest first (conversation_search).
SEARCH_PROBE = 200
SEARCH_COMMON_MATCHES = 20
# A search counts its matches this far (`count` of the page stops there).
SEARCH_COUNT_LIMIT = 1000
# The messages GET conversations/{id}/ carries; older ones are read from messages/.
RECENT_MESSAGES = 20
# A reply goes out from a number before a shortcode, and either before a sender ID (which
# the contact cannot answer).
_ADDRESS_PREFERENCE = (
    ChannelAddress.Kind.NUMBER,
    ChannelAddress.Kind.SHORTCODE,
    ChannelAddress.Kind.SENDER_ID,
)


@dataclass(frozen=True, slots=True)
class ChannelRef:
    """Where a conversation is held: the sms.Channel (None: the platform's account without
    one), its provider, and our address on it that replies are sent from ("" for none)."""

    channel_id: uuid.UUID | None
    provider: str
    address: str


def status_read(value: str) -> str:
    """A status as stored: `active` is `open`."""
    return STATUS_ALIASES.get(value, value)


def conversations_all() -> QuerySet[Conversation]:
    """Every conversation of the tenant with its contact and assignee (one query for a page),
    newest activity first: the order of the conversation_activity index."""
    return Conversation.objects.select_related("contact", "assignee").order_by(
        F("last_message_at").desc(nulls_last=True), "id"
    )


def conversation_get(*, conversation_id: uuid.UUID | str) -> Conversation:
    return get_or_404(conversations_all(), conversation_id, "Conversation")


def conversation_search(queryset: QuerySet[Conversation], term: str) -> QuerySet[Conversation]:
    """Conversations with a message whose text holds `term`, or whose contact's name, phone
    or email does, in any case; in the list's order.

    Two plans, chosen by a probe of the newest SEARCH_PROBE conversations. A term in many
    of them (a common word) walks the conversations newest first and looks into each one's
    messages (the message_conversation index) until the page is full: reading every match
    from the trigram index first would cost seconds for a word in half the messages. Any
    other term reads its matches from the trigram indexes (message_conversation_text, and
    contact_search_trgm for the contact), both sides upper-cased by Postgres as the indexes
    are, as one list of ids (UNION ALL: for an OR of two subqueries Postgres expects three
    quarters of the conversations to match and tests them all).
    """
    term = term.strip()
    if not term:
        return queryset
    contacts = contact_search(Contact.objects.order_by(), term).values("id")
    walked = queryset.filter(Q(_in_own_messages(term)) | Q(contact_id__in=contacts))
    newest = queryset.values("id")[:SEARCH_PROBE]
    if walked.filter(id__in=newest).count() >= SEARCH_COMMON_MATCHES:
        return walked
    in_texts = (
        Message.objects.filter(conversation__isnull=False)
        .alias(upper_text=Upper("text"))
        .filter(upper_text__contains=Upper(Value(term)))
        .order_by()
        .values("conversation_id")
    )
    of_contacts = Conversation.objects.filter(contact_id__in=contacts).order_by().values("id")
    matches = queryset.filter(id__in=in_texts.union(of_contacts, all=True))
    # The list's order (never active last, then newest activity first), spelled so that no
    # index holds it: Postgres then sorts the matches it read by id. In the index's spelling,
    # a page of few matches (LIMIT 1 for one) walked the newest conversations testing each
    # against the matches, 33,000 of them for a contact's name at 100,000 conversations.
    return matches.order_by(IsNull(F("last_message_at"), True), F("last_message_at").desc(), "id")


def _in_own_messages(term: str) -> RawSQL:
    """True for a conversation with a message holding `term` (any case), read through the
    message_conversation index one conversation at a time: `OFFSET 0` keeps Postgres from
    turning it into a join over every matching message."""
    return RawSQL(
        "EXISTS (SELECT 1 FROM messaging_message AS m"
        " WHERE m.conversation_id = messaging_conversation.id"
        " AND strpos(upper(m.text), upper(%s)) > 0 OFFSET 0)",
        (term,),
        output_field=BooleanField(),
    )


def conversation_list(
    *,
    user_id: int,
    contact_id: uuid.UUID | None = None,
    status: str = "",
    assignee: str = "",
    channel: str = "",
    unread: bool | None = None,
    search: str = "",
) -> QuerySet[Conversation]:
    """The tenant's conversations, newest activity first, filtered.

    `assignee` is `me` (the user `user_id`), `unassigned`, or a user's id; `channel` a
    channel's id or a provider's name; `unread` true keeps those with unread messages, false
    those without.
    """
    conversations = conversations_all()
    if contact_id is not None:
        conversations = conversations.filter(contact_id=contact_id)
    if status:
        conversations = conversations.filter(status=status_read(status))
    if assignee == ASSIGNEE_ME:
        conversations = conversations.filter(assignee_id=user_id)
    elif assignee == ASSIGNEE_NONE:
        conversations = conversations.filter(assignee__isnull=True)
    elif assignee:
        conversations = conversations.filter(assignee_id=int(assignee))
    if channel in ChannelProvider.values:
        conversations = conversations.filter(provider=channel)
    elif channel:
        conversations = conversations.filter(channel_id=uuid.UUID(channel))
    if unread is not None:
        has_unread = Q(unread_count__gt=0)
        conversations = conversations.filter(has_unread if unread else ~has_unread)
    return conversation_search(conversations, search)


def conversation_messages_recent(
    *, conversation: Conversation, limit: int = RECENT_MESSAGES
) -> list[Message]:
    """The conversation's latest `limit` messages, oldest first (as a chat shows them); one
    read of the message_conversation index."""
    latest = Message.objects.filter(conversation=conversation).order_by("-created_at", "-id")
    return list(reversed(latest[:limit]))


def conversation_of_contact(*, contact: Contact) -> Conversation | None:
    """The contact's conversation with the latest activity that is not resolved, if any."""
    return (
        Conversation.objects.filter(contact=contact)
        .exclude(status=Status.RESOLVED)
        .order_by(F("last_message_at").desc(nulls_last=True), "-created_at", "id")
        .first()
    )


def conversation_channel_for(
    *, tenant: Tenant, channel_id: uuid.UUID | None = None, provider: str | None = None
) -> ChannelRef:
    """The channel a new conversation is held on: the tenant's channel `channel_id` (any other
    id is the uniform 404), else its default channel of `provider` (the tenant's SMS provider
    when not given), else that provider through the platform's account, without an address.
    The address is the channel's first number, else shortcode, else sender ID."""
    if channel_id is not None:
        channel = channel_get(tenant_id=tenant.pk, channel_id=channel_id)
        addresses = list(channel.addresses.all())
    else:
        provider = provider or tenant.sms_provider_name or settings.SMS_PROVIDER
        default = channel_default_get(tenant_id=tenant.pk, provider=provider)
        if default is None:
            return ChannelRef(channel_id=None, provider=provider, address="")
        channel = default
        addresses = list(channel.addresses.order_by("created_at", "id"))
    ranked = sorted(addresses, key=lambda address: _ADDRESS_PREFERENCE.index(address.kind))
    return ChannelRef(
        channel_id=channel.pk,
        provider=channel.provider,
        address=ranked[0].address if ranked else "",
    )
