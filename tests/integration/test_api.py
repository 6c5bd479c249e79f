"""/api/integration/v1/: API-key authentication, scopes, the exact envelope, per-key rate
limits, and the SMS, contacts and segments routes over the dashboard's services."""

import pytest
from django_tenants.utils import tenant_context
from standardwebhooks.webhooks import Webhook

from integration.models import ApiKey
from messaging.models import Contact, SendRequest
from sms.providers.sandbox import sandbox_outbox
from tests.envelope import assert_error, ok_data
from tests.fakes.server import CallbackSink
from tests.integration.helpers import V1, key_client, key_for
from tests.messaging.helpers import make_contact
from tests.sms.helpers import fund

ENVELOPE = {"success", "message", "data", "error_code", "details"}
WEBHOOK_HEADERS = ("webhook-id", "webhook-timestamp", "webhook-signature")


def exact(response) -> dict:
    body = response.json()
    assert set(body) == ENVELOPE, body
    return body


def send(client, on_commit, body):
    with on_commit():
        return client.post(f"{V1}sms/send/", body, format="json")


def test_the_quick_reference_example_works_verbatim(a, on_commit):
    """The seed's curl: POST .../v1/sms/send/ with its own body, once a key and credits exist."""
    fund(a.tenant, 5)
    client = key_client(key_for(a).key)

    response = send(
        client, on_commit, {"message": "Hello from Mifumo SMS!", "recipients": ["+255123456789"]}
    )

    data = ok_data(response, 201)
    assert exact(response)["error_code"] is None
    assert data["recipients"] == ["+255123456789"]
    assert sandbox_outbox(to="+255123456789")[0]["text"] == "Hello from Mifumo SMS!"
    status = ok_data(client.get(f"{V1}sms/status/{data['message_id']}/"))
    assert status["status"] == "delivered"
    reports = ok_data(client.get(f"{V1}sms/delivery-reports/", {"per_page": 100}))
    assert reports["reports"][0]["message_id"] == data["message_id"]
    assert reports["pagination"] == {"page": 1, "per_page": 100, "total": 1, "pages": 1}
    assert ok_data(client.get(f"{V1}sms/balance/"))["balance"]["credits"] == 4
    with tenant_context(a.tenant):
        assert SendRequest.objects.get().source == "api"


def test_without_a_key_or_with_a_bad_one_it_is_401(a, api):
    assert (
        exact(assert_error_response(api().get(f"{V1}sms/balance/"), 401))["error_code"]
        == "AUTHENTICATION_REQUIRED"
    )
    bad = key_client("mif_" + "x" * 43).get(f"{V1}sms/balance/")
    assert exact(bad)["error_code"] == "INVALID_API_KEY"
    jwt = api(a.owner).get(f"{V1}sms/balance/")  # a dashboard token is not an API key
    assert_error(jwt, 401, "INVALID_API_KEY")


def assert_error_response(response, status):
    assert response.status_code == status, response.content
    return response


def test_a_revoked_key_fails_at_once(a):
    issue = key_for(a)
    client = key_client(issue.key)
    ok_data(client.get(f"{V1}sms/balance/"))

    ApiKey.objects.filter(pk=issue.api_key.pk).update(status="revoked")

    assert_error(client.get(f"{V1}sms/balance/"), 401, "INVALID_API_KEY")


def test_a_key_counts_its_uses(a):
    issue = key_for(a)

    key_client(issue.key).get(f"{V1}sms/balance/")
    key_client(issue.key).get(f"{V1}sms/balance/")

    issue.api_key.refresh_from_db()
    assert issue.api_key.total_uses == 2
    assert issue.api_key.last_used_at is not None


def test_scopes_are_enforced(a, on_commit):
    client = key_client(key_for(a, permissions=["contacts:read"]).key)

    response = send(client, on_commit, {"message": "Hi", "recipients": ["+255712000001"]})

    body = assert_error(response, 403, "PERMISSION_DENIED")
    assert "sms:send" in body["message"]
    ok_data(client.get(f"{V1}contacts/search/", {"q": "x"}))


@pytest.mark.parametrize(
    ("body", "status", "code"),
    [
        ({"recipients": ["+255712000001"]}, 400, "MISSING_MESSAGE"),
        ({"message": "Hi", "recipients": ["0751234567"]}, 400, "INVALID_PHONE_FORMAT"),
        ({"message": "Hi", "recipients": ["255123456789"]}, 400, "INVALID_PHONE_FORMAT"),
        ({"message": "Hi", "recipients": ["+1"]}, 400, "INVALID_PHONE_FORMAT"),
        ({"message": "Hi", "recipients": ["+255712000001"], "sender_id": "X"}, 400,
         "SENDER_ID_INVALID"),
        ({"message": "x" * 600, "recipients": ["+255712000001"]}, 402, "INSUFFICIENT_BALANCE"),
    ],
)  # fmt: skip
def test_refused_sends(a, on_commit, body, status, code):
    fund(a.tenant, 1)

    response = send(key_client(key_for(a).key), on_commit, body)

    assert exact(response)["error_code"] == code
    assert response.status_code == status


def test_refused_numbers_are_listed_in_details_and_nothing_is_sent(a, on_commit):
    fund(a.tenant, 5)
    body = {
        "message": "Hi",
        "recipient": "0751234567",
        "recipients": ["+255712000001", "255123456789", "+1"],
        "sender_id": "X",  # a refused number is reported before anything else
    }

    response = send(key_client(key_for(a).key), on_commit, body)

    refused = assert_error(response, 400, "INVALID_PHONE_FORMAT")
    assert set(refused) == ENVELOPE
    assert refused["details"] == {"invalid_recipients": ["0751234567", "255123456789", "+1"]}
    with tenant_context(a.tenant):
        assert not SendRequest.objects.exists()


def test_a_refused_contact_number_wins_over_other_field_errors(a):
    client = key_client(key_for(a).key)
    body = {"phone_number": "0712000004", "email": "not an email"}

    created = client.post(f"{V1}contacts/create/", body, format="json")

    refused = assert_error(created, 400, "INVALID_PHONE_FORMAT")
    assert list(refused["details"]) == ["phone_number"]
    assert refused["message"] == refused["details"]["phone_number"][0]
    with tenant_context(a.tenant):
        assert not Contact.objects.exists()


def test_field_errors_are_in_details(a, on_commit):
    response = send(key_client(key_for(a).key), on_commit, {"message": "Hi", "recipients": "x"})

    body = assert_error(response, 400, "VALIDATION_ERROR")
    assert set(body) == ENVELOPE
    assert "recipients" in body["details"]


def test_a_sends_webhook_url_is_kept(a, on_commit):
    fund(a.tenant, 1)
    body = {"message": "Hi", "recipients": ["+255712000002"], "webhook_url": "https://x.example/h"}

    ok_data(send(key_client(key_for(a).key), on_commit, body), 201)

    with tenant_context(a.tenant):
        assert SendRequest.objects.get().webhook_url == "https://x.example/h"


def test_rate_limits_are_per_key_with_headers(a, settings):
    settings.RATE_LIMITS = {**settings.RATE_LIMITS, "balance": "2/min"}
    first, second = key_for(a), key_for(a)
    client = key_client(first.key)

    answers = [client.get(f"{V1}sms/balance/") for _ in range(3)]

    assert [r.status_code for r in answers] == [200, 200, 429]
    assert answers[0]["X-RateLimit-Limit"] == "2"
    assert answers[1]["X-RateLimit-Remaining"] == "0"
    assert int(answers[2]["Retry-After"]) >= 1
    assert exact(answers[2])["error_code"] == "RATE_LIMIT_EXCEEDED"
    ok_data(key_client(second.key).get(f"{V1}sms/balance/"))


def test_contacts_through_the_integration_api(a):
    client = key_client(key_for(a).key)
    body = {"name": "Asha", "phone_number": "+255712000003", "email": "asha@example.com",
            "tags": ["VIP"]}  # fmt: skip

    created = ok_data(client.post(f"{V1}contacts/create/", body, format="json"), 201)
    assert created["tags"] == ["vip"]
    contact_url = f"{V1}contacts/{created['id']}/"
    assert ok_data(client.get(contact_url))["name"] == "Asha"
    updated = ok_data(client.put(f"{contact_url}update/", {"name": "Asha J"}, format="json"))
    assert updated["name"] == "Asha J"
    found = ok_data(client.get(f"{V1}contacts/search/", {"q": "asha j"}))
    assert [c["id"] for c in found["results"]] == [created["id"]]
    ok_data(client.delete(f"{contact_url}delete/"))
    assert_error(client.get(contact_url), 404, "NOT_FOUND")
    assert_error(client.put(contact_url, {"name": "x"}, format="json"), 405, "METHOD_NOT_ALLOWED")


def test_a_local_number_is_refused_for_a_contact(a):
    client = key_client(key_for(a).key)

    response = client.post(
        f"{V1}contacts/create/", {"name": "B", "phone_number": "0712000004"}, format="json"
    )

    assert_error(response, 400, "INVALID_PHONE_FORMAT")


@pytest.mark.parametrize("body", [[None, None], "+255712000004", 7])
def test_a_contact_body_that_is_not_an_object_is_a_400(a, body):
    client = key_client(key_for(a).key)
    contact = make_contact(a.tenant, name="Asha")

    created = client.post(f"{V1}contacts/create/", body, format="json")
    updated = client.put(f"{V1}contacts/{contact.pk}/update/", body, format="json")

    assert exact(assert_error_response(created, 400))["error_code"] == "VALIDATION_ERROR"
    assert exact(assert_error_response(updated, 400))["error_code"] == "VALIDATION_ERROR"


def test_segments_through_the_integration_api(a):
    client = key_client(key_for(a).key)

    created = ok_data(
        client.post(
            f"{V1}contacts/segments/create/",
            {"name": "VIPs", "filter_json": {"tags": ["vip"]}},
            format="json",
        ),
        201,
    )
    url = f"{V1}contacts/segments/{created['id']}/"
    assert ok_data(client.get(url))["name"] == "VIPs"
    assert ok_data(client.put(f"{url}update/", {"name": "Top"}, format="json"))["name"] == "Top"
    ok_data(client.delete(f"{url}delete/"))
    assert_error(client.get(url), 404, "NOT_FOUND")


def test_a_key_never_reaches_another_tenants_data(a, b, on_commit):
    fund(b.tenant, 5)
    theirs = key_client(key_for(b).key)
    sent = ok_data(send(theirs, on_commit, {"message": "B", "recipients": ["+255712000005"]}), 201)
    with tenant_context(b.tenant):
        contact = Contact.objects.create(phone_e164="+255712000006", name="B's")
    mine = key_client(key_for(a).key)

    assert_error(mine.get(f"{V1}sms/status/{sent['message_id']}/"), 404, "NOT_FOUND")
    assert_error(mine.get(f"{V1}contacts/{contact.pk}/"), 404, "NOT_FOUND")
    assert ok_data(mine.get(f"{V1}sms/delivery-reports/"))["reports"] == []
    assert ok_data(mine.get(f"{V1}contacts/search/", {"q": "B's"}))["count"] == 0


def test_a_send_reports_sent_and_delivered_to_its_webhooks_signed(api, a, on_commit, settings):
    """The issue's journey: a key sends with a webhook_url and an endpoint subscribed; both
    receive message.sent then message.delivered, each verifiable with standardwebhooks."""
    settings.WEBHOOKS_ALLOW_PRIVATE_TARGETS = True
    fund(a.tenant, 5)
    with CallbackSink() as per_send, CallbackSink() as subscribed:
        endpoint = ok_data(
            api(a.owner).post(
                "/api/auth/webhooks/create/",
                {"url": f"{subscribed.url}/hooks", "events": ["message.delivered"]},
                format="json",
            ),
            201,
        )
        body = {
            "message": "Hello",
            "recipients": ["+255712000007"],
            "webhook_url": f"{per_send.url}/mine",
        }
        sent = ok_data(send(key_client(key_for(a).key), on_commit, body), 201)

    overview = ok_data(api(a.owner).get("/api/auth/settings/"))
    per_send_secret = overview["webhook_url_signing_secret"]
    events = [verified(request, per_send_secret) for request in per_send.requests]
    # Webhooks promise no order (the sandbox may report delivery before the send is recorded).
    assert sorted(e["type"] for e in events) == ["message.delivered", "message.sent"]
    assert {e["data"]["message_id"] for e in events} == {sent["message_id"]}
    (delivered,) = [verified(request, endpoint["secret"]) for request in subscribed.requests]
    assert delivered["type"] == "message.delivered"
    assert delivered["data"]["recipient"] == "+255712000007"
    assert overview["webhooks"][0]["total_deliveries"] == 1
    assert overview["api_keys"][0]["api_key"].endswith("********")


def verified(request, secret: str) -> dict:
    headers = {name: request.headers[name] for name in WEBHOOK_HEADERS}
    return Webhook(secret).verify(request.body, headers)
