"""The Beem provider against the fake Beem API (tests/fakes/beem.py) over real sockets."""

import base64
from collections import Counter
from datetime import UTC, datetime

import pytest

from sms.providers import get_provider
from sms.providers.base import OutboundSms, SendContext
from sms.providers.beem import BeemError, BeemProvider
from sms.segments import UCS2
from tests.fakes.beem import FakeBeem
from tests.fakes.server import CallbackSink

# Sent as the platform's own SMS are, from the public schema.
CONTEXT = SendContext(schema_name="public")


def _sms(n: int, text: str = "Habari", sender: str = "Taarifa", **fields) -> OutboundSms:
    return OutboundSms(
        reference=f"ref-{n}", to=f"+2557120000{n:02d}", text=text, sender=sender, **fields
    )


def _point_at(settings, fake: FakeBeem) -> None:
    settings.BEEM_API_KEY = fake.api_key
    settings.BEEM_SECRET_KEY = fake.secret_key
    settings.BEEM_SEND_URL = fake.send_url
    settings.BEEM_BALANCE_URL = fake.balance_url
    settings.BEEM_TIMEOUT_SECONDS = 0.5


@pytest.fixture
def beem(settings):
    with FakeBeem() as fake:
        _point_at(settings, fake)
        yield fake


@pytest.fixture
def provider(beem) -> BeemProvider:
    return get_provider("beem")


def test_beem_is_registered_and_routes_callbacks(beem):
    provider = get_provider("beem")
    assert isinstance(provider, BeemProvider)
    assert provider.routes_callbacks


def test_one_text_goes_out_as_one_authenticated_request(beem, provider):
    results = provider.send_batch([_sms(1), _sms(2)], CONTEXT)

    (request,) = beem.requests
    assert request.method == "POST"
    assert request.path == "/v1/send"
    credentials = base64.b64encode(b"test-api-key:test-secret-key").decode()
    assert request.headers["Authorization"] == f"Basic {credentials}"
    assert request.json() == {
        "source_addr": "Taarifa",
        "encoding": 0,
        "schedule_time": "",
        "message": "Habari",
        "recipients": [
            {"recipient_id": "ref-1", "dest_addr": "255712000001"},
            {"recipient_id": "ref-2", "dest_addr": "255712000002"},
        ],
    }
    assert sorted(r.reference for r in results) == ["ref-1", "ref-2"]
    assert all(r.accepted and r.provider_message_id.isdigit() for r in results)
    assert len({r.provider_message_id for r in results}) == 1  # one request
    assert [(a.reference, a.to, a.text, a.sender) for a in beem.accepted] == [
        ("ref-1", "255712000001", "Habari", "Taarifa"),
        ("ref-2", "255712000002", "Habari", "Taarifa"),
    ]


def test_texts_and_senders_are_grouped_and_big_groups_split(settings, beem):
    settings.BEEM_MAX_RECIPIENTS_PER_REQUEST = 2
    provider = get_provider("beem")
    batch = [_sms(n) for n in range(5)] + [_sms(5, text="Other"), _sms(6, sender="Duka")]

    results = provider.send_batch(batch, CONTEXT)

    sizes = Counter(
        (r.json()["message"], r.json()["source_addr"], len(r.json()["recipients"]))
        for r in beem.requests
    )
    assert sizes == {
        ("Habari", "Taarifa", 2): 2,
        ("Habari", "Taarifa", 1): 1,
        ("Other", "Taarifa", 1): 1,
        ("Habari", "Duka", 1): 1,
    }
    assert all(r.accepted for r in results)
    assert sorted(r.reference for r in results) == sorted(m.reference for m in batch)
    assert Counter(a.reference for a in beem.accepted) == {m.reference: 1 for m in batch}
    assert len({r.provider_message_id for r in results}) == 5


def test_text_that_needs_ucs2_is_sent_with_encoding_8(beem, provider):
    provider.send_batch([_sms(1, text="Asante sana 😊"), _sms(2, text="Asante")], CONTEXT)
    provider.send_batch([_sms(3, text="Asante", encoding=UCS2)], CONTEXT)

    encodings = {r.json()["message"]: r.json()["encoding"] for r in beem.requests[:2]}
    assert encodings == {"Asante sana 😊": 8, "Asante": 0}
    assert beem.requests[2].json()["encoding"] == 8


@pytest.mark.parametrize(
    ("code", "transient"),
    [
        (101, False),
        (102, True),
        (103, True),
        (104, False),
        (105, False),
        (106, False),
        (107, False),
        (108, False),
    ],
)
@pytest.mark.parametrize("status", [200, 400])
def test_beem_error_codes_map_to_transient_or_permanent(beem, provider, code, transient, status):
    beem.fail_next(1, status=status, code=code)

    (result,) = provider.send_batch([_sms(1)], CONTEXT)

    assert not result.accepted
    assert result.error_code == f"BEEM_{code}"
    assert result.error_message
    assert result.transient is transient
    assert beem.accepted == []


@pytest.mark.parametrize("status", [500, 503, 429])
def test_server_errors_and_rate_limits_are_transient(beem, provider, status):
    beem.fail_next(1, status=status)

    (result,) = provider.send_batch([_sms(1)], CONTEXT)

    assert (result.accepted, result.error_code, result.transient) == (
        False,
        f"BEEM_HTTP_{status}",
        True,
    )


def test_other_http_errors_without_a_beem_code_are_permanent(beem, provider):
    beem.fail_next(1, status=403)

    (result,) = provider.send_batch([_sms(1)], CONTEXT)

    assert (result.error_code, result.transient) == ("BEEM_HTTP_403", False)


def test_a_timeout_is_transient_and_nothing_was_accepted(settings, beem):
    settings.BEEM_TIMEOUT_SECONDS = 0.2
    beem.timeout_next(1)

    (result,) = get_provider("beem").send_batch([_sms(1)], CONTEXT)

    assert (result.accepted, result.error_code, result.transient) == (False, "BEEM_TIMEOUT", True)
    assert beem.accepted == []


def test_an_unreachable_api_is_transient(settings):
    with FakeBeem() as gone:
        _point_at(settings, gone)
    (result,) = get_provider("beem").send_batch([_sms(1)], CONTEXT)

    assert (result.error_code, result.transient) == ("BEEM_CONNECTION", True)


def test_the_error_rate_fails_sends_until_it_is_lowered(beem, provider):
    beem.error_rate = 1.0
    (failed,) = provider.send_batch([_sms(1)], CONTEXT)
    beem.error_rate = 0.0
    (sent,) = provider.send_batch([_sms(1)], CONTEXT)

    assert (failed.transient, sent.accepted) == (True, True)
    assert [a.reference for a in beem.accepted] == ["ref-1"]


def test_wrong_credentials_fail_every_message_for_good(settings, beem):
    settings.BEEM_SECRET_KEY = "wrong"

    results = get_provider("beem").send_batch([_sms(1), _sms(2)], CONTEXT)

    assert {(r.error_code, r.transient) for r in results} == {("BEEM_107", False)}
    assert beem.accepted == []


def test_a_body_without_a_sender_is_refused_as_missing_parameters(beem, provider):
    (result,) = provider.send_batch([_sms(1, sender="")], CONTEXT)

    assert (result.error_code, result.transient) == ("BEEM_104", False)


def test_without_keys_nothing_is_sent(settings, beem):
    settings.BEEM_API_KEY = ""

    (result,) = get_provider("beem").send_batch([_sms(1)], CONTEXT)

    assert (result.error_code, result.transient) == ("BEEM_NOT_CONFIGURED", False)
    assert beem.requests == []


def test_balance_and_connection_check_read_the_balance_without_sending(beem, provider):
    beem.credit_balance = 1234.5

    assert provider.balance() == {"credits": 1234.5, "currency": None, "unlimited": False}
    check = provider.test_connection()
    assert check.ok
    assert "1234.5" in check.detail
    assert {r.path for r in beem.requests} == {"/public/v1/vendors/balance"}


def test_balance_and_connection_check_fail_clearly_on_wrong_credentials(settings, beem):
    settings.BEEM_SECRET_KEY = "wrong"
    provider = get_provider("beem")

    with pytest.raises(BeemError, match="HTTP 401"):
        provider.balance()
    check = provider.test_connection()
    assert not check.ok
    assert "HTTP 401" in check.detail


def test_connection_check_when_unreachable_or_unconfigured(settings):
    with FakeBeem() as gone:
        _point_at(settings, gone)
    unreachable = get_provider("beem").test_connection()
    settings.BEEM_API_KEY = ""
    unconfigured = get_provider("beem").test_connection()

    assert not unreachable.ok
    assert "could not be reached" in unreachable.detail
    assert (unconfigured.ok, unconfigured.detail) == (
        False,
        "BEEM_API_KEY and BEEM_SECRET_KEY are not set.",
    )


@pytest.mark.parametrize(
    ("beem_status", "status"),
    [
        ("DELIVERED", "delivered"),
        ("UNDELIVERED", "undelivered"),
        ("EXPIRED", "undelivered"),
        ("REJECTED", "undelivered"),
        ("FAILED", "failed"),
        ("PENDING", "sent"),
        ("SENT", "sent"),
        ("ACCEPTED", "sent"),
        ("SUBMITTED", "sent"),
        ("ENROUTE", "sent"),
        ("delivered", "delivered"),
    ],
)
def test_delivery_report_statuses(beem_status, status):
    payload = {
        "request_id": 7,
        "recipient_id": "ref-1",
        "dest_addr": "255712000001",
        "status": beem_status,
        "timestamp": "2026-11-23T10:00:00Z",
    }

    (report,) = BeemProvider().status_reports(payload)

    assert report.status == status
    assert report.event_id == f"beem:7:ref-1:{beem_status.upper()}"
    assert (report.reference, report.provider_message_id) == ("ref-1", "7")
    assert report.occurred_at == datetime(2026, 11, 23, 10, tzinfo=UTC)


def test_delivery_reports_in_a_list_with_any_key_case_and_junk_skipped():
    payload = [
        {"Request_Id": 7, "Recipient_Id": "ref-1", "Status": "DELIVERED"},
        {"REQUEST_ID": 7, "RECIPIENT_ID": "ref-2", "STATUS": "Failed", "timestamp": "junk"},
        {"request_id": 7, "recipient_id": "ref-3", "status": "TELEPORTED"},
        {"request_id": 7, "status": "DELIVERED"},
        {"recipient_id": "ref-5", "status": "DELIVERED"},
        "not an object",
    ]

    reports = BeemProvider().status_reports(payload)

    assert [(r.reference, r.status, r.occurred_at) for r in reports] == [
        ("ref-1", "delivered", None),
        ("ref-2", "failed", None),
    ]


def test_the_fake_posts_one_delivery_report_per_recipient(beem, provider):
    with CallbackSink() as sink:
        beem.callback_url = f"{sink.url}/webhooks/beem/dlr/token/"
        beem.callback_status = "UNDELIVERED"
        (first, _) = provider.send_batch([_sms(1), _sms(2)], CONTEXT)
        assert beem.wait_for_callbacks(timeout=2)

    assert {r.path for r in sink.requests} == {"/webhooks/beem/dlr/token/"}
    reports = [report for r in sink.requests for report in provider.status_reports(r.json())]
    assert sorted((r.reference, r.status) for r in reports) == [
        ("ref-1", "undelivered"),
        ("ref-2", "undelivered"),
    ]
    assert {r.provider_message_id for r in reports} == {first.provider_message_id}
    assert beem.callbacks_sent == 2


def test_the_fake_keeps_every_accepted_message_but_only_recent_requests(settings):
    with FakeBeem(keep_requests=2) as fake:
        _point_at(settings, fake)
        provider = get_provider("beem")
        for n in range(6):
            provider.send_batch([_sms(n)], CONTEXT)

    assert fake.accepted_count == 6
    assert [r.json()["recipients"][0]["recipient_id"] for r in fake.requests][-2:] == [
        "ref-4",
        "ref-5",
    ]
    assert len(fake.requests) <= 4


def test_callbacks_that_cannot_be_delivered_are_counted_not_fatal(beem, provider):
    with CallbackSink() as gone:
        beem.callback_url = gone.url
    results = provider.send_batch([_sms(1), _sms(2)], CONTEXT)

    assert beem.wait_for_callbacks(timeout=2)
    assert (beem.callbacks_sent, beem.callback_failures) == (0, 2)
    assert all(r.accepted for r in results)
    assert provider.send_batch([_sms(3)], CONTEXT)[0].accepted


def test_a_personalised_batch_keeps_its_share_of_requests_in_flight_on_kept_connections(
    settings, beem
):
    settings.SMS_PROVIDER_MAX_IN_FLIGHT, settings.SMS_SEND_CONCURRENCY = 12, 2  # 6 a worker
    provider = get_provider("beem")
    beem.latency = 0.05
    batches = [[_sms(n, text=f"Hi {batch}-{n}") for n in range(30)] for batch in range(2)]

    results = [provider.send_batch(batch, CONTEXT) for batch in batches]

    assert beem.max_in_flight == 6  # the share, reached and never passed
    assert len(beem.requests) == 60  # a request for each distinct text, each once
    assert all(r.accepted for batch in results for r in batch)
    assert beem.connections_opened <= 6  # the second batch reused the first one's
