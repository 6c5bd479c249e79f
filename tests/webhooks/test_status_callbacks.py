"""Provider status callbacks: Beem delivery reports (secret URL token) and Twilio status
callbacks (signed), stored once, applied in batches, and never moving a status backwards."""

import datetime as dt

import pytest
from django.utils import timezone
from django_redis import get_redis_connection
from django_tenants.utils import tenant_context
from twilio.request_validator import RequestValidator

from messaging.models import Message
from sms.models import CallbackRoute
from tests.envelope import assert_error, ok_data
from tests.messaging.helpers import message_fields
from webhooks import services
from webhooks.models import StatusEvent
from webhooks.services import status_events_process

TOKEN = "beem-dlr-secret"
TWILIO_TOKEN = "twilio-auth-token"
BEEM_URL = f"/webhooks/beem/dlr/{TOKEN}/"
TWILIO_URL = "/webhooks/twilio/status/"


@pytest.fixture(autouse=True)
def callback_settings(settings):
    settings.BEEM_DLR_TOKEN = TOKEN
    settings.TWILIO_AUTH_TOKEN = TWILIO_TOKEN
    settings.PUBLIC_BASE_URL = "https://api.mifumo.test"


def sent_message(tenant, *, provider="beem", provider_message_id="4242") -> Message:
    with tenant_context(tenant):
        message = Message.objects.create(
            **message_fields(
                status="sent",
                provider=provider,
                provider_message_id=provider_message_id,
                sent_at=timezone.now(),
            )
        )
    if provider == "beem":
        CallbackRoute.objects.get_or_create(
            provider="beem",
            provider_message_id=provider_message_id,
            defaults={"schema_name": tenant.schema_name},
        )
    return message


def beem_report(message, status="DELIVERED", **extra) -> dict:
    return {
        "request_id": message.provider_message_id,
        "recipient_id": str(message.id),
        "dest_addr": message.recipient[1:],
        "status": status,
        "timestamp": "2026-11-23T10:00:00Z",
        **extra,
    }


def post_beem(api, on_commit, body, url=BEEM_URL):
    """Post a callback, then apply what it stored (the scheduled task would, a second later)."""
    with on_commit():
        response = api().post(url, body, format="json")
    status_events_process()
    return response


def reload(tenant, message) -> Message:
    with tenant_context(tenant):
        return Message.objects.get(pk=message.pk)


def test_a_callback_has_its_reports_applied_by_a_task(api, a, on_commit, monkeypatch):
    message = sent_message(a.tenant)
    monkeypatch.setattr(services, "_last_kick", 0.0)

    with on_commit():
        ok_data(api().post(BEEM_URL, beem_report(message), format="json"))

    assert reload(a.tenant, message).status == "delivered"  # eager tasks run at once
    assert get_redis_connection("default").ttl(services._KICK_KEY) > 0


def test_a_beem_report_delivers_the_message(api, a, on_commit):
    message = sent_message(a.tenant)

    data = ok_data(post_beem(api, on_commit, beem_report(message)))

    assert data == {"received": 1}
    message = reload(a.tenant, message)
    assert message.status == "delivered"
    assert message.delivered_at == dt.datetime(2026, 11, 23, 10, tzinfo=dt.UTC)
    assert StatusEvent.objects.get().state == "applied"


def test_beem_reports_may_come_as_a_list_with_a_capitalised_status(api, a, on_commit):
    first, second = sent_message(a.tenant), sent_message(a.tenant)
    body = [
        {**beem_report(first), "Status": "DELIVERED"},
        beem_report(second, status="UNDELIVERED"),
    ]
    body[0].pop("status")

    ok_data(post_beem(api, on_commit, body))

    assert reload(a.tenant, first).status == "delivered"
    second = reload(a.tenant, second)
    assert (second.status, bool(second.failed_at)) == ("undelivered", True)


def test_one_callback_stores_each_report_once_with_its_body(api, a, on_commit):
    first, second = sent_message(a.tenant), sent_message(a.tenant)
    undated = beem_report(second, status="UNDELIVERED")
    undated.pop("timestamp")
    body = [beem_report(first), undated, beem_report(first)]  # the first one twice

    ok_data(post_beem(api, on_commit, body))

    events = StatusEvent.objects.order_by("id")
    assert [(e.reference, e.status, e.occurred_at is None) for e in events] == [
        (str(first.id), "delivered", False),
        (str(second.id), "undelivered", True),
    ]
    assert all(e.payload == body for e in events)
    assert (reload(a.tenant, first).status, reload(a.tenant, second).status) == (
        "delivered",
        "undelivered",
    )


def test_duplicate_and_out_of_order_reports_never_move_a_status_back(api, a, on_commit):
    message = sent_message(a.tenant)

    post_beem(api, on_commit, beem_report(message, "DELIVERED"))
    post_beem(api, on_commit, beem_report(message, "DELIVERED"))
    post_beem(api, on_commit, beem_report(message, "PENDING"))
    post_beem(api, on_commit, beem_report(message, "UNDELIVERED"))

    assert reload(a.tenant, message).status == "delivered"
    assert StatusEvent.objects.count() == 3  # the repeated DELIVERED was stored once


def test_a_report_for_a_message_not_recorded_yet_is_retried_then_kept(api, a, on_commit, settings):
    message = sent_message(a.tenant)
    early = {**beem_report(message), "recipient_id": "0b7a8e2e-2a57-4d1a-9b7e-3d7c2f4b9a11"}

    post_beem(api, on_commit, early)
    event = StatusEvent.objects.get()
    assert (event.state, event.attempts) == ("pending", 1)

    settings.STATUS_EVENT_MATCH_WINDOW_SECONDS = 0
    status_events_process()
    assert StatusEvent.objects.get().state == "unmatched"


def test_a_wrong_token_or_no_token_is_404(api, a, on_commit, settings):
    message = sent_message(a.tenant)

    assert_error(
        post_beem(api, on_commit, beem_report(message), "/webhooks/beem/dlr/x/"), 404, "NOT_FOUND"
    )
    settings.BEEM_DLR_TOKEN = ""
    assert_error(post_beem(api, on_commit, beem_report(message)), 404, "NOT_FOUND")
    assert reload(a.tenant, message).status == "sent"


@pytest.mark.parametrize(
    ("body", "code"),
    [
        ("not json", "MALFORMED_REQUEST"),
        ('"a string"', "MALFORMED_REQUEST"),
        (b"\xff", "MALFORMED_REQUEST"),
        ('{"status": "x\\u0000"}', "INVALID_CHARACTERS"),  # jsonb cannot store it
        ("[" * 2_000 + "]" * 2_000, "NESTING_TOO_DEEP"),
    ],
)
def test_a_body_that_is_not_a_json_object_is_400(api, body, code):
    response = api().post(BEEM_URL, body, content_type="application/json")

    assert_error(response, 400, code)


def test_unreadable_reports_are_skipped(api, a, on_commit):
    message = sent_message(a.tenant)

    data = ok_data(post_beem(api, on_commit, [{"status": "DELIVERED"}, beem_report(message)]))

    assert data == {"received": 1}


def test_reports_reach_only_their_own_tenant(api, a, b, on_commit):
    mine = sent_message(a.tenant, provider_message_id="5000")
    theirs = sent_message(b.tenant, provider_message_id="5001")
    forged = {**beem_report(theirs), "request_id": "5000"}  # a's route, b's message id

    post_beem(api, on_commit, forged)

    assert reload(b.tenant, theirs).status == "sent"
    assert reload(a.tenant, mine).status == "sent"


def twilio_post(api, on_commit, params, *, schema, token=TWILIO_TOKEN):
    path = f"{TWILIO_URL}?schema={schema}"
    signature = RequestValidator(token).compute_signature(f"https://api.mifumo.test{path}", params)
    with on_commit():
        response = api().post(path, params, HTTP_X_TWILIO_SIGNATURE=signature)
    status_events_process()
    return response


def test_a_signed_twilio_callback_is_applied(api, a, on_commit):
    sid = "SM" + "a" * 32
    message = sent_message(a.tenant, provider="twilio", provider_message_id=sid)
    params = {"MessageSid": sid, "MessageStatus": "delivered", "To": message.recipient}

    ok_data(twilio_post(api, on_commit, params, schema=a.tenant.schema_name))

    assert reload(a.tenant, message).status == "delivered"


def test_a_failed_twilio_message_keeps_its_error_code(api, a, on_commit):
    sid = "SM" + "b" * 32
    message = sent_message(a.tenant, provider="twilio", provider_message_id=sid)
    params = {"MessageSid": sid, "MessageStatus": "undelivered", "ErrorCode": "30003"}

    ok_data(twilio_post(api, on_commit, params, schema=a.tenant.schema_name))

    message = reload(a.tenant, message)
    assert (message.status, message.error_code) == ("undelivered", "TWILIO_30003")


def test_a_badly_signed_twilio_callback_is_403(api, a, on_commit):
    sid = "SM" + "c" * 32
    message = sent_message(a.tenant, provider="twilio", provider_message_id=sid)
    params = {"MessageSid": sid, "MessageStatus": "delivered"}

    response = twilio_post(api, on_commit, params, schema=a.tenant.schema_name, token="wrong")

    assert_error(response, 403, "PERMISSION_DENIED")
    assert reload(a.tenant, message).status == "sent"
    assert not StatusEvent.objects.exists()
