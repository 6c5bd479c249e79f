"""Keywords and consent (issue 15): an inbound message that is a keyword opts its contact out
(STOP), back in (START) or asks for help (HELP), and is answered once, free of credits.

Matching (keyword_match, pure): the whole message, NFKC-normalised, without the spaces,
punctuation (any Unicode punctuation: "¡STOP!", "«stop»") and invisible format characters
around it, equals a keyword in any case. "Stop!" and " stop. " match STOP; "stop sending me
offers", "S T O P" and "STOP 👍" match nothing.

Each tenant has one KeywordSettings row: its three lists and three replies, created with
DEFAULTS on first read (keyword_settings_get) and changed by keyword_settings_update. A reply
is a template: {{business}} is the tenant's name, and the contact's fields fill
{{first_name}}, {{name}} and the like, as in any template.

keywords_apply runs inside the inbound batch's transaction (messaging.services.inbound). Consent
follows RapidPro's "stopped": a contact who opted out stays out, and hears nothing, whatever
they write until an opt-in keyword; the confirmation of their STOP is the one message an
opted-out contact still receives (messaging.services.messages refuses every other send).
"""

import unicodedata
import uuid
from collections import defaultdict
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from django.conf import settings as django_settings
from django.db import connection, transaction
from django.utils import timezone

from messaging.models import Contact, Conversation, KeywordSettings, SendRequest
from messaging.services.conversations import conversations_count_outbound
from messaging.services.messages import Recipient, send_create
from messaging.services.templates import contact_values, is_personalised
from mifumo.errors import field_error


class KeywordAction(StrEnum):
    OPT_OUT = "opt_out"
    OPT_IN = "opt_in"
    HELP = "help"


KEYWORD_MAX_LENGTH = 32
KEYWORDS_MAX_COUNT = 50
REPLY_MAX_LENGTH = 480

# The settings field of each action's keywords and of its reply, and how messages name them.
KEYWORD_FIELDS = {
    KeywordAction.OPT_OUT: "opt_out_keywords",
    KeywordAction.OPT_IN: "opt_in_keywords",
    KeywordAction.HELP: "help_keywords",
}
REPLY_FIELDS = {
    KeywordAction.OPT_OUT: "opt_out_reply",
    KeywordAction.OPT_IN: "opt_in_reply",
    KeywordAction.HELP: "help_reply",
}
_LABELS = {
    KeywordAction.OPT_OUT: "an opt-out",
    KeywordAction.OPT_IN: "an opt-in",
    KeywordAction.HELP: "a help",
}

# A new tenant's keywords and replies, in English and Swahili.
DEFAULTS: dict[str, Any] = {
    "opt_out_keywords": ["STOP", "STOPALL", "UNSUBSCRIBE", "CANCEL", "END", "QUIT", "ACHA"],
    "opt_in_keywords": ["START", "YES", "UNSTOP", "ANZA"],
    "help_keywords": ["HELP", "INFO", "MSAADA"],
    "opt_out_reply": (
        "You have been unsubscribed from {{business}}. Reply START to subscribe again. "
        "Umejiondoa kutoka {{business}}. Jibu ANZA kujiunga tena."
    ),
    "opt_in_reply": (
        "You are subscribed to {{business}} again. Reply STOP to unsubscribe. "
        "Umejiunga tena na {{business}}. Jibu ACHA kujiondoa."
    ),
    "help_reply": (
        "{{business}}: reply STOP to unsubscribe, START to subscribe again. "
        "Jibu ACHA kujiondoa, ANZA kujiunga tena."
    ),
}


# --- Matching (pure)


def _is_edge(char: str) -> bool:
    """A character ignored around a keyword: a space, punctuation or an invisible format mark
    (a zero-width space, a byte order mark)."""
    category = unicodedata.category(char)
    return char.isspace() or category[0] == "P" or category == "Cf"


def _core(text: str) -> str:
    """What a message or a keyword is compared by: NFKC-normalised (full-width letters are
    letters), without the characters _is_edge ignores at either end, case-folded."""
    text = unicodedata.normalize("NFKC", text)
    start, end = 0, len(text)
    while start < end and _is_edge(text[start]):
        start += 1
    while end > start and _is_edge(text[end - 1]):
        end -= 1
    return text[start:end].casefold()


def _keyword_index(settings: KeywordSettings) -> dict[str, tuple[KeywordAction, str]]:
    """{compared form: (action, the keyword as stored)} over the three lists; a keyword in two
    lists (only possible by writing the row directly) means what the first list says."""
    index: dict[str, tuple[KeywordAction, str]] = {}
    for action, field in KEYWORD_FIELDS.items():
        for keyword in getattr(settings, field):
            if core := _core(keyword):
                index.setdefault(core, (action, keyword))
    return index


def keyword_match(text: str, *, settings: KeywordSettings) -> KeywordAction | None:
    """The action of the keyword that `text` is, or None (see the module docstring)."""
    found = _keyword_index(settings).get(_core(text))
    return found[0] if found else None


# --- Settings


def keyword_settings_get() -> KeywordSettings:
    """The current tenant's keywords, created with DEFAULTS on first read. Two first reads at
    once make one row: the second insert waits for the first, fails on the key and reads it."""
    settings, _ = KeywordSettings.objects.get_or_create(pk=1, defaults=DEFAULTS)
    return settings


def _keywords_clean(field: str, values: list[str]) -> list[str]:
    """Upper-cased (NFKC first), each once in its first order; a 400 field error for an empty
    list or a keyword that is blank, too long, holds a space, or could never match."""
    keywords: dict[str, str] = {}
    for value in values:
        keyword = unicodedata.normalize("NFKC", value).strip().upper()
        if not keyword:
            raise field_error(field, "A keyword cannot be blank.")
        if len(keyword) > KEYWORD_MAX_LENGTH:
            raise field_error(field, f"'{keyword}' is longer than {KEYWORD_MAX_LENGTH} characters.")
        if any(char.isspace() for char in keyword):
            raise field_error(field, f"'{keyword}' has a space: a keyword is one word.")
        if _is_edge(keyword[0]) or _is_edge(keyword[-1]):
            raise field_error(
                field,
                f"'{keyword}' starts or ends with punctuation, which messages are read without.",
            )
        keywords.setdefault(_core(keyword), keyword)
    if not keywords:
        raise field_error(field, "Give at least one keyword.")
    if len(keywords) > KEYWORDS_MAX_COUNT:
        raise field_error(field, f"At most {KEYWORDS_MAX_COUNT} keywords.")
    return list(keywords.values())


def _reply_clean(field: str, value: str) -> str:
    reply = value.strip()
    if not reply:
        raise field_error(field, "A reply cannot be blank.")
    if len(reply) > REPLY_MAX_LENGTH:
        raise field_error(field, f"A reply has at most {REPLY_MAX_LENGTH} characters.")
    return reply


def _clash_check(lists: dict[str, list[str]], given: set[str]) -> None:
    """A 400 field error when a keyword is in two lists, on the list this change gave (the later
    one when it gave both), naming the keyword and both meanings."""
    owner: dict[str, KeywordAction] = {}
    for action, field in KEYWORD_FIELDS.items():
        for keyword in lists[field]:
            first = owner.setdefault(_core(keyword), action)
            if first is not action:
                blamed = field if field in given else KEYWORD_FIELDS[first]
                raise field_error(
                    blamed,
                    f"{keyword} is both {_LABELS[first]} and {_LABELS[action]} keyword; "
                    "a keyword has one meaning.",
                )


@transaction.atomic
def keyword_settings_update(
    *,
    opt_out_keywords: list[str] | None = None,
    opt_in_keywords: list[str] | None = None,
    help_keywords: list[str] | None = None,
    opt_out_reply: str | None = None,
    opt_in_reply: str | None = None,
    help_reply: str | None = None,
) -> KeywordSettings:
    """Change the given lists and replies (None leaves one as it is), checked as a whole: see
    _keywords_clean, _reply_clean and _clash_check. The row is locked, so two changes at once
    are checked one after the other."""
    keyword_settings_get()
    settings = KeywordSettings.objects.select_for_update().get(pk=1)
    given_lists = {
        "opt_out_keywords": opt_out_keywords,
        "opt_in_keywords": opt_in_keywords,
        "help_keywords": help_keywords,
    }
    lists = {
        field: getattr(settings, field) if given is None else _keywords_clean(field, given)
        for field, given in given_lists.items()
    }
    _clash_check(lists, {field for field, given in given_lists.items() if given is not None})
    replies = {
        field: _reply_clean(field, given)
        for field, given in {
            "opt_out_reply": opt_out_reply,
            "opt_in_reply": opt_in_reply,
            "help_reply": help_reply,
        }.items()
        if given is not None
    }
    for field, value in {**lists, **replies}.items():
        setattr(settings, field, value)
    settings.save()
    return settings


# --- Applying keywords to received messages

# (message_id, contact_id, conversation_id, text) of an inbound message just stored.
Received = tuple[uuid.UUID, uuid.UUID, uuid.UUID | None, str]


@dataclass
class _Outcome:
    """What a batch's keywords do to one contact, read in the order they were received."""

    opted_out: bool  # as the contact stands after the messages read so far
    change: KeywordAction | None = None  # OPT_OUT or OPT_IN, when the consent changes
    keyword: str = ""  # the opt-out keyword that did it
    reply: KeywordAction | None = None
    conversation_id: uuid.UUID | None = None  # where the reply goes


def _outcomes(
    matched: list[tuple[uuid.UUID, uuid.UUID | None, KeywordAction, str]],
    contacts: dict[uuid.UUID, Contact],
) -> dict[uuid.UUID, _Outcome]:
    outcomes: dict[uuid.UUID, _Outcome] = {}
    for contact_id, conversation_id, action, keyword in matched:
        contact = contacts.get(contact_id)
        if contact is None:  # deleted since it wrote
            continue
        opted_out = not contact.is_opted_in and contact.opt_out_at is not None
        outcome = outcomes.setdefault(contact_id, _Outcome(opted_out=opted_out))
        if action is KeywordAction.OPT_IN:
            outcome.opted_out, outcome.change = False, action
        elif outcome.opted_out:
            continue  # stopped: only an opt-in keyword is heard
        elif action is KeywordAction.OPT_OUT:
            outcome.opted_out, outcome.change, outcome.keyword = True, action, keyword
        outcome.reply, outcome.conversation_id = action, conversation_id  # the last one wins
    return outcomes


def _consent_write(outcomes: dict[uuid.UUID, _Outcome], now) -> None:
    """Opt the contacts out in one UPDATE (each with its own keyword as the reason) and back
    in with another, as contact_opt_out and contact_opt_in do one contact."""
    opt_outs = [
        (str(contact_id), f"keyword {outcome.keyword}")
        for contact_id, outcome in outcomes.items()
        if outcome.change is KeywordAction.OPT_OUT
    ]
    if opt_outs:
        ids, reasons = zip(*opt_outs, strict=True)
        with connection.cursor() as cursor:
            cursor.execute(
                "UPDATE messaging_contact AS c SET is_opted_in = false, opt_out_at = %s, "
                "opt_out_reason = v.reason, updated_at = %s "
                "FROM unnest(%s::uuid[], %s::text[]) AS v(id, reason) WHERE c.id = v.id",
                [now, now, list(ids), list(reasons)],
            )
    opt_ins = [
        contact_id
        for contact_id, outcome in outcomes.items()
        if outcome.change is KeywordAction.OPT_IN
    ]
    if opt_ins:
        Contact.objects.filter(pk__in=opt_ins).update(
            is_opted_in=True, opt_in_at=now, opt_out_at=None, opt_out_reason="", updated_at=now
        )


def _replies_send(
    *,
    tenant,
    settings: KeywordSettings,
    outcomes: dict[uuid.UUID, _Outcome],
    contacts: dict[uuid.UUID, Contact],
    now,
) -> None:
    """One reply per contact that has one, each in its conversation from the conversation's
    address (the platform's sender without one): a free send per (reply, address)."""
    replies = {cid: (o.reply, o.conversation_id) for cid, o in outcomes.items() if o.reply}
    if not replies:
        return
    addresses = dict(
        Conversation.objects.filter(
            pk__in={conversation_id for _, conversation_id in replies.values() if conversation_id}
        ).values_list("pk", "address")
    )
    platform: str = django_settings.PLATFORM_SMS_SENDER
    groups: dict[tuple[KeywordAction, str], list[uuid.UUID]] = defaultdict(list)
    for contact_id, (action, conversation_id) in replies.items():
        address = addresses.get(conversation_id) if conversation_id else None
        groups[(action, address or platform)].append(contact_id)
    answered: list[uuid.UUID] = []
    for (action, sender), contact_ids in groups.items():
        text = getattr(settings, REPLY_FIELDS[action])
        if not text.strip():  # only possible by writing the row directly
            continue
        recipients: list[Recipient] = []
        conversations: dict[str, uuid.UUID] = {}
        for contact_id in contact_ids:
            contact, conversation_id = contacts[contact_id], replies[contact_id][1]
            values = None
            if is_personalised(text):
                fields = (contact.phone_e164, contact.name, contact.email, contact.attributes)
                values = {**contact_values(*fields), "business": tenant.name}
            recipients.append((contact_id, contact.phone_e164, values))
            if conversation_id:
                conversations[contact.phone_e164] = conversation_id
                answered.append(conversation_id)
        # Who hears back was decided above, under the contacts' locks: the opt-out refusal
        # would only silence the STOP confirmation.
        send_create(
            tenant=tenant,
            recipients=recipients,
            sender=sender,
            text=text,
            template=None,
            source=SendRequest.Source.KEYWORD,
            conversations=conversations,
            charge=False,
            to_opted_out=True,
        )
    if answered:
        conversations_count_outbound(conversation_ids=answered, at=now)


def keywords_apply(*, tenant, received: list[Received]) -> None:
    """Apply the keywords among inbound messages just stored, in the batch's transaction and
    the tenant's schema: STOP-type keywords opt their contacts out, START-type ones back in
    (one UPDATE each), and each contact that wrote a keyword it may use gets one reply (the
    reply to its last such keyword), free of credits, through the outbox. Messages that are no
    keyword cost one query (the settings)."""
    if not received:
        return
    settings = keyword_settings_get()
    index = _keyword_index(settings)
    matched = [
        (contact_id, conversation_id, *found)
        for _, contact_id, conversation_id, text in received
        if (found := index.get(_core(text)))
    ]
    if not matched:
        return
    # Locked in one order, so batches for the same contacts take turns instead of both
    # confirming one STOP.
    contacts = {
        contact.pk: contact
        for contact in Contact.objects.select_for_update()
        .filter(pk__in={contact_id for contact_id, *_ in matched})
        .order_by("pk")
        .only("id", "phone_e164", "name", "email", "attributes", "is_opted_in", "opt_out_at")
    }
    outcomes = _outcomes(matched, contacts)
    now = timezone.now()
    _consent_write(outcomes, now)
    _replies_send(tenant=tenant, settings=settings, outcomes=outcomes, contacts=contacts, now=now)
