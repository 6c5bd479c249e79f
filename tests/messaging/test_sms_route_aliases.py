"""The seeds' other spellings of the SMS routes: every route under /api/messaging/sms/ also at
/api/messaging/sms/sms/ ("Complete API Documentation"), send-bulk/ and quick/ for send/, the
beem/ routes, and sms/templates/ and sms/messages/ (the SMS channel only)."""

import uuid

import pytest
from django.urls import reverse
from django_tenants.utils import tenant_context

from messaging.models import Channel, Message, SendRequest, Template
from tests.envelope import assert_error, ok_data
from tests.fakes.beem import FakeBeem
from tests.messaging.helpers import make_template, message_fields, new_phone
from tests.sms.helpers import fund

PREFIXES = ["/api/messaging/sms/", "/api/messaging/sms/sms/"]
SEND_ROUTES = ["send/", "send-bulk/", "quick/", "beem/send/", "beem/send-bulk/"]
STATUS_ROUTES = ["{id}/status/", "beem/{id}/status/"]
# The body "Complete API Documentation" prints for beem/send/ (encoding is chosen for the text).
BEEM_BODY = {"message": "Hello from Mifumo WMS!", "sender_id": "Taarifa-SMS", "encoding": 0}


def send(api, user, on_commit, url="/api/messaging/sms/send/", **body):
    with on_commit():
        return api(user).post(url, {**BEEM_BODY, "recipients": [new_phone()], **body}, "json")


def sends_of(tenant) -> list[SendRequest]:
    with tenant_context(tenant):
        return list(SendRequest.objects.all())


def make_message(tenant, channel: str) -> Message:
    with tenant_context(tenant):
        return Message.objects.create(
            **message_fields(
                channel=channel, status=Message.Status.DELIVERED, text="Habari", credits=0
            )
        )


# --- sends


@pytest.mark.parametrize("prefix", PREFIXES)
@pytest.mark.parametrize("route", SEND_ROUTES)
def test_every_send_spelling_sends_through_the_tenants_provider(
    api, a, b, on_commit, prefix, route
):
    fund(a.tenant, 5)

    data = ok_data(send(api, a.owner, on_commit, url=prefix + route), 201)

    assert data["total_recipients"] == 1
    assert data["sender_id"] == "Taarifa-SMS"
    assert data["status"] == "queued"
    (sent,) = sends_of(a.tenant)
    assert str(sent.pk) == data["message_id"]
    with tenant_context(a.tenant):
        assert set(sent.messages.values_list("provider", flat=True)) == {"sandbox"}
    assert sends_of(b.tenant) == []


@pytest.mark.parametrize("prefix", PREFIXES)
def test_a_send_alias_keeps_the_send_rules(api, a, on_commit, prefix):
    response = send(api, a.owner, on_commit, url=prefix + "beem/send/")

    assert_error(response, 402, "INSUFFICIENT_BALANCE")


@pytest.mark.parametrize("prefix", PREFIXES)
@pytest.mark.parametrize("route", STATUS_ROUTES)
def test_every_status_spelling_answers_for_the_tenants_send_only(
    api, a, b, on_commit, prefix, route
):
    fund(a.tenant, 5)
    fund(b.tenant, 5)
    own = ok_data(send(api, a.owner, on_commit), 201)["message_id"]
    foreign = ok_data(send(api, b.owner, on_commit), 201)["message_id"]

    data = ok_data(api(a.owner).get(prefix + route.format(id=own)))

    assert data["message_id"] == own
    assert data["total_recipients"] == 1
    for missing in (foreign, uuid.uuid4()):
        response = api(a.owner).get(prefix + route.format(id=missing))
        assert_error(response, 404, "NOT_FOUND")


# --- balance, stats, phone check, provider check


@pytest.mark.parametrize("prefix", PREFIXES)
def test_balance_and_stats_answer_at_both_prefixes(api, a, b, prefix):
    fund(a.tenant, 7)
    fund(b.tenant, 99)

    assert ok_data(api(a.agent).get(prefix + "balance/"))["balance"]["credits"] == 7
    assert ok_data(api(a.agent).get(prefix + "stats/"))["total_messages"] == 0


@pytest.mark.parametrize("prefix", PREFIXES)
@pytest.mark.parametrize("route", ["validate-phone/", "beem/validate-phone/"])
def test_every_phone_check_spelling(api, a, prefix, route):
    data = ok_data(api(a.agent).post(prefix + route, {"phone_number": "0712345678"}, "json"))

    assert data["valid"] is True
    assert data["e164"] == "+255712345678"


@pytest.mark.parametrize("prefix", PREFIXES)
@pytest.mark.parametrize("route", ["test-connection/", "beem/test-connection/"])
def test_every_provider_check_spelling(api, a, prefix, route):
    data = ok_data(api(a.agent).get(prefix + route))

    assert data["provider"] == "sandbox"
    assert data["ok"] is True


# --- beem/balance/: the tenant's credits; the provider account's only for staff


@pytest.mark.parametrize("prefix", PREFIXES)
def test_beem_balance_is_the_tenants_credits_for_a_user(api, a, b, prefix):
    fund(a.tenant, 12)
    fund(b.tenant, 99)

    data = ok_data(api(a.owner).get(prefix + "beem/balance/"))

    assert data == ok_data(api(a.owner).get(prefix + "balance/"))
    assert data["balance"]["credits"] == 12
    assert "provider_balance" not in data


@pytest.fixture
def staff(a):
    a.owner.is_staff = True
    a.owner.save(update_fields=["is_staff"])
    return a.owner


def test_beem_balance_adds_the_provider_account_for_staff(api, a, staff):
    fund(a.tenant, 3)

    data = ok_data(api(staff).get("/api/messaging/sms/sms/beem/balance/"))

    assert data["balance"]["credits"] == 3
    assert data["provider_balance"] == {
        "provider": "sandbox",
        "available": True,
        "credits": None,
        "currency": None,
        "unlimited": True,
        "detail": "",
    }


@pytest.fixture
def beem(settings):
    with FakeBeem() as fake:
        settings.SMS_PROVIDER = "beem"
        settings.BEEM_API_KEY = fake.api_key
        settings.BEEM_SECRET_KEY = fake.secret_key
        settings.BEEM_SEND_URL = fake.send_url
        settings.BEEM_BALANCE_URL = fake.balance_url
        settings.BEEM_TIMEOUT_SECONDS = 0.5
        yield fake


def test_staff_see_the_vendors_beem_balance_and_never_its_credentials(api, a, staff, beem):
    beem.credit_balance = 1234.5

    response = api(staff).get("/api/messaging/sms/beem/balance/")

    provider = ok_data(response)["provider_balance"]
    assert (provider["provider"], provider["available"], provider["credits"]) == (
        "beem",
        True,
        1234.5,
    )
    assert beem.api_key.encode() not in response.content
    assert beem.secret_key.encode() not in response.content


def test_a_refused_provider_balance_is_a_reason_not_an_error(api, a, staff, beem, settings):
    settings.BEEM_SECRET_KEY = "wrong"

    response = api(staff).get("/api/messaging/sms/beem/balance/")

    provider = ok_data(response)["provider_balance"]
    assert (provider["available"], provider["credits"]) == (False, None)
    assert "HTTP 401" in provider["detail"]
    assert b"wrong" not in response.content


def test_an_unconfigured_provider_balance_says_so(api, a, staff, beem, settings):
    settings.BEEM_API_KEY = ""

    provider = ok_data(api(staff).get("/api/messaging/sms/beem/balance/"))["provider_balance"]

    assert provider["available"] is False
    assert "not set" in provider["detail"]
    assert beem.requests == []


# --- sms/templates/ and sms/messages/: the SMS channel only


@pytest.mark.parametrize("prefix", PREFIXES)
def test_sms_templates_lists_the_tenants_sms_templates_only(api, a, b, prefix):
    sms = make_template(a.tenant, name="Karibu")
    make_template(a.tenant, name="WhatsApp hello", channel=Channel.WHATSAPP)
    make_template(b.tenant, name="B's template")

    data = ok_data(api(a.agent).get(prefix + "templates/"))

    assert [t["id"] for t in data["results"]] == [str(sms.id)]
    assert data["count"] == 1
    asked_for_all = ok_data(api(a.agent).get(prefix + "templates/", {"channel": "all"}))
    assert [t["id"] for t in asked_for_all["results"]] == [str(sms.id)]


@pytest.mark.parametrize("prefix", PREFIXES)
def test_sms_templates_creates_an_sms_template(api, a, b, prefix):
    body = {"name": "Promo", "body_text": "Hi {{name}}", "channel": "whatsapp"}

    data = ok_data(api(a.agent).post(prefix + "templates/", body, "json"), 201)

    assert (data["channel"], data["content"], data["variables"]) == ("sms", "Hi {{name}}", ["name"])
    assert data["approval_status"] == "approved"
    with tenant_context(a.tenant):
        assert Template.objects.get(pk=data["id"]).channel == Channel.SMS
    with tenant_context(b.tenant):
        assert not Template.objects.filter(pk=data["id"]).exists()


@pytest.mark.parametrize("prefix", PREFIXES)
def test_sms_messages_lists_the_tenants_sms_messages_only(api, a, b, prefix):
    sms = make_message(a.tenant, Channel.SMS)
    make_message(a.tenant, Channel.WHATSAPP)
    make_message(b.tenant, Channel.SMS)

    data = ok_data(api(a.agent).get(prefix + "messages/"))

    assert [m["id"] for m in data["results"]] == [str(sms.id)]
    asked_for_whatsapp = ok_data(api(a.agent).get(prefix + "messages/", {"channel": "whatsapp"}))
    assert [m["id"] for m in asked_for_whatsapp["results"]] == [str(sms.id)]


# --- sender IDs at the literal path


def test_the_literal_sender_ids_route_lists_and_requests(api, a, b):
    url = "/api/messaging/sms/sms/sender-ids/"

    created = ok_data(
        api(a.owner).post(url, {"sender_id": "Acme", "purpose": "Orders"}, "json"), 201
    )

    assert created["status"] == "pending"
    assert [s["id"] for s in ok_data(api(a.agent).get(url))["results"]] == [created["id"]]
    assert ok_data(api(b.owner).get(url))["results"] == []


# --- one view, two spellings


def test_reverse_still_finds_the_canonical_routes():
    assert reverse("sms-send") == "/api/messaging/sms/send/"
    assert reverse("sms-status", args=[uuid.UUID(int=1)]).startswith("/api/messaging/sms/0000")
    assert reverse("sms-template-list") == "/api/messaging/sms/templates/"
    assert reverse("sms-literal:sms-send") == "/api/messaging/sms/sms/send/"


def test_an_unauthenticated_alias_is_401(api):
    response = api().post("/api/messaging/sms/sms/beem/send/", BEEM_BODY, "json")

    assert_error(response, 401, "AUTHENTICATION_REQUIRED")


# --- the schema lists both spellings

ALIASES = {
    ("/api/messaging/sms/send-bulk/", "post"),
    ("/api/messaging/sms/quick/", "post"),
    ("/api/messaging/sms/beem/send/", "post"),
    ("/api/messaging/sms/beem/send-bulk/", "post"),
    ("/api/messaging/sms/beem/test-connection/", "get"),
    ("/api/messaging/sms/beem/validate-phone/", "post"),
    ("/api/messaging/sms/beem/{message_id}/status/", "get"),
    ("/api/messaging/sms/beem/balance/", "get"),
    ("/api/messaging/sms/templates/", "get"),
    ("/api/messaging/sms/templates/", "post"),
    ("/api/messaging/sms/messages/", "get"),
    ("/api/messaging/sender-ids/", "get"),
    ("/api/messaging/sender-ids/request/", "post"),
    ("/api/messaging/sender-ids/{sender_id_pk}/status/", "get"),
    ("/api/tenants/{tenant_id}/team/", "get"),
    ("/api/tenants/{tenant_id}/team/invite/", "post"),
}
SMS = "/api/messaging/sms/"
LITERAL = "/api/messaging/sms/sms/"


def test_swagger_lists_every_alias_and_every_sms_route_twice(client, db):
    schema = client.get("/swagger.json").json()
    base = schema.get("basePath", "").rstrip("/")
    documented = {
        (base + path, method)
        for path, item in schema["paths"].items()
        for method in item
        if method != "parameters"
    }

    assert ALIASES - documented == set()
    sms = {(p, m) for p, m in documented if p.startswith(SMS) and not p.startswith(LITERAL)}
    literal = {(p.replace(LITERAL, SMS, 1), m) for p, m in documented if p.startswith(LITERAL)}
    assert sms == literal
