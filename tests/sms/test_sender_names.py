"""Sender names as the dashboard calls them: GET /api/messaging/sender-ids/ (a plain list, the
shared platform sender first with a stable id), POST sender-ids/request/ and GET
sender-ids/{id}/status/."""

import uuid

import pytest
from django.conf import settings

from sms import services
from sms.models import SenderId
from tests.envelope import assert_error, assert_field_errors, ok_data

SENDER_IDS = "/api/messaging/sender-ids/"
REQUEST = f"{SENDER_IDS}request/"
ITEM_FIELDS = {"id", "sender_id", "status", "is_default", "purpose", "created_at", "approved_at"}
DETAIL_FIELDS = ITEM_FIELDS | {"sample_message", "rejection_reason", "reviewed_at"}


def status_url(sender_id) -> str:
    return f"{SENDER_IDS}{sender_id}/status/"


def listed(client, **params) -> list[dict]:
    return ok_data(client.get(SENDER_IDS, params))


def test_the_list_starts_with_the_platform_sender_then_the_tenants_own(api, a, b):
    approved = services.sender_id_approve(
        sender_id=services.sender_id_request(tenant=a.tenant, name="Acme", purpose="Receipts")
    )
    pending = services.sender_id_request(tenant=a.tenant, name="AcmeNews")
    services.sender_id_request(tenant=b.tenant, name="Bravo")

    items = listed(api(a.agent))

    assert all(set(item) == ITEM_FIELDS for item in items)
    default, *own = items
    assert default["sender_id"] == settings.PLATFORM_SMS_SENDER
    assert (default["is_default"], default["status"]) == (True, "approved")
    assert uuid.UUID(default["id"])
    assert [(s["id"], s["is_default"]) for s in own] == [
        (str(pending.id), False),
        (str(approved.id), False),
    ]
    assert own[1]["purpose"] == "Receipts"
    assert own[1]["approved_at"] is not None
    assert own[0]["approved_at"] is None
    assert "Bravo" not in str(items)


def test_the_platform_senders_id_is_stable_across_tenants_and_requests(api, a, b):
    first = listed(api(a.owner))[0]["id"]

    assert listed(api(a.agent))[0]["id"] == first
    assert listed(api(b.owner))[0]["id"] == first


def test_the_list_filters_by_status(api, a):
    services.sender_id_request(tenant=a.tenant, name="Acme")

    pending = listed(api(a.owner), status="pending")
    assert [s["sender_id"] for s in pending] == ["Acme"]
    approved = listed(api(a.owner), status="approved")
    assert [s["sender_id"] for s in approved] == [settings.PLATFORM_SMS_SENDER]
    assert_field_errors(api(a.owner).get(SENDER_IDS, {"status": "nope"}), "status")


@pytest.mark.parametrize("why", ["reason", "purpose"])
def test_an_owner_requests_a_sender_id_with_reason_or_purpose(api, a, b, why):
    body = {"sender_id": "Acme Shop", why: "Order updates", "sample_message": "Order 12 is ready."}

    data = ok_data(api(a.owner).post(REQUEST, body, "json"), 201)

    assert set(data) == DETAIL_FIELDS
    assert (data["sender_id"], data["status"], data["is_default"]) == (
        "Acme Shop",
        "pending",
        False,
    )
    assert data["purpose"] == "Order updates"
    assert data["sample_message"] == "Order 12 is ready."
    stored = SenderId.objects.get(pk=data["id"])
    assert (stored.tenant_id, stored.created_by_id) == (a.tenant.id, a.owner.id)
    assert [s["sender_id"] for s in listed(api(b.owner))] == [settings.PLATFORM_SMS_SENDER]


def test_the_sample_message_is_optional(api, a):
    data = ok_data(
        api(a.admin).post(REQUEST, {"sender_id": "Acme", "reason": "Alerts"}, "json"), 201
    )

    assert data["sample_message"] == ""


def test_an_agent_may_not_request_a_sender_id(api, a):
    response = api(a.agent).post(REQUEST, {"sender_id": "Acme", "reason": "x"}, "json")

    assert_error(response, 403, "PERMISSION_DENIED")
    assert not SenderId.objects.filter(tenant=a.tenant).exists()


def test_a_bad_or_taken_name_is_a_field_error(api, a):
    services.sender_id_request(tenant=a.tenant, name="Acme")

    assert_field_errors(api(a.owner).post(REQUEST, {"sender_id": "12345"}, "json"), "sender_id")
    assert_field_errors(api(a.owner).post(REQUEST, {"sender_id": "acme"}, "json"), "sender_id")
    assert_field_errors(api(a.owner).post(REQUEST, {"reason": "x"}, "json"), "sender_id")


def test_the_status_of_a_request_follows_its_review(api, a):
    sender_id = services.sender_id_request(tenant=a.tenant, name="Acme")
    assert ok_data(api(a.agent).get(status_url(sender_id.id)))["status"] == "pending"

    services.sender_id_reject(sender_id=sender_id, reason="Unknown brand")
    data = ok_data(api(a.agent).get(status_url(sender_id.id)))

    assert set(data) == DETAIL_FIELDS
    assert (data["status"], data["rejection_reason"]) == ("rejected", "Unknown brand")
    assert data["reviewed_at"] is not None
    assert data["approved_at"] is None


def test_the_platform_senders_status_is_approved(api, a):
    default_id = listed(api(a.owner))[0]["id"]

    data = ok_data(api(a.agent).get(status_url(default_id)))

    assert (data["id"], data["sender_id"]) == (default_id, settings.PLATFORM_SMS_SENDER)
    assert (data["status"], data["is_default"]) == ("approved", True)


def test_another_tenants_or_an_unknown_sender_id_is_404(api, a, b):
    foreign = services.sender_id_request(tenant=b.tenant, name="Bravo")

    for missing in (foreign.id, uuid.uuid4()):
        body = assert_error(api(a.owner).get(status_url(missing)), 404, "NOT_FOUND")
        assert "Bravo" not in str(body)


def test_sender_names_need_a_token(api):
    assert_error(api().get(SENDER_IDS), 401, "AUTHENTICATION_REQUIRED")
    assert_error(api().post(REQUEST, {"sender_id": "Acme"}, "json"), 401, "AUTHENTICATION_REQUIRED")
