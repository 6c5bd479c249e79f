"""Sends, balance and connection checks through a tenant's own provider account: its default
channel of the provider when it has one, else the platform's. The fake Beem and Twilio servers
(tests/fakes/) run on real sockets; which account a request used is read from its credentials
in the fake's record. Sends go the eager task path of every send test."""

import logging
import uuid

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django_tenants.utils import tenant_context

from messaging import outbox
from messaging.models import Message
from sms import channels, selectors
from sms.models import CallbackRoute
from sms.providers.twilio import TwilioProvider
from tests.envelope import assert_error, ok_data
from tests.fakes.beem import BALANCE_PATH, SEND_PATH, FakeBeem
from tests.fakes.server import CallbackSink, FakeRequest
from tests.fakes.twilio import FakeTwilio
from tests.messaging.helpers import new_phone, queued_messages
from tests.sms.helpers import SEND, TEST_CONNECTION, balance_of, fund
from webhooks.services import status_events_process

BEEM_BALANCE = "/api/messaging/sms/beem/balance/"
# Distinctive values, so that finding one anywhere is a leak and not a coincidence.
PLATFORM = ("platform-key-0b7e51", "platform-secret-9d2a6c4e7f")
OWN = ("own-key-3c81f0a9d2", "own-secret-a4e6c8b0d2f1")
ROTATED = ("own-key-rotated-77e1", "own-secret-rotated-5b3d19c7")
PLATFORM_CREDITS, OWN_CREDITS = 1000.0, 77.0
OWN_SECRETS = (OWN[1], ROTATED[1])
PLATFORM_SID, PLATFORM_TOKEN = "AC" + "0" * 31 + "9", "platform-twilio-token-31d7"
OWN_SID, OWN_TOKEN = "AC5e8b2d4f6a8c0e2b4d6f8a0c2e4b6d81", "own-twilio-token-6f0a2c94"
DLR_TOKEN = "beem-dlr-secret-4e1f"


class BeemAccounts(FakeBeem):
    """The fake Beem holding several accounts, by (api_key, secret_key) -> credit balance."""

    def __init__(self, accounts: dict[tuple[str, str], float], **options) -> None:
        super().__init__(**options)
        self.accounts = accounts

    def handle(self, request: FakeRequest):
        route = (request.method, request.path)
        if route not in {("POST", SEND_PATH), ("GET", BALANCE_PATH)}:
            return super().handle(request)  # its 404
        account = request.basic_auth()
        if account not in self.accounts:
            return 401, self.error_body(401, 107)
        if route == ("GET", BALANCE_PATH):
            return 200, {"data": {"credit_balance": self.accounts[account]}}
        return self.send_fault() or self._send(request)

    def senders(self, path: str = SEND_PATH) -> list[tuple[str, str] | None]:
        """The account of each request to `path`, in order."""
        return [r.basic_auth() for r in self.requests if r.path == path]


@pytest.fixture
def beem(settings):
    accounts = {PLATFORM: PLATFORM_CREDITS, OWN: OWN_CREDITS, ROTATED: OWN_CREDITS}
    with BeemAccounts(accounts) as fake:
        settings.SMS_PROVIDER = "beem"
        settings.BEEM_API_KEY, settings.BEEM_SECRET_KEY = PLATFORM
        settings.BEEM_SEND_URL = fake.send_url
        settings.BEEM_BALANCE_URL = fake.balance_url
        settings.BEEM_TIMEOUT_SECONDS = 2
        settings.SMS_RETRY_DELAYS = [0.0, 0.0]
        yield fake


@pytest.fixture
def staff(b):
    b.owner.is_staff = True
    b.owner.save(update_fields=["is_staff"])
    return b.owner


def own_beem_channel(tenant, credentials=OWN, **fields):
    api_key, secret_key = credentials
    return channels.channel_create(
        tenant=tenant,
        provider="beem",
        name="Our Beem",
        credentials={"api_key": api_key, "secret_key": secret_key},
        **fields,
    )


def send(api, world, on_commit, count: int = 1) -> dict:
    with on_commit():
        response = api(world.owner).post(
            SEND, {"message": "Habari", "recipients": [new_phone() for _ in range(count)]}, "json"
        )
    return ok_data(response, 201)


def messages_of(tenant) -> list[Message]:
    with tenant_context(tenant):
        return list(Message.objects.order_by("created_at", "id"))


def has_secret(content: bytes) -> bool:
    return any(secret.encode() in content for secret in (*OWN_SECRETS, PLATFORM[1]))


# --- Sends


def test_a_tenant_with_its_own_default_channel_sends_with_its_credentials(
    api, a, b, on_commit, beem
):
    own_beem_channel(a.tenant)
    fund(a.tenant, 10)
    fund(b.tenant, 10)

    send(api, a, on_commit, count=2)
    send(api, b, on_commit)

    assert beem.senders() == [OWN, PLATFORM]  # B has no channel of its own: the platform's
    mine, theirs = messages_of(a.tenant), messages_of(b.tenant)
    assert {(m.status, m.provider) for m in mine + theirs} == {("sent", "beem")}
    # Delivery reports of either account find their schema the same way.
    routes = CallbackRoute.objects.filter(provider="beem")
    assert {
        route.provider_message_id: route.schema_name
        for route in routes.filter(provider_message_id__in=[m.provider_message_id for m in mine])
    } == {mine[0].provider_message_id: a.tenant.schema_name}
    assert routes.get(provider_message_id=theirs[0].provider_message_id).schema_name == (
        b.tenant.schema_name
    )
    assert (balance_of(a.tenant), balance_of(b.tenant)) == (8, 9)


def test_a_batch_costs_one_query_for_its_channel_and_reuses_the_built_provider(a, beem):
    own_beem_channel(a.tenant)
    first, second = queued_messages(a.tenant, 1), queued_messages(a.tenant, 1)

    with tenant_context(a.tenant):
        outbox.outbox_batch_send(tenant=a.tenant, message_ids=first)
        built = outbox.provider_for(a.tenant)
        with CaptureQueriesContext(connection) as queries:
            outbox.outbox_batch_send(tenant=a.tenant, message_ids=second)

    assert len([q for q in queries if '"sms_channel"' in q["sql"]]) == 1
    assert outbox.provider_for(a.tenant) is built  # with its kept HTTP session
    assert beem.senders() == [OWN, OWN]


def test_a_deactivated_deleted_or_changed_channel_is_picked_up_at_once(api, a, on_commit, beem):
    channel = own_beem_channel(a.tenant)
    fund(a.tenant, 10)

    send(api, a, on_commit)
    channel = channels.channel_update(channel=channel, is_active=False)
    send(api, a, on_commit)
    channel = channels.channel_update(channel=channel, is_active=True, is_default=True)
    send(api, a, on_commit)
    # New credentials (rotated at Beem) are used from the next batch on.
    api_key, secret_key = ROTATED
    channel = channels.channel_update(
        channel=channel, credentials={"api_key": api_key, "secret_key": secret_key}
    )
    send(api, a, on_commit)
    channels.channel_delete(channel=channel)
    send(api, a, on_commit)

    assert beem.senders() == [OWN, PLATFORM, OWN, ROTATED, PLATFORM]
    assert {m.status for m in messages_of(a.tenant)} == {"sent"}


def test_a_platform_channel_as_the_default_sends_through_the_platforms_account(a, beem):
    channels.channel_address_assign(tenant=a.tenant, provider="beem", address="TAARIFA")
    ids = queued_messages(a.tenant, 1)

    with tenant_context(a.tenant):
        outbox.outbox_batch_send(tenant=a.tenant, message_ids=ids)

    assert beem.senders() == [PLATFORM]


def test_credentials_no_key_opens_fail_the_batch_and_refund_it_never_the_platforms(
    api, a, on_commit, beem, settings, caplog
):
    channel = own_beem_channel(a.tenant)
    fund(a.tenant, 10)
    settings.CREDENTIALS_ENCRYPTION_KEY = "A" * 43 + "="  # the key that encrypted them is gone

    with caplog.at_level(logging.ERROR, logger="messaging.outbox"):
        send(api, a, on_commit, count=2)

    assert beem.senders() == []  # neither account: nothing went out
    messages = messages_of(a.tenant)
    assert {(m.status, m.error_code) for m in messages} == {("failed", outbox.PROVIDER_UNAVAILABLE)}
    assert balance_of(a.tenant) == 10  # both credits back
    assert str(channel.pk) in caplog.text
    assert not has_secret(caplog.text.encode())


# --- Delivery reports of a tenant's own account


def test_a_beem_report_for_an_own_account_message_reaches_it(api, a, on_commit, beem, settings):
    """Beem posts reports to the URL set in the account's portal (the tenant's, for its own
    account); once one reaches our route, the request id recorded at the send routes it."""
    settings.BEEM_DLR_TOKEN = DLR_TOKEN
    own_beem_channel(a.tenant)
    fund(a.tenant, 10)
    with CallbackSink() as sink:
        beem.callback_url = f"{sink.url}/webhooks/beem/dlr/{DLR_TOKEN}/"
        send(api, a, on_commit)
        assert beem.wait_for_callbacks()

    (report,) = sink.requests
    with on_commit():
        response = api().post(report.target, report.body, content_type="application/json")
    assert response.status_code == 200, response.content
    status_events_process()
    assert beem.senders() == [OWN]
    assert [m.status for m in messages_of(a.tenant)] == ["delivered"]


@pytest.fixture
def twilio(settings):
    """The fake Twilio holds the tenant's own account; the platform's is another."""
    with CallbackSink() as sink, FakeTwilio(account_sid=OWN_SID, auth_token=OWN_TOKEN) as fake:
        settings.SMS_PROVIDER = "twilio"
        settings.TWILIO_ACCOUNT_SID, settings.TWILIO_AUTH_TOKEN = PLATFORM_SID, PLATFORM_TOKEN
        settings.TWILIO_MESSAGING_SERVICE_SID = ""
        settings.TWILIO_API_BASE_URL = fake.url
        settings.TWILIO_TIMEOUT_SECONDS = 2
        settings.PUBLIC_BASE_URL = sink.url
        fake.sink = sink
        yield fake


def own_twilio_channel(tenant):
    return channels.channel_create(
        tenant=tenant,
        provider="twilio",
        name="Our Twilio",
        credentials={"account_sid": OWN_SID, "auth_token": OWN_TOKEN},
    )


def test_a_twilio_status_callback_of_an_own_account_is_verified_with_its_token(
    api, client, a, b, on_commit, twilio
):
    """Twilio signs the callback with the account's own token, and the URL it was given names
    the channel: the channel's token verifies it, only for the schema of the channel's tenant.
    webhooks.views.twilio_status makes this check."""
    channel = own_twilio_channel(a.tenant)
    fund(a.tenant, 10)

    send(api, a, on_commit)
    assert twilio.wait_for_callbacks()

    (message,) = messages_of(a.tenant)
    assert (message.status, message.provider) == ("sent", "twilio")
    (callback,) = twilio.sink.requests
    schema = a.tenant.schema_name
    assert callback.query == {"schema": schema, "channel": str(channel.pk)}
    params, signature = callback.form(), callback.headers["X-Twilio-Signature"]
    url = twilio.sink.url + callback.target

    def verified(url=url, schema_name=schema, channel_id=str(channel.pk)) -> bool:
        account = selectors.twilio_status_callback_account(
            schema_name=schema_name, channel_id=channel_id
        )
        return account is not None and account.verify_callback(
            url=url, params=params, signature=signature
        )

    assert verified()
    assert not TwilioProvider().verify_callback(url=url, params=params, signature=signature)
    assert not verified(channel_id="")  # the platform's token does not sign it
    # The channel is A's: naming B's schema with it verifies nothing, whoever signed.
    assert not verified(schema_name=b.tenant.schema_name)
    assert not verified(channel_id=str(uuid.uuid4()))
    assert not verified(channel_id="not-a-uuid")
    assert not verified(url=url.replace(schema, b.tenant.schema_name))

    # Through the route: the platform's token would refuse it; the channel's admits it.
    forged = client.post(callback.target, params, HTTP_X_TWILIO_SIGNATURE="forged")
    assert forged.status_code == 403
    with on_commit():
        response = client.post(callback.target, params, HTTP_X_TWILIO_SIGNATURE=signature)
    assert response.status_code == 200
    status_events_process()
    assert [m.status for m in messages_of(a.tenant)] == ["delivered"]
    # A deleted channel's credentials are erased: its late callbacks verify no more.
    channels.channel_delete(channel=channel)
    assert not verified()


def test_a_platform_twilio_send_names_no_channel(api, a, on_commit, twilio, settings):
    settings.TWILIO_ACCOUNT_SID, settings.TWILIO_AUTH_TOKEN = OWN_SID, OWN_TOKEN  # as platform
    fund(a.tenant, 10)

    send(api, a, on_commit)
    assert twilio.wait_for_callbacks()

    (callback,) = twilio.sink.requests
    assert callback.query == {"schema": a.tenant.schema_name}
    account = selectors.twilio_status_callback_account(
        schema_name=a.tenant.schema_name, channel_id=""
    )
    assert account.verify_callback(
        url=twilio.sink.url + callback.target,
        params=callback.form(),
        signature=callback.headers["X-Twilio-Signature"],
    )


# --- Balance and connection check


def test_balance_and_test_connection_use_the_tenants_own_channel(api, a, b, staff, beem):
    channel = own_beem_channel(a.tenant)
    beem.requests.clear()  # the check of the credentials when it was made
    fund(a.tenant, 5)
    reference = {"id": str(channel.pk), "name": "Our Beem"}

    balance = api(a.agent).get(BEEM_BALANCE)
    check = api(a.agent).get(TEST_CONNECTION)

    data = ok_data(balance)
    assert data["balance"]["credits"] == 5
    assert data["channel"] == reference
    assert (data["provider_balance"]["available"], data["provider_balance"]["credits"]) == (
        True,
        OWN_CREDITS,
    )
    assert ok_data(check) == {
        "provider": "beem",
        "ok": True,
        "detail": "Beem accepted the credentials; 77 credits left.",
        "channel": reference,
    }
    assert beem.senders(BALANCE_PATH) == [OWN, OWN]
    assert not has_secret(balance.content + check.content)
    # B has no channel of its own: its staff see the platform's account, null channel.
    theirs = ok_data(api(staff).get(BEEM_BALANCE))
    assert (theirs["provider_balance"]["credits"], theirs["channel"]) == (PLATFORM_CREDITS, None)
    assert ok_data(api(staff).get(TEST_CONNECTION))["channel"] is None
    assert beem.senders(BALANCE_PATH)[2:] == [PLATFORM, PLATFORM]
    assert "provider_balance" not in ok_data(api(b.agent).get(BEEM_BALANCE))
    assert beem.senders() == []  # nothing was sent


def test_a_refused_own_account_is_a_502_naming_its_channel_and_no_secret(api, a, beem):
    channel = own_beem_channel(a.tenant)
    del beem.accounts[OWN]  # the keys were revoked at Beem

    response = api(a.owner).get(TEST_CONNECTION)
    balance = ok_data(api(a.owner).get(BEEM_BALANCE))

    body = assert_error(response, 502, "SMS_PROVIDER_UNAVAILABLE")
    assert "Our Beem" in body["message"]
    assert body["details"]["channel"] == {"id": str(channel.pk), "name": "Our Beem"}
    assert body["details"]["ok"] is False
    assert (balance["provider_balance"]["available"], balance["channel"]["id"]) == (
        False,
        str(channel.pk),
    )
    assert "HTTP 401" in balance["provider_balance"]["detail"]
    assert not has_secret(response.content)


def test_unreadable_credentials_are_a_409_and_an_unavailable_balance(api, a, beem, settings):
    own_beem_channel(a.tenant)
    beem.requests.clear()
    settings.CREDENTIALS_ENCRYPTION_KEY = "A" * 43 + "="

    response = api(a.owner).get(TEST_CONNECTION)
    balance = ok_data(api(a.owner).get(BEEM_BALANCE))["provider_balance"]

    assert "enter them again" in assert_error(response, 409, "CONFLICT")["message"]
    assert (balance["available"], balance["detail"]) == (False, selectors.CREDENTIALS_UNREADABLE)
    assert beem.requests == []  # and never the platform's account instead
