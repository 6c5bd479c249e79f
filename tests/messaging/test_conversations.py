"""Conversations over HTTP: the inbox with its filters and search, opening one, its status
moves and assignment, reading it, and replying through POST /api/messaging/messages/ (the
outbox and the sandbox provider). Every route also shows tenant B's data stays out of reach."""

import datetime as dt
import uuid

import pytest
from django.conf import settings as django_settings
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from django_tenants.utils import tenant_context

from messaging import tasks
from messaging.models import Contact, Conversation, Message
from messaging.selectors import conversations as selectors
from tests.envelope import assert_error, assert_field_errors, ok_data
from tests.messaging.helpers import make_contact, make_template, new_phone
from tests.messaging.test_inbound_receive import inbound, receive, sandbox_of
from tests.sms.helpers import balance_of, fund

CONVERSATIONS = "/api/messaging/conversations/"
MESSAGES = "/api/messaging/messages/"
ITEM_KEYS = {
    "id",
    "contact",
    "status",
    "channel",
    "assignee",
    "subject",
    "snoozed_until",
    "last_message_at",
    "last_inbound_at",
    "first_reply_at",
    "closed_at",
    "message_count",
    "unread_count",
    "created_at",
    "updated_at",
}


def url(conversation_id, action: str = "") -> str:
    return f"{CONVERSATIONS}{conversation_id}/" + (f"{action}/" if action else "")


def make_conversation(tenant, contact=None, **fields) -> Conversation:
    contact = contact or make_contact(tenant)
    with tenant_context(tenant):
        return Conversation.objects.create(
            **{"contact": contact, "channel_id": sandbox_of(tenant).pk, "provider": "sandbox"}
            | fields
        )


def written_to(tenant, phone: str, text: str = "Habari") -> Conversation:
    """The conversation a message from `phone` to the tenant's sandbox number lands in."""
    (message_id,) = receive(tenant, inbound(tenant, phone, text))
    with tenant_context(tenant):
        return Message.objects.get(pk=message_id).conversation


def listed(client, **params) -> list[str]:
    return [c["id"] for c in ok_data(client.get(CONVERSATIONS, params))["results"]]


def reply(api, user, on_commit, **body):
    with on_commit():
        return api(user).post(MESSAGES, body, format="json")


# --- The list


def test_the_list_holds_the_tenants_conversations_newest_activity_first(api, a, b):
    now = timezone.now()
    contact = make_contact(a.tenant, name="Asha Juma")
    quiet = make_conversation(a.tenant, last_message_at=None)
    old = make_conversation(a.tenant, last_message_at=now - dt.timedelta(days=1))
    recent = make_conversation(a.tenant, contact, last_message_at=now, message_count=4)
    make_conversation(b.tenant, last_message_at=now + dt.timedelta(hours=1))

    data = ok_data(api(a.agent).get(CONVERSATIONS))

    assert [c["id"] for c in data["results"]] == [str(recent.pk), str(old.pk), str(quiet.pk)]
    assert data["count"] == 3
    item = data["results"][0]
    assert set(item) == ITEM_KEYS
    assert item["contact"] == {
        "id": str(contact.pk),
        "name": "Asha Juma",
        "phone_e164": contact.phone_e164,
    }
    channel = sandbox_of(a.tenant)
    assert item["channel"] == {"id": str(channel.pk), "provider": "sandbox", "address": ""}
    assert (item["status"], item["assignee"], item["message_count"]) == ("open", None, 4)


def test_the_list_filters(api, a, b):
    contact = make_contact(a.tenant)
    mine = make_conversation(a.tenant, contact, assignee=a.agent, unread_count=2)
    admins = make_conversation(a.tenant, assignee=a.admin, status="pending")
    nobodys = make_conversation(a.tenant, status="resolved", channel_id=None, provider="twilio")
    theirs = make_conversation(b.tenant, assignee=b.agent, unread_count=1)
    client = api(a.agent)

    assert listed(client, contact_id=contact.pk) == [str(mine.pk)]
    assert listed(client, contact_id=theirs.contact_id) == []
    assert listed(client, status="active") == listed(client, status="open") == [str(mine.pk)]
    assert listed(client, status="pending") == [str(admins.pk)]
    assert listed(client, assignee="me") == [str(mine.pk)]
    assert listed(client, assignee="unassigned") == [str(nobodys.pk)]
    assert listed(client, assignee=a.admin.pk) == [str(admins.pk)]
    assert listed(client, assignee=b.agent.pk) == []
    assert listed(client, unread="true") == [str(mine.pk)]
    assert set(listed(client, unread="false")) == {str(admins.pk), str(nobodys.pk)}
    assert listed(client, channel="twilio") == [str(nobodys.pk)]
    assert set(listed(client, channel=sandbox_of(a.tenant).pk)) == {str(mine.pk), str(admins.pk)}
    assert listed(client, channel=sandbox_of(b.tenant).pk) == []
    for bad in ({"status": "closed"}, {"assignee": "bob"}, {"channel": "pigeon"}):
        assert_field_errors(client.get(CONVERSATIONS, bad), *bad)


def test_search_finds_message_texts_and_contacts(api, a, b):
    rice = written_to(a.tenant, new_phone(), "Nataka kuagiza mchele kilo 5")
    baraka = make_contact(a.tenant, name="Baraka Mussa")
    greeting = written_to(a.tenant, baraka.phone_e164, "Habari za asubuhi")
    written_to(b.tenant, new_phone(), "Nataka mchele pia")
    client = api(a.agent)

    assert listed(client, search="MCHELE") == [str(rice.pk)]
    assert listed(client, search="barak") == [str(greeting.pk)]
    assert listed(client, search=baraka.phone_e164[-6:]) == [str(greeting.pk)]
    assert listed(client, search="50%") == []  # LIKE wildcards are plain characters
    assert listed(client, search="asubuhi", status="resolved") == []


def test_the_search_reads_the_trigram_indexes(a):
    conversation = written_to(a.tenant, new_phone(), "Nataka kuagiza mchele")
    with tenant_context(a.tenant), connection.cursor() as cursor:
        # Enough other messages, and fresh statistics, for the planner to choose as it would
        # on a real inbox: the partial trigram index rather than reading every message.
        cursor.execute(
            "INSERT INTO messaging_message (id, conversation_id, contact_id, direction, "
            "channel, status, recipient, sender, text, encoding, segments, credits, provider, "
            "provider_message_id, error_code, error_message, attempts, created_at, updated_at) "
            "SELECT gen_random_uuid(), %s, %s, 'inbound', 'sms', 'received', '', '', "
            "'Habari ya leo ' || n, 'GSM-7', 1, 0, '', '', '', '', 0, now(), now() "
            "FROM generate_series(1, 5000) AS n",
            [conversation.pk, conversation.contact_id],
        )
        # As autovacuum leaves a real index: its new entries merged out of the pending list.
        cursor.execute("SELECT gin_clean_pending_list('message_conversation_text'::regclass)")
        cursor.execute("ANALYZE messaging_message")
        found = selectors.conversation_list(user_id=a.agent.pk, search="kuagiza")
        plan = found.explain()
        assert [c.pk for c in found] == [conversation.pk]
        # A handful of contacts are read whole; the contact side can use its index too.
        cursor.execute("SET LOCAL enable_seqscan = off")
        forced = found.explain()
    assert "Bitmap Index Scan on message_conversation_text" in plan, plan
    assert "Bitmap Index Scan on contact_search_trgm" in forced, forced


def test_a_common_word_walks_the_newest_conversations_and_counts_to_the_limit(api, a, monkeypatch):
    monkeypatch.setattr(selectors, "SEARCH_COMMON_MATCHES", 2)  # (20 of the newest 200)
    monkeypatch.setattr(selectors, "SEARCH_COUNT_LIMIT", 3)  # (1,000)
    rice = written_to(a.tenant, new_phone(), "Nataka mchele")
    greetings = [written_to(a.tenant, new_phone(), f"Habari {n}") for n in range(4)]
    baraka = make_contact(a.tenant, name="Habari Baraka")  # a contact named so matches too
    named = make_conversation(a.tenant, baraka, last_message_at=timezone.now())
    client = api(a.agent)
    with tenant_context(a.tenant):
        sql = str(selectors.conversation_list(user_id=a.agent.pk, search="habari").query)
    assert "strpos" in sql and "UNION" not in sql  # walked newest first, no matches read first

    data = ok_data(client.get(CONVERSATIONS, {"search": "HABARI", "page_size": 10}))

    newest_first = [str(named.pk), *(str(c.pk) for c in reversed(greetings))]
    assert [c["id"] for c in data["results"]] == newest_first[:3]  # the pages stop at the count
    assert data["count"] == 3
    assert listed(client, search="habari 2") == [str(greetings[2].pk)]  # a rare term
    assert listed(client, search="mchele") == [str(rice.pk)]


def test_the_list_costs_the_same_queries_for_any_page(api, a):
    client = api(a.agent)

    def queries(params: dict) -> int:
        with CaptureQueriesContext(connection) as captured:
            ok_data(client.get(CONVERSATIONS, params))
        return len(captured)

    make_conversation(a.tenant, assignee=a.agent)
    few = queries({}), queries({"search": "habari", "assignee": "me"})
    for _ in range(6):
        make_conversation(a.tenant, assignee=a.admin, last_message_at=timezone.now())
        written_to(a.tenant, new_phone(), "Habari")
    many = queries({}), queries({"search": "habari", "assignee": "me"})
    assert few == many
    assert max(many) <= 6  # the request's user and membership, then a count and the page


# --- Opening one


def test_opening_a_conversation_on_the_default_channel_and_again(api, a, b):
    contact = make_contact(a.tenant)
    client = api(a.agent)
    channel = sandbox_of(a.tenant)

    made = ok_data(client.post(CONVERSATIONS, {"contact_id": str(contact.pk)}), 201)
    again = ok_data(client.post(CONVERSATIONS, {"contact_id": str(contact.pk)}), 200)

    assert made["id"] == again["id"]
    assert made["channel"] == {
        "id": str(channel.pk),
        "provider": "sandbox",
        "address": channel.addresses.get().address,
    }
    assert (made["status"], made["messages"], made["message_count"]) == ("open", [], 0)
    foreign = make_contact(b.tenant)
    assert_error(client.post(CONVERSATIONS, {"contact_id": str(foreign.pk)}), 404, "NOT_FOUND")
    body = {"contact_id": str(contact.pk), "channel": str(sandbox_of(b.tenant).pk)}
    assert_error(client.post(CONVERSATIONS, body), 404, "NOT_FOUND")
    with tenant_context(b.tenant):
        assert not Conversation.objects.exists()


def test_opening_with_text_sends_it_from_our_number(api, a, on_commit):
    fund(a.tenant, 5)
    contact = make_contact(a.tenant)
    body = {"contact_id": str(contact.pk), "text": "Karibu!", "subject": "Order"}

    with on_commit():
        data = ok_data(api(a.agent).post(CONVERSATIONS, body, format="json"), 201)

    (message,) = data["messages"]
    assert (message["direction"], message["text"], message["conversation"]) == (
        "outbound",
        "Karibu!",
        data["id"],
    )
    assert (data["subject"], data["message_count"], data["first_reply_at"]) == ("Order", 1, None)
    with tenant_context(a.tenant):
        sent = Message.objects.get()
    assert (sent.status, sent.sender) == ("delivered", sandbox_of(a.tenant).addresses.get().address)
    assert balance_of(a.tenant) == 4


def test_opening_reopens_the_resolved_one(api, a):
    resolved = make_conversation(a.tenant, status="resolved", closed_at=timezone.now())

    data = ok_data(api(a.agent).post(CONVERSATIONS, {"contact_id": str(resolved.contact_id)}))

    assert (data["id"], data["status"], data["closed_at"]) == (str(resolved.pk), "open", None)


# --- One conversation


def test_a_conversation_shows_its_latest_messages_oldest_first(api, a, b, settings):
    phone = new_phone()
    conversation = written_to(a.tenant, phone, "Kwanza")
    for text in ("Pili", "Tatu"):
        written_to(a.tenant, phone, text)

    data = ok_data(api(a.agent).get(url(conversation.pk)))

    assert [m["text"] for m in data["messages"]] == ["Kwanza", "Pili", "Tatu"]
    assert all(m["conversation"] == str(conversation.pk) for m in data["messages"])
    assert (data["message_count"], data["unread_count"]) == (3, 3)
    foreign = make_conversation(b.tenant)
    for path in (url(foreign.pk), url(uuid.uuid4())):
        assert_error(api(a.agent).get(path), 404, "NOT_FOUND")
        assert_error(api(a.agent).put(path, {"status": "resolved"}), 404, "NOT_FOUND")
        assert_error(api(a.agent).post(url(foreign.pk, "read")), 404, "NOT_FOUND")


def test_reading_clears_the_unread_count(api, a):
    phone = new_phone()
    conversation = written_to(a.tenant, phone)
    written_to(a.tenant, phone)

    data = ok_data(api(a.agent).post(url(conversation.pk, "read")))

    assert data["unread_count"] == 0
    with tenant_context(a.tenant):
        conversation.refresh_from_db()
    assert (conversation.unread_count, conversation.message_count) == (0, 2)


def test_status_moves_follow_the_conversation_docstring(api, a):
    conversation = make_conversation(a.tenant)
    client = api(a.agent)

    def put(**body):
        return client.put(url(conversation.pk), body, format="json")

    resolved = ok_data(put(status="resolved"))
    assert resolved["status"] == "resolved"
    assert resolved["closed_at"]
    refused = assert_error(put(status="pending"), 409, "INVALID_STATUS")
    assert refused["details"] == {"current_status": "resolved", "allowed_statuses": ["open"]}
    reopened = ok_data(put(status="active"))
    assert (reopened["status"], reopened["closed_at"]) == ("open", None)
    assert_field_errors(put(status="snoozed"), "snoozed_until")
    past = timezone.now() - dt.timedelta(minutes=1)
    assert_field_errors(put(status="snoozed", snoozed_until=past.isoformat()), "snoozed_until")
    later = timezone.now() + dt.timedelta(hours=2)
    snoozed = ok_data(put(status="snoozed", snoozed_until=later.isoformat()))
    assert (snoozed["status"], snoozed["snoozed_until"] is not None) == ("snoozed", True)
    assert_error(put(status="resolved"), 409, "INVALID_STATUS")
    assert ok_data(put(status="open", subject="Delivery"))["snoozed_until"] is None
    assert ok_data(put(status="pending"))["subject"] == "Delivery"
    assert_field_errors(put(status="closed"), "status")


def test_reopening_beside_an_open_one_is_a_conflict(api, a):
    open_one = make_conversation(a.tenant)
    resolved = make_conversation(a.tenant, open_one.contact, status="resolved")

    body = assert_error(
        api(a.agent).put(url(resolved.pk), {"status": "open"}, format="json"), 409, "CONFLICT"
    )

    assert body["details"] == {"conversation_id": str(open_one.pk)}


def test_agents_assign_themselves_and_managers_anyone(api, a, b):
    conversation = make_conversation(a.tenant)
    agent, admin = api(a.agent), api(a.admin)

    def assign(client, user_id):
        return client.put(url(conversation.pk), {"assignee": user_id}, format="json")

    taken = ok_data(assign(agent, a.agent.pk))
    assert taken["assignee"] == {
        "id": a.agent.pk,
        "email": a.agent.email,
        "name": a.agent.full_name,
    }
    assert ok_data(api(a.agent).get(CONVERSATIONS, {"assignee": "me"}))["count"] == 1
    assert ok_data(assign(agent, None))["assignee"] is None  # gives it back
    assert_error(assign(agent, a.admin.pk), 403, "PERMISSION_DENIED")
    assert ok_data(assign(admin, a.owner.pk))["assignee"]["id"] == a.owner.pk
    assert_error(assign(agent, None), 403, "PERMISSION_DENIED")  # the owner's, not the agent's
    assert_field_errors(assign(admin, b.agent.pk), "assignee")  # no member of this tenant
    assert ok_data(assign(admin, None))["assignee"] is None
    assert ok_data(agent.put(url(conversation.pk), {"status": "resolved"}))["status"] == "resolved"


def test_snoozed_conversations_wake_when_their_time_comes(a, b):
    past, future = timezone.now() - dt.timedelta(minutes=1), timezone.now() + dt.timedelta(hours=1)
    due = make_conversation(a.tenant, status="snoozed", snoozed_until=past)
    later = make_conversation(a.tenant, status="snoozed", snoozed_until=future)
    other_due = make_conversation(b.tenant, status="snoozed", snoozed_until=past)

    tasks.conversations_wake_all()

    for tenant, conversation, expected in (
        (a.tenant, due, "open"),
        (a.tenant, later, "snoozed"),
        (b.tenant, other_due, "open"),
    ):
        with tenant_context(tenant):
            conversation.refresh_from_db()
        assert conversation.status == expected
    assert due.snoozed_until is None
    entry = django_settings.CELERY_BEAT_SCHEDULE["messaging-conversations-wake"]
    assert entry["task"] == "messaging.tasks.conversations_wake_all"


# --- Replying: POST /api/messaging/messages/


def test_a_reply_goes_through_the_outbox_into_its_conversation(api, a, b, on_commit):
    fund(a.tenant, 10)
    phone = new_phone()
    conversation = written_to(a.tenant, phone, "Bei gani?")

    data = ok_data(
        reply(api, a.agent, on_commit, conversation_id=str(conversation.pk), text="Elfu mbili"),
        201,
    )

    assert (data["conversation"], data["direction"], data["status"]) == (
        str(conversation.pk),
        "outbound",
        "queued",
    )
    assert (data["recipient"], data["credits"], data["cost_micro"]) == (phone, 1, 25_000_000)
    address = sandbox_of(a.tenant).addresses.get().address
    client = api(a.agent)
    listing = ok_data(client.get(MESSAGES, {"conversation_id": str(conversation.pk)}))["results"]
    assert [(m["direction"], m["text"]) for m in listing] == [
        ("outbound", "Elfu mbili"),
        ("inbound", "Bei gani?"),
    ]
    sent, received = listing
    assert (sent["status"], sent["sender"], sent["provider"]) == ("delivered", address, "sandbox")
    assert (received["cost_micro"], received["status"]) == (0, "received")
    outbound = {"conversation_id": str(conversation.pk), "direction": "out"}
    assert [m["id"] for m in ok_data(client.get(MESSAGES, outbound))["results"]] == [sent["id"]]
    with tenant_context(a.tenant):
        conversation.refresh_from_db()
    assert (conversation.message_count, conversation.unread_count) == (2, 1)
    assert conversation.first_reply_at == conversation.last_message_at
    assert conversation.first_reply_at > conversation.last_inbound_at
    assert balance_of(a.tenant) == 9
    foreign = written_to(b.tenant, new_phone())
    response = reply(api, a.agent, on_commit, conversation_id=str(foreign.pk), text="Hi")
    assert_error(response, 404, "NOT_FOUND")
    assert ok_data(api(b.owner).get(MESSAGES))["count"] == 1  # B's own inbound only


def test_a_reply_to_a_contact_finds_or_opens_its_conversation(api, a, b, on_commit):
    fund(a.tenant, 10)
    fresh = make_contact(a.tenant)
    talking = make_contact(a.tenant)
    elsewhere = make_conversation(a.tenant, talking, channel_id=None, provider="sandbox")

    opened = ok_data(reply(api, a.agent, on_commit, contact_id=str(fresh.pk), text="Hi"), 201)
    joined = ok_data(reply(api, a.agent, on_commit, contact_id=str(talking.pk), text="Yes"), 201)

    with tenant_context(a.tenant):
        new = Conversation.objects.get(contact=fresh)
    assert new.channel_id == sandbox_of(a.tenant).pk
    assert (new.message_count, new.first_reply_at) == (1, None)  # nobody wrote: no reply yet
    assert opened["conversation"] == str(new.pk)
    assert joined["conversation"] == str(elsewhere.pk)
    foreign = make_contact(b.tenant)
    response = reply(api, a.agent, on_commit, contact_id=str(foreign.pk), text="Hi")
    assert_error(response, 404, "NOT_FOUND")


def test_a_reply_needs_one_target_and_something_to_say(api, a, on_commit):
    fund(a.tenant, 10)
    conversation = make_conversation(a.tenant)
    both = {"conversation_id": str(conversation.pk), "contact_id": str(conversation.contact_id)}

    assert_field_errors(reply(api, a.agent, on_commit, **both, text="Hi"), "conversation_id")
    assert_field_errors(reply(api, a.agent, on_commit, text="Hi"), "conversation_id")
    response = reply(api, a.agent, on_commit, conversation_id=str(conversation.pk), text=" ")
    assert_error(response, 400, "MISSING_MESSAGE")
    response = reply(
        api, a.agent, on_commit, conversation_id=str(conversation.pk), text="Hi", provider="beem"
    )
    assert_field_errors(response, "provider")
    with tenant_context(a.tenant):
        assert not Message.objects.exists()


def test_a_reply_without_credits_is_402_and_opens_nothing(api, a, on_commit):
    contact = make_contact(a.tenant)

    response = reply(api, a.agent, on_commit, contact_id=str(contact.pk), text="Hi")

    assert_error(response, 402, "INSUFFICIENT_BALANCE")
    with tenant_context(a.tenant):
        assert not Conversation.objects.exists()
        assert not Message.objects.exists()


def test_a_reply_with_a_template_is_filled_from_the_contact(api, a, on_commit):
    fund(a.tenant, 10)
    contact = make_contact(a.tenant, name="Neema Said")
    conversation = make_conversation(a.tenant, contact)
    template = make_template(a.tenant, content="Asante {{first_name}}!")
    body = {"conversation_id": str(conversation.pk), "template_id": str(template.pk)}

    data = ok_data(reply(api, a.agent, on_commit, **body), 201)

    assert data["text"] == "Asante Neema!"


def test_a_reply_is_made_once_per_idempotency_key(api, a, on_commit):
    fund(a.tenant, 10)
    conversation = make_conversation(a.tenant)
    client = api(a.agent, HTTP_IDEMPOTENCY_KEY="reply-1")
    body = {"conversation_id": str(conversation.pk), "text": "Mara moja"}

    with on_commit():
        first = ok_data(client.post(MESSAGES, body, format="json"), 201)
    with on_commit():
        again = client.post(MESSAGES, body, format="json")

    assert again["Idempotent-Replayed"] == "true"
    assert again.json()["data"]["id"] == first["id"]
    with tenant_context(a.tenant):
        assert Message.objects.count() == 1


@pytest.mark.parametrize("text", ["STOP", " stop. "])
def test_habari_reply_stop_start(api, a, on_commit, text):
    """The issue's walk-through: a new number writes, an agent replies and it is delivered;
    STOP opts the contact out and a reply is refused; start opts them back in."""
    fund(a.tenant, 10)
    phone = new_phone()
    with on_commit():
        conversation = written_to(a.tenant, phone, "Habari")
    body = {"conversation_id": str(conversation.pk), "text": "Karibu, tukusaidie nini?"}

    assert ok_data(reply(api, a.agent, on_commit, **body), 201)
    with on_commit():
        written_to(a.tenant, phone, text)
    refused = reply(api, a.agent, on_commit, **body)
    with on_commit():
        written_to(a.tenant, phone, "start")
    again = ok_data(reply(api, a.agent, on_commit, **body), 201)

    assert_error(refused, 400, "CONTACT_OPTED_OUT")
    with tenant_context(a.tenant):
        contact = Contact.objects.get(phone_e164=phone)
        statuses = list(
            Message.objects.filter(conversation=conversation, direction="outbound")
            .order_by("created_at")
            .values_list("text", "status")
        )
    assert contact.is_opted_in
    assert statuses[0] == ("Karibu, tukusaidie nini?", "delivered")
    assert statuses[-1] == ("Karibu, tukusaidie nini?", "delivered")
    assert again["conversation"] == str(conversation.pk)
    assert len(statuses) == 4  # two replies, and the STOP and START confirmations


def test_sending_is_rate_limited_and_reading_is_not(api, a, on_commit, settings):
    settings.RATE_LIMITS = {**settings.RATE_LIMITS, "sms_send": "1/min"}
    fund(a.tenant, 10)
    conversation = make_conversation(a.tenant)
    body = {"conversation_id": str(conversation.pk), "text": "Hi"}

    assert ok_data(reply(api, a.agent, on_commit, **body), 201)
    limited = reply(api, a.agent, on_commit, **body)

    assert_error(limited, 429, "RATE_LIMIT_EXCEEDED")
    assert limited["Retry-After"]
    for _ in range(3):
        assert ok_data(api(a.agent).get(MESSAGES))["count"] == 1
        assert ok_data(api(a.agent).get(CONVERSATIONS))["count"] == 1
