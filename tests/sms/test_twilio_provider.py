"""The Twilio provider, through the twilio package, against the fake Twilio API
(tests/fakes/twilio.py) over real sockets."""

import base64

import pytest
from twilio.request_validator import RequestValidator

from sms.providers import get_provider
from sms.providers.base import OutboundSms, SendContext
from sms.providers.twilio import TwilioError, TwilioProvider
from tests.fakes.server import CallbackSink
from tests.fakes.twilio import FakeTwilio

# Sent as the platform's own SMS are, from the public schema.
CONTEXT = SendContext(schema_name="public")


def _sms(n: int, to: str | None = None, text: str = "Habari") -> OutboundSms:
    return OutboundSms(
        reference=f"ref-{n}", to=to or f"+2557120000{n:02d}", text=text, sender="+15005550001"
    )


def _point_at(settings, fake: FakeTwilio) -> None:
    settings.TWILIO_ACCOUNT_SID = fake.account_sid
    settings.TWILIO_AUTH_TOKEN = fake.auth_token
    settings.TWILIO_MESSAGING_SERVICE_SID = ""
    settings.TWILIO_API_BASE_URL = fake.url
    settings.TWILIO_TIMEOUT_SECONDS = 0.5


@pytest.fixture
def sink(settings):
    """Where the fake posts status callbacks: it plays our public base URL."""
    with CallbackSink() as receiver:
        settings.PUBLIC_BASE_URL = receiver.url
        yield receiver


@pytest.fixture
def twilio(settings, sink):
    with FakeTwilio() as fake:
        _point_at(settings, fake)
        yield fake


@pytest.fixture
def provider(twilio) -> TwilioProvider:
    return get_provider("twilio")


def test_twilio_is_registered(twilio):
    assert isinstance(get_provider("twilio"), TwilioProvider)


def test_each_message_is_one_authenticated_request_with_a_status_callback(sink, twilio, provider):
    (result,) = provider.send_batch([_sms(1, text="Habari 😊")], CONTEXT)

    (request,) = twilio.requests
    assert (request.method, request.path) == (
        "POST",
        f"/2010-04-01/Accounts/{twilio.account_sid}/Messages.json",
    )
    credentials = base64.b64encode(f"{twilio.account_sid}:test-auth-token".encode()).decode()
    assert request.headers["Authorization"] == f"Basic {credentials}"
    assert request.form() == {
        "To": "+255712000001",
        "From": "+15005550001",
        "Body": "Habari 😊",
        "StatusCallback": f"{sink.url}/webhooks/twilio/status/?schema=public",
    }
    assert result.accepted
    assert result.provider_message_id.startswith("SM")
    assert [(a.to, a.text, a.provider_message_id) for a in twilio.accepted] == [
        ("+255712000001", "Habari 😊", result.provider_message_id)
    ]


def test_a_messaging_service_sends_instead_of_the_sender(settings, twilio):
    settings.TWILIO_MESSAGING_SERVICE_SID = "MG00000000000000000000000000000001"

    (result,) = get_provider("twilio").send_batch([_sms(1)], CONTEXT)

    form = twilio.requests[0].form()
    assert form["MessagingServiceSid"] == "MG00000000000000000000000000000001"
    assert "From" not in form
    assert result.accepted


def test_a_batch_is_sent_in_parallel_and_each_message_once(settings, twilio):
    settings.SMS_PROVIDER_MAX_IN_FLIGHT, settings.SMS_SEND_CONCURRENCY = 8, 2  # 4 a worker
    provider = get_provider("twilio")
    twilio.latency = 0.1
    batch = [_sms(n) for n in range(16)]

    results = provider.send_batch(batch, CONTEXT)

    assert twilio.max_in_flight == 4  # requests overlapped, never more than the share
    assert twilio.connections_opened <= 4
    assert sorted(r.reference for r in results) == sorted(m.reference for m in batch)
    assert all(r.accepted for r in results)
    assert sorted(a.to for a in twilio.accepted) == sorted(m.to for m in batch)
    assert len({r.provider_message_id for r in results}) == 16


@pytest.mark.parametrize(
    ("status", "code", "error_code", "transient"),
    [
        (400, 21211, "TWILIO_21211", False),
        (400, 21610, "TWILIO_21610", False),
        (500, None, "TWILIO_20500", True),
        (503, 20503, "TWILIO_20503", True),
        (429, None, "TWILIO_20429", True),
    ],
)
def test_twilio_errors_map_to_transient_or_permanent(
    twilio, provider, status, code, error_code, transient
):
    twilio.fail_next(1, status=status, code=code)

    (result,) = provider.send_batch([_sms(1)], CONTEXT)

    assert (result.accepted, result.error_code, result.transient) == (False, error_code, transient)
    assert f"HTTP {status}" in result.error_message
    assert twilio.accepted == []


def test_an_invalid_number_is_refused_for_good_and_the_rest_still_go(twilio, provider):
    results = provider.send_batch([_sms(1, to="0712000001"), _sms(2)], CONTEXT)

    outcome = {r.reference: (r.accepted, r.error_code, r.transient) for r in results}
    assert outcome == {"ref-1": (False, "TWILIO_21211", False), "ref-2": (True, "", False)}


def test_a_timeout_is_transient(settings, twilio):
    settings.TWILIO_TIMEOUT_SECONDS = 0.2
    twilio.timeout_next(1)

    (result,) = get_provider("twilio").send_batch([_sms(1)], CONTEXT)

    assert (result.error_code, result.transient) == ("TWILIO_TIMEOUT", True)
    assert twilio.accepted == []


def test_an_unreachable_api_is_transient(settings):
    with FakeTwilio() as gone:
        _point_at(settings, gone)
    (result,) = get_provider("twilio").send_batch([_sms(1)], CONTEXT)

    assert (result.error_code, result.transient) == ("TWILIO_CONNECTION", True)


def test_wrong_credentials_are_permanent(settings, twilio):
    settings.TWILIO_AUTH_TOKEN = "wrong"

    (result,) = get_provider("twilio").send_batch([_sms(1)], CONTEXT)

    assert (result.error_code, result.transient) == ("TWILIO_20003", False)


def test_without_credentials_nothing_is_sent(settings, twilio):
    settings.TWILIO_AUTH_TOKEN = ""

    (result,) = get_provider("twilio").send_batch([_sms(1)], CONTEXT)
    check = get_provider("twilio").test_connection()

    assert (result.error_code, result.transient) == ("TWILIO_NOT_CONFIGURED", False)
    assert (check.ok, check.detail) == (
        False,
        "TWILIO_ACCOUNT_SID and TWILIO_AUTH_TOKEN are not set.",
    )
    assert twilio.requests == []


def test_balance_and_connection_check_send_nothing(twilio, provider):
    twilio.balance = "12.34"

    assert provider.balance() == {"credits": 12.34, "currency": "USD", "unlimited": False}
    check = provider.test_connection()
    assert check.ok
    assert check.extra == {"account_sid": twilio.account_sid, "status": "active"}
    assert all(r.method == "GET" for r in twilio.requests)


def test_balance_and_connection_check_fail_clearly(settings, twilio):
    twilio.account_status = "suspended"
    suspended = get_provider("twilio").test_connection()
    settings.TWILIO_AUTH_TOKEN = "wrong"
    provider = get_provider("twilio")

    with pytest.raises(TwilioError, match="HTTP 401"):
        provider.balance()
    refused = provider.test_connection()
    assert (suspended.ok, refused.ok) == (False, False)
    assert "suspended" in suspended.detail
    assert "HTTP 401" in refused.detail


def test_a_subaccount_without_a_balance_fails_clearly(twilio, provider):
    twilio.balance = None

    with pytest.raises(TwilioError, match="no balance"):
        provider.balance()


def test_connection_check_when_unreachable(settings):
    with FakeTwilio() as gone:
        _point_at(settings, gone)

    check = get_provider("twilio").test_connection()

    assert not check.ok
    assert check.detail.startswith("Twilio: ")


@pytest.mark.parametrize(
    ("twilio_status", "status"),
    [
        ("queued", "sent"),
        ("accepted", "sent"),
        ("sending", "sent"),
        ("sent", "sent"),
        ("delivered", "delivered"),
        ("read", "delivered"),
        ("undelivered", "undelivered"),
        ("failed", "failed"),
    ],
)
def test_status_callback_statuses(twilio_status, status):
    (report,) = TwilioProvider().status_reports(
        {"MessageSid": "SM1", "MessageStatus": twilio_status}
    )

    assert report.status == status
    assert report.event_id == f"twilio:SM1:{twilio_status}"
    assert (report.provider_message_id, report.reference, report.error_code) == ("SM1", "", "")


def test_status_callback_error_codes_and_unreadable_callbacks():
    provider = TwilioProvider()

    (failed,) = provider.status_reports(
        {"MessageSid": "SM1", "MessageStatus": "failed", "ErrorCode": "30003"}
    )

    assert failed.error_code == "TWILIO_30003"
    assert provider.status_reports({"MessageSid": "SM1", "MessageStatus": "teleported"}) == []
    assert provider.status_reports({"MessageStatus": "delivered"}) == []


def test_callback_signatures_are_verified_with_the_auth_token(settings):
    settings.TWILIO_AUTH_TOKEN = "test-auth-token"
    url = "https://api.example.com/webhooks/twilio/status/?schema=tenant_a"
    params = {"MessageSid": "SM1", "MessageStatus": "delivered"}
    signature = RequestValidator("test-auth-token").compute_signature(url, params)
    provider = get_provider("twilio")

    assert provider.verify_callback(url=url, params=params, signature=signature)
    assert not provider.verify_callback(
        url=url.replace("tenant_a", "tenant_b"), params=params, signature=signature
    )
    assert not provider.verify_callback(
        url=url, params={**params, "MessageStatus": "failed"}, signature=signature
    )
    assert not provider.verify_callback(url=url, params=params, signature="")
    settings.TWILIO_AUTH_TOKEN = ""
    assert not get_provider("twilio").verify_callback(url=url, params=params, signature=signature)


def test_the_status_callback_names_the_schema_the_send_came_from(twilio, provider):
    provider.send_batch([_sms(1)], SendContext(schema_name="tenant_a"))

    (request,) = twilio.requests
    assert request.form()["StatusCallback"].endswith("/webhooks/twilio/status/?schema=tenant_a")


def test_the_fake_posts_a_signed_status_callback_per_message(sink, twilio, provider):
    twilio.callback_status = "undelivered"

    (result,) = provider.send_batch([_sms(1)], CONTEXT)
    assert twilio.wait_for_callbacks(timeout=2)

    (callback,) = sink.requests
    params = callback.form()
    assert params == {
        "MessageSid": result.provider_message_id,
        "MessageStatus": "undelivered",
        "To": "+255712000001",
        "From": "+15005550001",
        "AccountSid": twilio.account_sid,
        "ErrorCode": "30003",
    }
    assert callback.target == "/webhooks/twilio/status/?schema=public"
    url, signature = sink.url + callback.target, callback.headers["X-Twilio-Signature"]
    assert provider.verify_callback(url=url, params=params, signature=signature)
    (report,) = provider.status_reports(params)
    assert report.status == "undelivered"
    assert report.provider_message_id == result.provider_message_id
