"""messaging.services.inbound: a batch of inbound messages becomes contacts, conversations and
received Messages in a fixed number of statements, once per provider message, and is
published as `message.received` (a customer webhook gets its text)."""

import dataclasses
import datetime as dt
import itertools
import uuid

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from django_tenants.utils import tenant_context

from integration.models import WebhookDelivery
from integration.services.webhooks import webhook_endpoint_create
from messaging.models import Contact, Conversation, Message
from messaging.services.inbound import Inbound, inbound_messages_receive
from mifumo import events
from sms.models import Channel
from tests.concurrency import at_once
from tests.conftest import committed
from tests.fakes.server import CallbackSink
from tests.messaging.helpers import make_contact, new_phone

_ids = itertools.count(1)


def sandbox_of(tenant) -> Channel:
    return Channel.objects.get(tenant=tenant, provider="sandbox", is_platform=True)


def inbound(tenant, sender: str, text: str = "Habari", **fields) -> Inbound:
    """A message from `sender` to the tenant's sandbox number."""
    channel = sandbox_of(tenant)
    return Inbound(
        **{
            "provider": "sandbox",
            "provider_message_id": f"SM{next(_ids):08d}",
            "sender": sender,
            "address": channel.addresses.get().address,
            "channel_id": channel.pk,
            "text": text,
            "segments": 1,
            "received_at": timezone.now(),
            **fields,
        }
    )


def receive(tenant, *messages: Inbound) -> list[uuid.UUID]:
    with tenant_context(tenant):
        return inbound_messages_receive(tenant=tenant, messages=list(messages))


def test_a_new_number_becomes_a_contact_in_an_open_conversation(a, b):
    phone = new_phone()
    sent = inbound(a.tenant, phone, "Habari, bei gani?")
    channel = sandbox_of(a.tenant)

    (message_id,) = receive(a.tenant, sent)

    with tenant_context(a.tenant):
        contact = Contact.objects.get(phone_e164=phone)
        assert (contact.deleted_at, contact.is_opted_in, contact.opt_out_at) == (None, False, None)
        conversation = Conversation.objects.get(contact=contact)
        message = Message.objects.get(pk=message_id)
    assert (conversation.status, conversation.channel_id) == ("open", channel.pk)
    assert (conversation.provider, conversation.address) == ("sandbox", sent.address)
    assert (conversation.message_count, conversation.unread_count) == (1, 1)
    assert conversation.last_message_at == conversation.last_inbound_at == sent.received_at
    assert conversation.first_reply_at is None
    assert (message.direction, message.status, message.channel) == ("inbound", "received", "sms")
    assert (message.sender, message.recipient) == (phone, sent.address)
    assert (message.contact_id, message.conversation_id) == (contact.pk, conversation.pk)
    assert (message.provider, message.provider_message_id) == ("sandbox", sent.provider_message_id)
    assert (message.text, message.received_at, message.credits) == (sent.text, sent.received_at, 0)
    assert (message.encoding, message.segments, message.send_request_id) == ("GSM-7", 1, None)
    with tenant_context(b.tenant):
        assert not Contact.objects.filter(phone_e164=phone).exists()
        assert not Message.objects.exists()


def test_encoding_and_segments_are_counted_from_the_text(a):
    (message_id,) = receive(a.tenant, inbound(a.tenant, new_phone(), "Asante sana 🙏" * 6))
    with tenant_context(a.tenant):
        message = Message.objects.get(pk=message_id)
    assert (message.encoding, message.segments) == ("UCS-2", 2)


def test_messages_of_one_contact_append_to_its_conversation(a):
    contact = make_contact(a.tenant, name="Asha")
    first, second = (inbound(a.tenant, contact.phone_e164, text) for text in ("Habari", "Uko?"))
    receive(a.tenant, first)
    receive(a.tenant, second)
    third = inbound(a.tenant, contact.phone_e164, "Niko hapa")

    receive(a.tenant, third)

    with tenant_context(a.tenant):
        conversation = Conversation.objects.get()
        assert Contact.objects.count() == 1
        assert Message.objects.filter(conversation=conversation).count() == 3
    assert conversation.contact_id == contact.pk
    assert (conversation.message_count, conversation.unread_count) == (3, 3)
    assert conversation.last_inbound_at == third.received_at


def test_a_redelivered_or_repeated_provider_message_is_stored_once(a):
    phone = new_phone()
    once = inbound(a.tenant, phone)
    other = inbound(a.tenant, phone, "Pili")
    elsewhere = dataclasses.replace(once, provider="twilio", text="Twilio's")

    made = receive(a.tenant, once, once, other, elsewhere)
    again = receive(a.tenant, once, other)

    assert len(made) == 3  # the same id at another provider is another message
    assert again == []
    with tenant_context(a.tenant):
        assert Message.objects.count() == 3
        conversation = Conversation.objects.get()
    assert (conversation.message_count, conversation.unread_count) == (3, 3)


def test_a_deleted_contact_comes_back(a):
    contact = make_contact(a.tenant, name="Juma", deleted_at=timezone.now())

    receive(a.tenant, inbound(a.tenant, contact.phone_e164))

    with tenant_context(a.tenant):
        contact.refresh_from_db()
        assert contact.deleted_at is None
        assert contact.name == "Juma"
        assert Contact.objects.count() == 1


@pytest.mark.parametrize("status", ["pending", "snoozed"])
def test_a_pending_or_snoozed_conversation_opens_again(a, status):
    contact = make_contact(a.tenant)
    receive(a.tenant, inbound(a.tenant, contact.phone_e164))
    with tenant_context(a.tenant):
        Conversation.objects.update(
            status=status, snoozed_until=timezone.now() + dt.timedelta(hours=1)
        )

    receive(a.tenant, inbound(a.tenant, contact.phone_e164, "Bado"))

    with tenant_context(a.tenant):
        conversation = Conversation.objects.get()
    assert (conversation.status, conversation.snoozed_until) == ("open", None)
    assert conversation.message_count == 2


def test_the_latest_resolved_conversation_reopens(a):
    contact = make_contact(a.tenant)
    channel_id = sandbox_of(a.tenant).pk
    long_ago = timezone.now() - dt.timedelta(days=30)
    with tenant_context(a.tenant):
        older, latest = (
            Conversation.objects.create(
                contact=contact,
                channel_id=channel_id,
                provider="sandbox",
                status="resolved",
                closed_at=long_ago,
                last_message_at=long_ago + dt.timedelta(days=days),
            )
            for days in (1, 2)
        )

    receive(a.tenant, inbound(a.tenant, contact.phone_e164))

    with tenant_context(a.tenant):
        latest.refresh_from_db()
        older.refresh_from_db()
        assert Conversation.objects.count() == 2
    assert (latest.status, latest.closed_at, latest.unread_count) == ("open", None, 1)
    assert older.status == "resolved"


def test_each_channel_has_its_own_conversation_and_no_channel_is_one_too(a):
    contact = make_contact(a.tenant)
    to_sandbox = inbound(a.tenant, contact.phone_e164)
    to_platform = inbound(a.tenant, contact.phone_e164, channel_id=None, address="+255700999999")

    receive(a.tenant, to_sandbox, to_platform)
    receive(a.tenant, inbound(a.tenant, contact.phone_e164, channel_id=None, address="Mifumo"))

    with tenant_context(a.tenant):
        conversations = {c.channel_id: c for c in Conversation.objects.all()}
    assert set(conversations) == {sandbox_of(a.tenant).pk, None}
    assert conversations[None].address == "+255700999999"  # the first message's
    assert conversations[None].message_count == 2


def statements_of(queries) -> list[str]:
    """The statements that did work: without the savepoints."""
    skipped = ("SAVEPOINT", "RELEASE SAVEPOINT")
    return [q["sql"] for q in queries if not q["sql"].lstrip().startswith(skipped)]


def test_a_batch_costs_the_same_statements_whatever_its_size(a):
    receive(a.tenant, inbound(a.tenant, new_phone()))  # the keyword settings exist from here

    def statements(phones: list[str]) -> int:
        batch = [inbound(a.tenant, phone, f"Habari {n}") for n, phone in enumerate(phones)]
        with CaptureQueriesContext(connection) as queries:
            assert len(receive(a.tenant, *batch)) == len(phones)
        return len(statements_of(queries))

    few, many = [new_phone() for _ in range(3)], [new_phone() for _ in range(150)]
    # New numbers: contacts and conversations are made (a second read finds the new ones).
    assert statements(few) == statements(many) == 9
    # Known numbers: their open conversations are found at once.
    assert statements(few) == statements(many) == 6


def test_keywords_are_applied_to_the_batch(a):
    phone = new_phone()

    receive(a.tenant, inbound(a.tenant, phone, "Stop!"))

    with tenant_context(a.tenant):
        contact = Contact.objects.get(phone_e164=phone)
        confirmation = Message.objects.get(direction="outbound")
    assert (contact.is_opted_in, contact.opt_out_reason) == (False, "keyword STOP")
    assert contact.opt_out_at is not None
    assert confirmation.recipient == phone


def test_message_received_is_published_with_the_new_ids(a, monkeypatch, on_commit):
    seen = []
    monkeypatch.setitem(events._subscribers, "message.received", [seen.append])
    first = inbound(a.tenant, new_phone())

    with on_commit():
        made = receive(a.tenant, first, inbound(a.tenant, new_phone()))
    with on_commit():
        receive(a.tenant, first)  # nothing new: nothing published

    (event,) = seen
    assert event.payload == {"message_ids": [str(pk) for pk in made]}
    assert event.schema_name == a.tenant.schema_name


def test_a_customer_webhook_gets_what_the_contact_wrote(a, settings, on_commit):
    settings.WEBHOOKS_ALLOW_PRIVATE_TARGETS = True
    phone = new_phone()
    with CallbackSink() as sink:
        webhook_endpoint_create(tenant=a.tenant, url=sink.url, events=["message.received"])
        with on_commit():
            (message_id,) = receive(a.tenant, inbound(a.tenant, phone, "Nataka kuagiza"))

        (request,) = sink.requests
    with tenant_context(a.tenant):
        conversation = Conversation.objects.get()
    body = request.json()
    assert body["type"] == "message.received"
    data = body["data"]
    assert data["recipient_message_id"] == data["message_id"] == str(message_id)
    assert (data["status"], data["from"], data["text"]) == ("received", phone, "Nataka kuagiza")
    assert data["conversation_id"] == str(conversation.pk)
    assert data["recipient"] == sandbox_of(a.tenant).addresses.get().address
    assert data["occurred_at"]
    assert WebhookDelivery.objects.filter(tenant=a.tenant, event_type="message.received").count()


@committed
def test_concurrent_batches_from_one_new_number_make_one_contact_and_conversation(
    committed_tenant,
):
    tenant = committed_tenant.tenant
    phone = new_phone()

    def deliver(n: int) -> list[uuid.UUID]:
        message = Inbound(
            provider="sandbox",
            provider_message_id=f"race-{n}",
            sender=phone,
            address="+255700000001",
            channel_id=None,
            text=f"Habari {n}",
            segments=1,
            received_at=timezone.now(),
        )
        return receive(tenant, message)

    made = at_once(deliver, 6)

    assert all(len(ids) == 1 for ids in made)
    with tenant_context(tenant):
        assert Contact.objects.filter(phone_e164=phone).count() == 1
        (conversation,) = Conversation.objects.all()
        assert Message.objects.filter(conversation=conversation).count() == 6
    assert (conversation.message_count, conversation.unread_count) == (6, 6)
