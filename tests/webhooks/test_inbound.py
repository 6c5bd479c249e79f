"""Inbound messages: Twilio's signed form posts to /webhooks/twilio/inbound/ and the sandbox's
(`manage.py sandbox_inbound`, /webhooks/sandbox/inbound/), stored once per provider message
id, routed to their tenant by the address written to, and applied per tenant: a contact and a
conversation in the right tenant, nothing in another."""

import io
import uuid

import pytest
from django.core.management import CommandError, call_command
from django.db import connection, connections, transaction
from django.test.utils import CaptureQueriesContext
from django_redis import get_redis_connection
from django_tenants.utils import tenant_context
from twilio.request_validator import RequestValidator

from messaging.models import Contact, Conversation, Message
from sms import channels
from sms.models import Channel
from tests.concurrency import at_once
from tests.conftest import committed
from tests.envelope import assert_error, assert_field_errors, ok_data
from tests.fakes.twilio import FakeTwilio
from tests.messaging.helpers import new_phone
from webhooks import inbound
from webhooks.inbound import inbound_process, inbound_store
from webhooks.models import InboundMessage

PLATFORM_TOKEN = "platform-twilio-token"
OWN_SID = "AC7e1d5c3b9a0f2e4d6c8b0a9f7e5d3c21"
OWN_TOKEN = "own-twilio-token-4b8d2f6a"
PUBLIC = "https://api.mifumo.test"
TWILIO_URL = "/webhooks/twilio/inbound/"
SANDBOX_URL = "/webhooks/sandbox/inbound/"
PLATFORM_NUMBER = "+15005550100"
OWN_NUMBER = "+15005550177"
TWIML = b'<?xml version="1.0" encoding="UTF-8"?><Response/>'
State = InboundMessage.State


@pytest.fixture(autouse=True)
def inbound_settings(settings, monkeypatch):
    settings.TWILIO_AUTH_TOKEN = PLATFORM_TOKEN
    settings.PUBLIC_BASE_URL = PUBLIC
    # No run or account remembered from another test.
    monkeypatch.setattr(inbound, "_covered_until", 0.0)
    monkeypatch.setattr(inbound, "_verified_accounts", {})


@pytest.fixture
def twilio(settings):
    """The fake Twilio API, which checks a tenant's own credentials when its channel is made."""
    with FakeTwilio(account_sid=OWN_SID, auth_token=OWN_TOKEN) as fake:
        settings.TWILIO_API_BASE_URL = fake.url
        settings.TWILIO_TIMEOUT_SECONDS = 2
        yield fake


def platform_number(tenant, number=PLATFORM_NUMBER):
    return channels.channel_address_assign(tenant=tenant, provider="twilio", address=number)


def own_channel(tenant, number=OWN_NUMBER) -> Channel:
    return channels.channel_create(
        tenant=tenant,
        provider="twilio",
        credentials={"account_sid": OWN_SID, "auth_token": OWN_TOKEN},
        addresses=[number],
    )


def twilio_form(*, to=PLATFORM_NUMBER, sender=None, body="Habari", sid=None) -> dict:
    return {
        "MessageSid": sid or "SM" + uuid.uuid4().hex,
        "AccountSid": "AC" + "0" * 32,
        "From": sender or new_phone(),
        "To": to,
        "Body": body,
        "NumSegments": "1",
        "NumMedia": "0",
    }


def sign(params: dict, token=PLATFORM_TOKEN, url=PUBLIC + TWILIO_URL) -> str:
    return RequestValidator(token).compute_signature(url, params)


def post_twilio(api, on_commit, params, *, signature=None, token=PLATFORM_TOKEN, **headers):
    """Post as Twilio would (signed with `token` unless a `signature` is given), then apply
    what is pending, as the task started by the first store of a moment does."""
    if signature is None:
        signature = sign(params, token)
    with on_commit():
        response = api().post(TWILIO_URL, params, HTTP_X_TWILIO_SIGNATURE=signature, **headers)
    inbound_process()
    return response


def assert_twiml(response) -> None:
    assert response.status_code == 200, response.content
    assert response["Content-Type"] == "text/xml"
    assert response.content == TWIML


def messages_in(tenant):
    with tenant_context(tenant):
        return list(Message.objects.filter(direction="inbound").select_related("conversation"))


def sandbox_number(tenant) -> str:
    return channels.channel_sandbox_ensure(tenant=tenant).addresses.get().address


# --- Twilio


def test_a_signed_message_to_a_platform_number_lands_in_its_tenant(api, a, b, on_commit):
    address = platform_number(a.tenant)
    params = twilio_form(body="Habari, nina swali")

    assert_twiml(post_twilio(api, on_commit, params))

    row = InboundMessage.objects.get()
    assert (row.state, row.schema_name, row.provider) == ("applied", a.tenant.schema_name, "twilio")
    assert (row.sender, row.recipient, row.provider_message_id) == (
        params["From"],
        PLATFORM_NUMBER,
        params["MessageSid"],
    )
    assert row.payload["Body"] == "Habari, nina swali"
    (message,) = messages_in(a.tenant)
    assert (message.text, message.provider_message_id) == (
        "Habari, nina swali",
        row.provider_message_id,
    )
    with tenant_context(a.tenant):
        contact = Contact.objects.get(phone_e164=params["From"])  # a new number: a new contact
        conversation = Conversation.objects.get(contact=contact)
    assert conversation.channel_id == address.channel_id
    assert message.conversation_id == conversation.pk
    # The other tenant saw nothing of it.
    assert messages_in(b.tenant) == []
    with tenant_context(b.tenant):
        assert not Contact.objects.filter(phone_e164=params["From"]).exists()


def test_a_tenant_own_twilio_number_is_verified_with_its_own_token(api, a, b, on_commit, twilio):
    channel = own_channel(b.tenant)
    params = twilio_form(to=OWN_NUMBER)

    # The platform's token does not sign for a tenant's own account.
    assert_error(post_twilio(api, on_commit, params), 403, "INVALID_SIGNATURE")
    assert not InboundMessage.objects.exists()

    assert_twiml(post_twilio(api, on_commit, params, token=OWN_TOKEN))

    assert InboundMessage.objects.get().state == "applied"
    (message,) = messages_in(b.tenant)
    assert message.conversation.channel_id == channel.pk
    assert messages_in(a.tenant) == []


@pytest.mark.parametrize("forgery", ["unsigned", "tampered", "wrong token", "other url"])
def test_an_unsigned_or_tampered_message_is_403_and_stores_nothing(api, a, on_commit, forgery):
    platform_number(a.tenant)
    params = twilio_form()
    signature = {
        "unsigned": "",
        "tampered": sign(params),
        "wrong token": sign(params, "not-the-token"),
        "other url": sign(params, url=PUBLIC + "/webhooks/twilio/status/"),
    }[forgery]
    if forgery == "tampered":
        params = {**params, "Body": "Send me the code"}

    response = post_twilio(api, on_commit, params, signature=signature)

    assert_error(response, 403, "INVALID_SIGNATURE")
    assert not InboundMessage.objects.exists()
    assert messages_in(a.tenant) == []


def test_behind_a_proxy_that_ended_tls_the_https_url_is_the_one_signed(api, a, on_commit, settings):
    settings.PUBLIC_BASE_URL = "http://api.mifumo.test"
    platform_number(a.tenant)
    params = twilio_form()
    signature = sign(params, url=PUBLIC + TWILIO_URL)  # Twilio posted to the https address

    assert_error(post_twilio(api, on_commit, params, signature=signature), 403, "INVALID_SIGNATURE")
    response = post_twilio(
        api, on_commit, params, signature=signature, HTTP_X_FORWARDED_PROTO="https"
    )

    assert_twiml(response)
    assert len(messages_in(a.tenant)) == 1


def test_the_same_message_delivered_twice_is_one_message(api, a, on_commit):
    platform_number(a.tenant)
    params = twilio_form()

    assert_twiml(post_twilio(api, on_commit, params))
    assert_twiml(post_twilio(api, on_commit, params))

    assert InboundMessage.objects.count() == 1
    assert len(messages_in(a.tenant)) == 1


def test_a_message_to_an_address_no_channel_holds_is_kept_unmatched(api, a, b, on_commit):
    params = twilio_form(to="+15005550111")

    assert_twiml(post_twilio(api, on_commit, params))

    row = InboundMessage.objects.get()
    assert (row.state, row.schema_name) == ("unmatched", "")
    assert row.processed_at is not None
    assert messages_in(a.tenant) == messages_in(b.tenant) == []


def test_a_signed_form_without_its_fields_is_400_and_stores_nothing(api, a, on_commit):
    platform_number(a.tenant)
    params = twilio_form()
    del params["MessageSid"]

    assert_error(post_twilio(api, on_commit, params), 400, "MALFORMED_REQUEST")
    assert not InboundMessage.objects.exists()


def test_a_sender_that_is_no_phone_number_is_kept_failed(api, a, on_commit):
    platform_number(a.tenant)
    params = twilio_form(sender="whatsapp:nobody")

    assert_twiml(post_twilio(api, on_commit, params))

    row = InboundMessage.objects.get()
    assert (row.state, row.schema_name, row.sender) == (
        "failed",
        a.tenant.schema_name,
        "whatsapp:nobody",
    )
    assert "not a phone number" in row.error
    assert messages_in(a.tenant) == []


def test_what_postgres_cannot_store_is_replaced_not_refused(api, a, on_commit):
    platform_number(a.tenant)
    params = twilio_form(body="Habari\x00 yako")

    assert_twiml(post_twilio(api, on_commit, params))

    row = InboundMessage.objects.get()
    assert (row.text, row.payload["Body"], row.state) == ("Habari\ufffd yako",) * 2 + ("applied",)


def callback_statements(api, params) -> list[str]:
    with CaptureQueriesContext(connection) as captured:
        assert_twiml(api().post(TWILIO_URL, params, HTTP_X_TWILIO_SIGNATURE=sign(params)))
    return [q["sql"] for q in captured.captured_queries]


def test_a_callback_is_one_insert_once_its_number_account_is_known(api, a):
    platform_number(a.tenant)

    first = callback_statements(api, twilio_form())
    then = callback_statements(api, twilio_form())

    assert len(first) == 2  # the account of the number written to, then the row
    assert "sms_channeladdress" in first[0]
    assert first[1].startswith("EXECUTE webhooks_inboundmessage_store(")
    assert len(then) == 1 and then[0].startswith("EXECUTE webhooks_inboundmessage_store(")


def test_a_rotated_token_verifies_at_once(api, b, on_commit, twilio):
    channel = own_channel(b.tenant)
    assert_twiml(post_twilio(api, on_commit, twilio_form(to=OWN_NUMBER), token=OWN_TOKEN))
    twilio.auth_token = "rotated-twilio-token"  # the account's new token, as Twilio now signs
    channels.channel_update(channel=channel, credentials={"auth_token": "rotated-twilio-token"})

    response = post_twilio(api, on_commit, twilio_form(to=OWN_NUMBER), token="rotated-twilio-token")

    assert_twiml(response)
    assert len(messages_in(b.tenant)) == 2


def test_the_first_message_of_a_moment_starts_a_run(api, a, on_commit):
    platform_number(a.tenant)
    params = twilio_form()

    with on_commit():
        assert_twiml(api().post(TWILIO_URL, params, HTTP_X_TWILIO_SIGNATURE=sign(params)))

    assert InboundMessage.objects.get().state == "applied"  # eager tasks run at once
    assert 0 < get_redis_connection("default").pttl(inbound._KICK_KEY) <= 400


# --- Applying


def test_a_tenant_whose_messages_fail_holds_up_no_other(a, b):
    ours, theirs = sandbox_number(a.tenant), sandbox_number(b.tenant)
    for to in (ours, theirs, ours):  # a's rows first: its failure comes before b's work
        inbound.sandbox_inbound_deliver(sender=new_phone(), text="Habari", to=to)
    with connection.cursor() as cursor:  # a's schema breaks (rolled back with the test)
        cursor.execute(
            f'ALTER TABLE "{a.tenant.schema_name}".messaging_message RENAME TO broken_message'
        )

    counts = inbound_process()

    assert counts == {"applied": 1, "unmatched": 0, "failed": 2}
    failed = InboundMessage.objects.filter(state="failed")
    assert {row.recipient for row in failed} == {ours}
    assert all("messaging_message" in row.error for row in failed)
    assert InboundMessage.objects.get(state="applied").schema_name == b.tenant.schema_name
    assert len(messages_in(b.tenant)) == 1
    assert inbound_process() == {"applied": 0, "unmatched": 0, "failed": 0}  # none retried


def test_messages_are_routed_in_one_query_per_batch(a, b, django_assert_max_num_queries):
    for tenant in (a.tenant, b.tenant):
        to = sandbox_number(tenant)
        for _ in range(3):
            inbound.sandbox_inbound_deliver(sender=new_phone(), text="Habari", to=to)
    with django_assert_max_num_queries(1000) as captured:
        assert inbound_process()["applied"] == 6

    routing = [q for q in captured.captured_queries if "sms_channeladdress" in q["sql"]]
    assert len(routing) == 1


@committed
def test_concurrent_runs_apply_each_message_once(committed_tenant, monkeypatch):
    monkeypatch.setattr(inbound, "_covered_until", float("inf"))  # no run starts on its own
    tenant = committed_tenant.tenant
    to = sandbox_number(tenant)
    for n in range(40):
        inbound_store(
            provider="sandbox",
            provider_message_id=f"race-{tenant.schema_name}-{n}",
            sender=new_phone(),
            recipient=to,
            text=f"Habari {n}",
            segments=1,
            payload={},
        )
    rows = InboundMessage.objects.filter(recipient=to)
    try:
        # Each full batch starts the next run at once (here, inline): all four drain it.
        at_once(lambda n: inbound_process(limit=7), 4)

        assert set(rows.values_list("state", flat=True)) == {"applied"}
        with tenant_context(tenant):
            texts = list(Message.objects.filter(direction="inbound").values_list("text", flat=True))
        assert sorted(texts) == sorted(f"Habari {n}" for n in range(40))  # each once
    finally:
        rows.delete()


@committed
def test_messages_a_lock_held_up_stay_pending_for_the_next_run(committed_tenant, monkeypatch):
    monkeypatch.setattr(inbound, "_covered_until", float("inf"))  # no run starts on its own
    tenant = committed_tenant.tenant
    delivery = inbound.sandbox_inbound_deliver(
        sender=new_phone(), text="Habari", subdomain=tenant.subdomain
    )
    row = InboundMessage.objects.filter(provider_message_id=delivery.message_id)
    holder = connections.create_connection("default")  # another session holds the table
    try:
        with holder.cursor() as cursor:
            cursor.execute("BEGIN")
            cursor.execute(f'LOCK TABLE "{tenant.schema_name}".messaging_message')
        with connection.cursor() as cursor:
            cursor.execute("SET lock_timeout = '200ms'")
        with transaction.atomic():  # the run it asks for starts when this commits
            assert inbound_process() == {"applied": 0, "unmatched": 0, "failed": 0}
            assert row.get().state == "pending"
            with holder.cursor() as cursor:
                cursor.execute("ROLLBACK")

        assert row.get().state == "applied"
        with tenant_context(tenant):
            assert Message.objects.filter(provider_message_id=delivery.message_id).exists()
    finally:
        holder.close()
        with connection.cursor() as cursor:
            cursor.execute("RESET lock_timeout")
        row.delete()


# --- The sandbox


def sandbox_inbound(*args: str) -> str:
    out = io.StringIO()
    call_command("sandbox_inbound", *args, stdout=out)
    return out.getvalue()


def test_the_sandbox_command_delivers_to_the_tenant_sandbox_number(a, b):
    number = sandbox_number(a.tenant)

    out = sandbox_inbound("--tenant", "tenant-a", "--from", "0713 999 001", "--text", "Habari")

    assert f"+255713999001 -> {number}" in out and "Applied" in out
    (message,) = messages_in(a.tenant)
    assert message.text == "Habari"
    with tenant_context(a.tenant):
        assert Contact.objects.filter(phone_e164="+255713999001").exists()
    assert messages_in(b.tenant) == []


def test_the_same_message_id_twice_is_one_message(a):
    args = ("--tenant", "tenant-a", "--from", "+255713999002", "--text", "Habari")

    first = sandbox_inbound(*args, "--message-id", "sbx-once")
    again = sandbox_inbound(*args, "--message-id", "sbx-once")

    assert "Applied" in first
    assert "delivered before" in again and "Applied" in again
    assert InboundMessage.objects.filter(provider_message_id="sbx-once").count() == 1
    assert len(messages_in(a.tenant)) == 1


@pytest.mark.parametrize(
    ("args", "error"),
    [
        (("--tenant", "nobody", "--from", "+255713999003"), "No tenant"),
        (("--tenant", "tenant-a", "--from", "+12"), "phone number"),
    ],
)
def test_the_sandbox_command_refuses_what_it_cannot_deliver(a, args, error):
    with pytest.raises(CommandError, match=error):
        sandbox_inbound(*args, "--text", "Habari")
    assert not InboundMessage.objects.exists()


def test_the_sandbox_command_is_off_with_a_live_provider(a, settings):
    settings.SMS_PROVIDER = "beem"
    settings.DEBUG = False

    with pytest.raises(CommandError, match="sandbox is off"):
        sandbox_inbound("--tenant", "tenant-a", "--from", "+255713999004", "--text", "Hi")


def test_the_sandbox_over_http_delivers_to_a_number_or_a_tenant(api, a, b, on_commit):
    theirs = sandbox_number(b.tenant)

    with on_commit():
        by_tenant = ok_data(
            api().post(
                SANDBOX_URL,
                {"tenant": "tenant-a", "from": "+255713999005", "text": "Habari"},
                format="json",
            )
        )
        by_number = ok_data(
            api().post(
                SANDBOX_URL,
                {"to": theirs, "from": "+255713999006", "text": "Mambo", "message_id": "m-1"},
                format="json",
            )
        )
    inbound_process()

    assert by_tenant["to"] == sandbox_number(a.tenant) and by_tenant["stored"] is True
    assert by_number == {"message_id": "m-1", "from": "+255713999006", "to": theirs, "stored": True}
    assert [m.text for m in messages_in(a.tenant)] == ["Habari"]
    assert [m.text for m in messages_in(b.tenant)] == ["Mambo"]
    again = api().post(
        SANDBOX_URL,
        {"to": theirs, "from": "+255713999006", "text": "Mambo", "message_id": "m-1"},
        format="json",
    )
    assert ok_data(again)["stored"] is False
    assert len(messages_in(b.tenant)) == 1


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"to": "+255799999999", "from": "+255713999007", "text": "Hi"}, "to"),
        ({"from": "+255713999007", "text": "Hi"}, "to"),
        ({"tenant": "nobody", "from": "+255713999007", "text": "Hi"}, "tenant"),
        ({"tenant": "tenant-a", "from": "nobody", "text": "Hi"}, "from"),
        ({"tenant": "tenant-a", "from": "+255713999007", "text": " "}, "text"),
        ({"tenant": "tenant-a", "from": "+255713999007", "text": 5}, "text"),
        (
            {"tenant": "tenant-a", "from": "+255713999007", "text": "Hi", "message_id": "x" * 65},
            "message_id",
        ),
    ],
)
def test_the_sandbox_over_http_refuses_what_it_cannot_deliver(api, a, body, field):
    assert_field_errors(api().post(SANDBOX_URL, body, format="json"), field)
    assert not InboundMessage.objects.exists()


def test_the_sandbox_over_http_is_not_there_with_a_live_provider(api, a, settings):
    settings.SMS_PROVIDER = "twilio"
    settings.DEBUG = False
    body = {"tenant": "tenant-a", "from": "+255713999008", "text": "Hi"}

    assert_error(api().post(SANDBOX_URL, body, format="json"), 404, "NOT_FOUND")
    assert not InboundMessage.objects.exists()
