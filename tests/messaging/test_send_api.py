"""/api/messaging/sms/send/ and the routes that follow a send: status, messages, delivery
reports, stats and balance. Sends go through the outbox to the sandbox provider."""

import datetime as dt
import uuid

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from django_tenants.utils import tenant_context

from billing.models import CreditLedgerEntry
from messaging.models import Message, SendRequest
from sms.providers.sandbox import sandbox_outbox
from tests.envelope import assert_error, assert_field_errors, ok_data
from tests.messaging.helpers import make_contact, new_phone
from tests.sms.helpers import (
    BALANCE,
    DELIVERY_REPORTS,
    MESSAGES,
    SEND,
    STATS,
    balance_of,
    fund,
    status_url,
)

LONG_TEXT = "x" * 161  # two GSM-7 segments


def send(api, user, on_commit, **body):
    with on_commit():
        return api(user).post(SEND, body, format="json")


def test_a_send_without_credits_is_402_and_creates_nothing(api, a, on_commit):
    response = send(api, a.owner, on_commit, message="Hello", recipients=["+255712000001"])

    body = assert_error(response, 402, "INSUFFICIENT_BALANCE")
    assert body["details"] == {"required_credits": 1, "available_credits": 0}
    with tenant_context(a.tenant):
        assert not SendRequest.objects.exists()
        assert not Message.objects.exists()
    assert not CreditLedgerEntry.objects.filter(tenant=a.tenant, kind="reserve").exists()


def test_a_send_is_charged_once_handed_over_and_delivered(api, a, on_commit):
    fund(a.tenant, 10)
    phone = new_phone()

    data = ok_data(
        send(api, a.owner, on_commit, message="Karibu!", recipients=[phone], sender_id=""), 201
    )

    assert data["total_recipients"] == 1
    assert data["recipients"] == [phone]
    assert data["recipient"] == phone
    assert (data["segments"], data["encoding"], data["credits_used"]) == (1, "GSM-7", 1)
    assert data["status"] == "queued"
    assert data["sender_id"] == "Taarifa-SMS"
    assert data["currency"] == "TZS"
    assert balance_of(a.tenant) == 9
    (entry,) = sandbox_outbox(to=phone)
    assert entry["text"] == "Karibu!"
    with tenant_context(a.tenant):
        message = Message.objects.get()
    assert message.status == "delivered"
    assert message.provider == "sandbox"
    assert message.provider_message_id == entry["provider_message_id"]
    assert message.sent_at and message.delivered_at and message.attempts == 1
    assert str(message.send_request_id) == data["message_id"]


def test_credits_are_segments_times_recipients(api, a, on_commit):
    fund(a.tenant, 100)
    recipients = [new_phone() for _ in range(3)]

    data = ok_data(send(api, a.owner, on_commit, message=LONG_TEXT, recipients=recipients), 201)

    assert (data["segments"], data["credits_used"], data["total_recipients"]) == (2, 6, 3)
    assert balance_of(a.tenant) == 94
    assert data["cost"] == 150.0


def test_a_unicode_text_is_sent_as_ucs2(api, a, on_commit):
    fund(a.tenant, 10)

    data = ok_data(send(api, a.owner, on_commit, message="Habari 😀", recipient=new_phone()), 201)

    assert (data["encoding"], data["segments"]) == ("UCS-2", 1)


def test_a_text_is_stored_and_sent_exactly_as_written(api, a, on_commit):
    fund(a.tenant, 10)
    text = 'Bei "maalum", leo tu:\n\\.\nPiga 0712-000\r\nAsante'  # quotes, commas, line ends
    phone = new_phone()

    ok_data(send(api, a.owner, on_commit, message=text, recipient=phone), 201)

    assert sandbox_outbox(to=phone)[0]["text"] == text
    with tenant_context(a.tenant):
        assert Message.objects.get(recipient=phone).text == text


def test_local_numbers_are_normalised_and_duplicates_sent_once(api, a, on_commit):
    fund(a.tenant, 10)

    data = ok_data(
        send(
            api,
            a.owner,
            on_commit,
            message="Hi",
            recipient="0712 000 777",
            recipients=["+255712000777", "255712000778", "0712000778"],
        ),
        201,
    )

    assert data["recipients"] == ["+255712000777", "+255712000778"]
    assert data["credits_used"] == 2
    assert len(sandbox_outbox(to="+255712000777")) == 1


def test_invalid_numbers_are_named_and_nothing_is_sent(api, a, on_commit):
    fund(a.tenant, 10)

    response = send(api, a.owner, on_commit, message="Hi", recipients=["+255712000779", "12ab"])

    body = assert_error(response, 400, "INVALID_PHONE_FORMAT")
    assert body["details"] == {"invalid_recipients": ["12ab"]}
    assert balance_of(a.tenant) == 10


@pytest.mark.parametrize(
    ("body", "code"),
    [
        ({"recipients": ["+255712000780"]}, "MISSING_MESSAGE"),
        ({"message": "   ", "recipients": ["+255712000780"]}, "MISSING_MESSAGE"),
        (
            {"message": "Hi", "recipients": ["+255712000780"], "sender_id": "NOPE"},
            "SENDER_ID_INVALID",
        ),
    ],
)
def test_refused_sends(api, a, on_commit, body, code):
    fund(a.tenant, 10)

    assert_error(send(api, a.owner, on_commit, **body), 400, code)
    assert balance_of(a.tenant) == 10


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"message": "Hi"}, "recipients"),
        ({"message": "Hi", "recipients": "+255712000781"}, "recipients"),
        ({"message": "x" * 1601, "recipient": "+255712000781"}, "message"),
        ({"message": "Hi", "recipient": "+255712000781", "scheduled_at": "soon"}, "scheduled_at"),
        ({"message": "Hi", "recipient": "+255712000781", "template_id": "nope"}, "template_id"),
        (
            {"message": "Hi", "recipient": "+255712000781", "scheduled_at": "2099-01-01T00:00Z"},
            "scheduled_at",
        ),
    ],
)
def test_bad_fields_are_field_errors(api, a, on_commit, body, field):
    fund(a.tenant, 10)

    assert_field_errors(send(api, a.owner, on_commit, **body), field)


def test_a_template_is_filled_per_recipient(api, a, on_commit):
    fund(a.tenant, 10)
    known = make_contact(a.tenant, name="Amina Juma")
    stranger = new_phone()
    template = ok_data(
        api(a.owner).post(
            "/api/messaging/templates/",
            {"name": "Greeting", "content": "Hello {{first_name}}!"},
            format="json",
        ),
        201,
    )

    data = ok_data(
        send(
            api,
            a.owner,
            on_commit,
            template_id=template["id"],
            recipients=[known.phone_e164, stranger],
        ),
        201,
    )

    assert data["total_recipients"] == 2
    assert sandbox_outbox(to=known.phone_e164)[0]["text"] == "Hello Amina!"
    assert sandbox_outbox(to=stranger)[0]["text"] == "Hello !"
    with tenant_context(a.tenant):
        message = Message.objects.get(recipient=known.phone_e164)
        assert message.contact_id == known.pk
        known.refresh_from_db()
        assert known.last_contacted_at == message.send_request.created_at


def test_a_scheduled_send_waits_for_the_sweep(api, a, on_commit):
    fund(a.tenant, 10)
    phone = new_phone()
    later = (timezone.now() + dt.timedelta(days=30)).replace(microsecond=0)

    data = ok_data(
        send(
            api,
            a.owner,
            on_commit,
            message="Later",
            recipient=phone,
            scheduled_at=later.isoformat(),
        ),
        201,
    )

    assert data["status"] == "scheduled"
    assert data["scheduled_at"] == later.isoformat().replace("+00:00", "Z")
    assert balance_of(a.tenant) == 9  # reserved now, so the send cannot fail for credits later
    assert sandbox_outbox(to=phone) == []
    status = ok_data(api(a.owner).get(status_url(data["message_id"])))
    assert status["status"] == "scheduled"


def test_status_shows_the_send_and_each_recipient(api, a, on_commit):
    fund(a.tenant, 10)
    phones = sorted(new_phone() for _ in range(3))
    sent = ok_data(send(api, a.owner, on_commit, message="Hi", recipients=phones), 201)

    data = ok_data(api(a.owner).get(status_url(sent["message_id"]), {"page_size": 2}))

    assert data["status"] == "delivered"
    assert data["status_counts"] == {"delivered": 3}
    assert data["total_recipients"] == 3
    assert [r["recipient"] for r in data["recipients"]] == phones[:2]
    assert data["pagination"] == {"page": 1, "per_page": 2, "total": 3, "pages": 2}
    one = data["recipients"][0]
    assert ok_data(api(a.owner).get(status_url(one["id"])))["message_id"] == sent["message_id"]


def test_messages_list_filters_and_detail(api, a, on_commit):
    fund(a.tenant, 10)
    sent = ok_data(
        send(api, a.owner, on_commit, message="Hi", recipients=[new_phone(), new_phone()]), 201
    )

    listed = ok_data(api(a.owner).get(MESSAGES, {"status": "delivered", "provider": "sandbox"}))
    assert listed["count"] == 2
    assert {m["message_id"] for m in listed["results"]} == {sent["message_id"]}
    assert ok_data(api(a.owner).get(MESSAGES, {"status": "failed"}))["count"] == 0
    assert ok_data(api(a.owner).get(MESSAGES, {"direction": "inbound"}))["count"] == 0
    assert_field_errors(api(a.owner).get(MESSAGES, {"status": "lost"}), "status")
    detail = ok_data(api(a.owner).get(f"{MESSAGES}{listed['results'][0]['id']}/"))
    assert detail["status"] == "delivered"
    assert detail["delivered_at"]


def test_the_messages_list_takes_a_fixed_number_of_queries(api, a, on_commit):
    fund(a.tenant, 100)
    send(api, a.owner, on_commit, message="Hi", recipients=[new_phone() for _ in range(3)])
    client = api(a.owner)
    client.get(MESSAGES)  # warm the caches of the first request

    with CaptureQueriesContext(connection) as few:
        client.get(MESSAGES)
    send(api, a.owner, on_commit, message="Hi", recipients=[new_phone() for _ in range(20)])
    with CaptureQueriesContext(connection) as many:
        client.get(MESSAGES)

    assert len(few) == len(many) <= 8  # as the contact list: auth, tenant, count, page


def test_delivery_reports_page_the_sends(api, a, on_commit):
    fund(a.tenant, 10)
    first = ok_data(send(api, a.owner, on_commit, message="First", recipient=new_phone()), 201)
    second = ok_data(
        send(api, a.owner, on_commit, message="Second", recipients=[new_phone(), new_phone()]),
        201,
    )

    data = ok_data(api(a.owner).get(DELIVERY_REPORTS, {"per_page": 1}))

    assert data["pagination"] == {"page": 1, "per_page": 1, "total": 2, "pages": 2}
    (report,) = data["reports"]
    assert report["message_id"] == second["message_id"]
    assert report["recipient_count"] == 2
    assert report["delivered_count"] == 2
    assert report["content_preview"] == "Second"
    assert report["status"] == "delivered"
    page_two = ok_data(api(a.owner).get(DELIVERY_REPORTS, {"per_page": 1, "page": 2}))
    assert page_two["reports"][0]["message_id"] == first["message_id"]
    assert ok_data(api(a.owner).get(DELIVERY_REPORTS, {"status": "failed"}))["reports"] == []
    assert_field_errors(api(a.owner).get(DELIVERY_REPORTS, {"per_page": 101}), "per_page")


def test_stats_count_the_period(api, a, on_commit):
    fund(a.tenant, 10)
    send(api, a.owner, on_commit, message=LONG_TEXT, recipients=[new_phone(), new_phone()])

    data = ok_data(api(a.owner).get(STATS))

    assert data["total_sent"] == 2
    assert data["total_delivered"] == 2
    assert data["total_failed"] == 0
    assert data["delivery_rate"] == 100.0
    assert data["credits_used"] == 4
    assert data["total_cost"] == 100.0
    assert set(data["period"]) == {"start", "end"}
    empty = ok_data(
        api(a.owner).get(STATS, {"start": "2020-01-01T00:00Z", "end": "2020-02-01T00:00Z"})
    )
    assert (empty["total_sent"], empty["delivery_rate"]) == (0, 0.0)


def test_balance(api, a):
    assert ok_data(api(a.owner).get(BALANCE))["balance"]["credits"] == 0
    fund(a.tenant, 25)

    balance = ok_data(api(a.owner).get(BALANCE))["balance"]

    assert balance["credits"] == 25
    assert balance["currency"] == "TZS"
    assert balance["last_updated"]


def test_another_tenant_sees_nothing(api, a, b, on_commit):
    fund(a.tenant, 10)
    sent = ok_data(send(api, a.owner, on_commit, message="Private", recipient=new_phone()), 201)
    with tenant_context(a.tenant):
        message_id = Message.objects.get().pk

    assert_error(api(b.owner).get(status_url(sent["message_id"])), 404, "NOT_FOUND")
    assert_error(api(b.owner).get(status_url(message_id)), 404, "NOT_FOUND")
    assert_error(api(b.owner).get(f"{MESSAGES}{message_id}/"), 404, "NOT_FOUND")
    assert ok_data(api(b.owner).get(MESSAGES))["count"] == 0
    assert ok_data(api(b.owner).get(DELIVERY_REPORTS))["reports"] == []
    assert ok_data(api(b.owner).get(STATS))["total_sent"] == 0
    assert ok_data(api(b.owner).get(BALANCE))["balance"]["credits"] == 0
    assert_error(api(a.owner).get(status_url(uuid.uuid4())), 404, "NOT_FOUND")


def test_an_idempotent_retry_does_not_send_twice(api, a, on_commit):
    fund(a.tenant, 10)
    phone = new_phone()
    client = api(a.owner, HTTP_IDEMPOTENCY_KEY="send-once")
    body = {"message": "Once", "recipient": phone}

    with on_commit():
        first = client.post(SEND, body, format="json")
    with on_commit():
        again = client.post(SEND, body, format="json")

    assert ok_data(again, 201) == ok_data(first, 201)
    assert again["Idempotent-Replayed"] == "true"
    assert len(sandbox_outbox(to=phone)) == 1
    assert balance_of(a.tenant) == 9
