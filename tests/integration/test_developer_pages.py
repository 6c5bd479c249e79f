"""The developer pages: session sign-in, API keys and webhooks on the dashboard, the API
reference, and one walk through the dashboard in headless Chromium."""

import html
import tempfile
import time
from pathlib import Path

import pytest
from django.contrib.sessions.models import Session
from django.test import Client, override_settings
from django.test.testcases import LiveServerThread, _StaticFilesHandler
from selenium import webdriver
from selenium.webdriver.common.by import By
from selenium.webdriver.support import expected_conditions as shows
from selenium.webdriver.support.ui import WebDriverWait

from integration.models import ApiKey, WebhookAttempt, WebhookDelivery, WebhookEndpoint
from integration.selectors import api_key_usable
from integration.services.webhooks import webhook_endpoint_create
from mifumo.errors import ApplicationError
from tests.conftest import PASSWORD, committed
from tests.factories import UserFactory
from tests.integration.helpers import key_for

DASHBOARD = "/api/integration/dashboard/"
LOGIN = f"{DASHBOARD}login/"
LOGOUT = f"{DASHBOARD}logout/"
CREATE_KEY = f"{DASHBOARD}keys/create/"
CREATE_WEBHOOK = f"{DASHBOARD}webhooks/create/"
DOCUMENTATION = "/api/integration/documentation/"
CHROMIUM = Path("/usr/bin/chromium")
CHROMEDRIVER = Path("/usr/bin/chromedriver")


def signed_in(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def revoke_url(api_key) -> str:
    return f"{DASHBOARD}keys/{api_key.pk}/revoke/"


def webhook_url(endpoint, action: str = "") -> str:
    return f"{DASHBOARD}webhooks/{endpoint.pk}/{action}"


def endpoint_of(world, url="https://hooks.example.com/mifumo") -> WebhookEndpoint:
    return webhook_endpoint_create(
        tenant=world.tenant, url=url, events=["message.delivered"], created_by=world.owner
    )


def text(response) -> str:
    return html.unescape(response.content.decode())


# --- Signing in and out ----------------------------------------------------------------------


def test_the_dashboard_asks_an_anonymous_visitor_to_sign_in(db):
    response = Client().get(DASHBOARD)

    assert response.status_code == 302
    assert response["Location"] == f"{LOGIN}?next={DASHBOARD}"
    page = Client().get(response["Location"])
    assert page.status_code == 200
    assert 'name="csrfmiddlewaretoken"' in text(page) and 'name="password"' in text(page)


def test_sign_in_refuses_a_wrong_password_then_takes_the_right_one(a):
    client = Client(enforce_csrf_checks=True)
    client.get(LOGIN)
    token = client.cookies["csrftoken"].value
    form = {"email": a.owner.email, "csrfmiddlewaretoken": token}

    wrong = client.post(LOGIN, {**form, "password": "not-the-password"})
    assert wrong.status_code == 200
    assert "Invalid email or password." in text(wrong)
    assert client.get(DASHBOARD).status_code == 302

    right = client.post(LOGIN, {**form, "email": a.owner.email.upper(), "password": PASSWORD})
    assert right.status_code == 302 and right["Location"] == DASHBOARD
    page = client.get(DASHBOARD)
    assert page.status_code == 200
    assert a.tenant.name in text(page) and a.owner.email in text(page)


def test_sign_in_follows_next_only_within_the_site(a):
    form = {"email": a.owner.email, "password": PASSWORD}

    local = Client().post(LOGIN, {**form, "next": f"{DASHBOARD}?tab=keys"})
    foreign = Client().post(LOGIN, {**form, "next": "https://evil.example.com/"})

    assert local["Location"] == f"{DASHBOARD}?tab=keys"
    assert foreign["Location"] == DASHBOARD


def test_sign_in_and_every_change_need_the_csrf_token(a):
    anonymous = Client(enforce_csrf_checks=True)
    assert anonymous.post(LOGIN, {"email": a.owner.email, "password": PASSWORD}).status_code == 403

    owner = Client(enforce_csrf_checks=True)
    owner.force_login(a.owner)
    assert owner.post(CREATE_KEY, {"name": "Forged"}).status_code == 403
    assert not ApiKey.objects.filter(name="Forged").exists()


def test_sign_in_attempts_share_the_apis_login_rate_limit(a, api):
    client = Client()
    wrong = {"email": a.owner.email, "password": "wrong"}
    for _ in range(3):
        client.post(LOGIN, wrong)
    for _ in range(2):
        api().post("/api/auth/login/", wrong, format="json")

    blocked = client.post(LOGIN, {"email": a.owner.email, "password": PASSWORD})

    assert "Too many attempts; try again in" in text(blocked)
    assert client.get(DASHBOARD).status_code == 302


def test_sign_out_ends_the_session(a):
    client = signed_in(a.owner)

    assert client.get(LOGOUT).status_code == 405
    response = client.post(LOGOUT)

    assert response.status_code == 302 and response["Location"] == LOGIN
    assert "You are signed out." in text(client.get(LOGIN))
    assert client.get(DASHBOARD).status_code == 302


def test_a_user_without_an_active_membership_is_told_so(db):
    loner = UserFactory()
    client = signed_in(loner)

    page = client.get(DASHBOARD)
    refused = client.post(CREATE_KEY, {"name": "Nowhere"})

    assert page.status_code == 200
    assert "not an active member of any tenant" in text(page)
    assert "not an active member of any tenant" in text(refused)
    assert not ApiKey.objects.filter(name="Nowhere").exists()


# --- API keys --------------------------------------------------------------------------------


def test_a_new_key_is_shown_once_then_only_masked(a):
    client = signed_in(a.owner)

    created = client.post(CREATE_KEY, {"name": "Shop backend", "permissions": ["sms:send"]})

    assert created.status_code == 201
    api_key = ApiKey.objects.get(tenant=a.tenant, name="Shop backend")
    assert api_key.permissions == ["sms:send"] and api_key.created_by == a.owner
    issued_key = created.context["issued"].key
    assert issued_key in text(created) and created.context["issued"].secret in text(created)
    assert "Copy it now." in text(created)
    assert api_key_usable(issued_key) == api_key
    later = text(client.get(DASHBOARD))
    assert api_key.masked_key in later and "Shop backend" in later
    assert issued_key not in later and created.context["issued"].secret not in later
    assert created["Cache-Control"].startswith("max-age=0")


def test_a_key_with_no_permission_ticked_may_do_everything(a):
    signed_in(a.owner).post(CREATE_KEY, {"name": "Everything"})

    assert ApiKey.objects.get(tenant=a.tenant, name="Everything").permissions == []


def test_a_key_needs_a_name_and_known_permissions(a):
    client = signed_in(a.owner)

    nameless = client.post(CREATE_KEY, {"name": "  ", "permissions": ["sms:send"]})
    unknown = client.post(CREATE_KEY, {"name": "Odd", "permissions": ["sms:everything"]})

    assert nameless.status_code == 200 and "This field is required." in text(nameless)
    assert "sms:everything is not one of the available choices" in text(unknown)
    assert not ApiKey.objects.filter(tenant=a.tenant).exists()


def test_the_dashboard_lists_keys_and_webhooks_in_fixed_queries(a, django_assert_num_queries):
    keys = [key_for(a).api_key for _ in range(3)]
    endpoints = [endpoint_of(a, url=f"https://hooks.example.com/{n}") for n in range(2)]
    client = signed_in(a.owner)

    # session, user, membership, keys, endpoints
    with django_assert_num_queries(5):
        page = text(client.get(DASHBOARD))

    assert all(key.masked_key in page for key in keys)
    assert all(endpoint.url in page for endpoint in endpoints)


def test_a_key_is_revoked_from_the_dashboard(a):
    issued = key_for(a)
    client = signed_in(a.admin)

    response = client.post(revoke_url(issued.api_key))

    assert response.status_code == 302 and response["Location"] == DASHBOARD
    issued.api_key.refresh_from_db()
    assert issued.api_key.status == ApiKey.Status.REVOKED
    assert api_key_usable(issued.key) is None
    page = text(client.get(DASHBOARD))
    assert "is revoked." in page and "Revoked" in page
    assert revoke_url(issued.api_key) not in page


def test_an_agent_reads_but_cannot_change(a):
    issued = key_for(a)
    endpoint = endpoint_of(a)
    client = signed_in(a.agent)

    page = client.get(DASHBOARD)
    assert page.status_code == 200
    assert issued.api_key.masked_key in text(page) and endpoint.url in text(page)
    assert CREATE_KEY not in text(page) and revoke_url(issued.api_key) not in text(page)
    assert CREATE_WEBHOOK not in text(page) and webhook_url(endpoint, "delete/") not in text(page)
    assert client.get(webhook_url(endpoint)).status_code == 200

    assert client.post(CREATE_KEY, {"name": "Agent key"}).status_code == 403
    assert client.post(revoke_url(issued.api_key)).status_code == 403
    assert client.post(CREATE_WEBHOOK, {"url": "https://x.example.com/"}).status_code == 403
    assert client.post(webhook_url(endpoint, "toggle/")).status_code == 403
    assert client.post(webhook_url(endpoint, "delete/")).status_code == 403
    issued.api_key.refresh_from_db()
    endpoint.refresh_from_db()
    assert issued.api_key.status == ApiKey.Status.ACTIVE and endpoint.is_active
    assert list(ApiKey.objects.filter(tenant=a.tenant)) == [issued.api_key]
    assert list(WebhookEndpoint.objects.filter(tenant=a.tenant)) == [endpoint]


def test_another_tenants_keys_and_webhooks_are_not_found(a, b):
    foreign_key = key_for(b).api_key
    foreign_endpoint = endpoint_of(b, url="https://b.example.com/hooks")
    client = signed_in(a.owner)

    page = text(client.get(DASHBOARD))
    assert foreign_key.masked_key not in page and foreign_endpoint.url not in page
    assert client.post(revoke_url(foreign_key)).status_code == 404
    assert client.get(webhook_url(foreign_endpoint)).status_code == 404
    assert client.post(webhook_url(foreign_endpoint, "toggle/")).status_code == 404
    assert client.post(webhook_url(foreign_endpoint, "delete/")).status_code == 404
    foreign_key.refresh_from_db()
    foreign_endpoint.refresh_from_db()
    assert foreign_key.status == ApiKey.Status.ACTIVE and foreign_endpoint.is_active


# --- Webhooks --------------------------------------------------------------------------------


def test_a_new_webhook_shows_its_signing_secret_once(a):
    client = signed_in(a.owner)

    created = client.post(
        CREATE_WEBHOOK,
        {"url": "https://shop.example.com/mifumo", "events": ["message.delivered"]},
    )

    assert created.status_code == 201
    endpoint = WebhookEndpoint.objects.get(tenant=a.tenant)
    assert endpoint.url == "https://shop.example.com/mifumo"
    assert endpoint.events == ["message.delivered"] and endpoint.created_by == a.owner
    assert endpoint.secret in text(created) and "Copy the signing secret now." in text(created)
    later = text(client.get(DASHBOARD))
    assert endpoint.url in later and endpoint.secret not in later


def test_a_refused_webhook_shows_the_services_reasons(a):
    with pytest.raises(ApplicationError) as refused:
        webhook_endpoint_create(tenant=a.tenant, url="not a url", events=["message.sent"])

    response = signed_in(a.owner).post(
        CREATE_WEBHOOK, {"url": "not a url", "events": ["message.sent"]}
    )

    assert response.status_code == 200
    reasons = [m for messages in (refused.value.errors or {}).values() for m in messages]
    for reason in reasons or [refused.value.message]:
        assert str(reason) in text(response)
    assert not WebhookEndpoint.objects.filter(tenant=a.tenant).exists()


def test_a_webhook_is_switched_off_and_on_then_deleted(a):
    endpoint = endpoint_of(a)
    client = signed_in(a.owner)

    assert client.post(webhook_url(endpoint, "toggle/"))["Location"] == DASHBOARD
    endpoint.refresh_from_db()
    assert not endpoint.is_active
    assert "is disabled." in text(client.get(DASHBOARD))
    client.post(webhook_url(endpoint, "toggle/"))
    endpoint.refresh_from_db()
    assert endpoint.is_active

    assert client.post(webhook_url(endpoint, "delete/"))["Location"] == DASHBOARD
    assert not WebhookEndpoint.objects.filter(pk=endpoint.pk).exists()
    assert "is deleted." in text(client.get(DASHBOARD))


def test_a_webhooks_page_lists_its_recent_deliveries(a, django_assert_num_queries):
    endpoint = endpoint_of(a)
    for n, code in enumerate((200, 503)):
        delivery = WebhookDelivery.objects.create(
            tenant=a.tenant,
            endpoint=endpoint,
            url=endpoint.url,
            event_id=f"msg_{n}",
            event_type="message.delivered",
            payload={},
            state="succeeded" if code == 200 else "pending",
            attempts=1,
        )
        WebhookAttempt.objects.create(delivery=delivery, status_code=code)
    client = signed_in(a.agent)

    # session, user, membership, endpoint, deliveries, their attempts
    with django_assert_num_queries(6):
        page = client.get(webhook_url(endpoint))

    assert page.status_code == 200
    rows = page.context["deliveries"]
    assert [d.event_id for d in rows] == ["msg_1", "msg_0"]
    assert "503" in text(page) and "200" in text(page) and "Succeeded" in text(page)


# --- Documentation ---------------------------------------------------------------------------


@override_settings(PUBLIC_BASE_URL="https://sms.example.test/")
def test_the_documentation_needs_no_sign_in_and_uses_the_servers_address(db):
    response = Client().get(DOCUMENTATION)

    assert response.status_code == 200
    page = text(response)
    base = "https://sms.example.test/api/integration/v1"
    assert f'curl -X POST "{base}/sms/send/"' in page
    assert f'curl "{base}/sms/status/MESSAGE_ID/"' in page
    assert f'BASE_URL = "{base}"' in page and f'const BASE_URL = "{base}";' in page
    assert f"$baseUrl = '{base}';" in page and "<?php" in page
    for route in (
        "sms/send/",
        "sms/status/{message_id}/",
        "sms/delivery-reports/",
        "sms/balance/",
        "contacts/create/",
        "contacts/{id}/",
        "contacts/{id}/update/",
        "contacts/{id}/delete/",
        "contacts/search/?q=",
        "contacts/segments/create/",
        "contacts/segments/{id}/",
        "contacts/segments/{id}/update/",
        "contacts/segments/{id}/delete/",
    ):
        assert f"<code>{route}</code>" in page
    for code in (
        "AUTHENTICATION_REQUIRED",
        "INVALID_API_KEY",
        "PERMISSION_DENIED",
        "MISSING_MESSAGE",
        "INVALID_PHONE_FORMAT",
        "SENDER_ID_INVALID",
        "INSUFFICIENT_BALANCE",
        "RATE_LIMIT_EXCEEDED",
        "SMS_SEND_FAILED",
    ):
        assert code in page
    for words in ("Authorization: Bearer mif_", "Retry-After", "X-RateLimit-Remaining"):
        assert words in page
    for header in ("webhook-id", "webhook-timestamp", "webhook-signature"):
        assert f"<code>{header}</code>" in page
    for event in ("message.sent", "message.delivered", "message.failed"):
        assert f"<code>{event}</code>" in page
    assert "from standardwebhooks import Webhook" in page


def test_the_documentation_states_the_configured_rate_limits(db, settings):
    settings.RATE_LIMITS = {**settings.RATE_LIMITS, "sms_send": "7/min", "api_key": "70/hour"}

    response = Client().get(DOCUMENTATION)

    assert '<td id="limit-send">7/min</td>' in response.content.decode()
    assert '<td id="limit-overall">70/hour</td>' in response.content.decode()


# --- In a browser ----------------------------------------------------------------------------


@pytest.fixture
def live_server_url():
    """The app served from a thread on 127.0.0.1, seeing what the test commits."""
    server = LiveServerThread("127.0.0.1", _StaticFilesHandler)
    server.daemon = True
    server.start()
    server.is_ready.wait()
    if server.error:
        raise server.error
    yield f"http://127.0.0.1:{server.port}"
    server.terminate()


@pytest.fixture
def chromium():
    if not (CHROMIUM.exists() and CHROMEDRIVER.exists()):
        pytest.skip(
            f"needs {CHROMIUM} and {CHROMEDRIVER}: apt-get install chromium chromium-driver"
        )
    with tempfile.TemporaryDirectory(prefix="mifumo-chromium-") as profile:
        options = webdriver.ChromeOptions()
        options.binary_location = str(CHROMIUM)
        for flag in (
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-dev-shm-usage",
            "--disable-quic",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            f"--user-data-dir={profile}",
        ):
            options.add_argument(flag)
        driver = webdriver.Chrome(
            options=options, service=webdriver.ChromeService(executable_path=str(CHROMEDRIVER))
        )
        driver.set_page_load_timeout(10)
        try:
            yield driver
        finally:
            driver.quit()


@committed
def test_in_chromium_an_owner_signs_in_and_creates_a_key(
    committed_tenant, live_server_url, chromium
):
    owner, tenant = committed_tenant.owner, committed_tenant.tenant
    owner.set_password("Browser-Walk-42")
    owner.save(update_fields=["password"])
    wait = WebDriverWait(chromium, 5)
    started = time.monotonic()

    chromium.get(f"{live_server_url}{DASHBOARD}")
    assert chromium.current_url == f"{live_server_url}{LOGIN}?next={DASHBOARD}"
    chromium.find_element(By.NAME, "email").send_keys(owner.email)
    chromium.find_element(By.NAME, "password").send_keys("Browser-Walk-42")
    chromium.find_element(By.CSS_SELECTOR, "#login-form button[type=submit]").click()
    wait.until(shows.url_to_be(f"{live_server_url}{DASHBOARD}"))
    assert chromium.find_element(By.TAG_NAME, "h1").text == tenant.name

    chromium.find_element(By.CSS_SELECTOR, "#key-form input[name=name]").send_keys("Browser key")
    chromium.find_element(By.CSS_SELECTOR, "#key-form input[value='sms:send']").click()
    chromium.find_element(By.CSS_SELECTOR, "#key-form button[type=submit]").click()
    shown = wait.until(shows.presence_of_element_located((By.ID, "new-key-value"))).text
    api_key = ApiKey.objects.get(tenant=tenant)
    assert api_key.name == "Browser key" and api_key.permissions == ["sms:send"]
    assert api_key_usable(shown) == api_key

    chromium.get(f"{live_server_url}{DASHBOARD}")
    row = chromium.find_element(By.CSS_SELECTOR, f"tr[data-key-id='{api_key.pk}']")
    assert "Browser key" in row.text and api_key.masked_key in row.text
    assert shown not in chromium.page_source
    # The session row was committed by the server; the tenant fixture does not know of it.
    Session.objects.filter(session_key=chromium.get_cookie("sessionid")["value"]).delete()
    assert time.monotonic() - started < 15
