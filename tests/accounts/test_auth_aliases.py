"""The second spellings of the auth routes the dashboard calls, and the settings forms."""

import re

import pytest
from django.core import mail
from django.test import Client

from accounts.models import User
from tests.accounts.helpers import REGISTRATION, sent_code
from tests.conftest import PASSWORD
from tests.envelope import assert_error, assert_field_errors, ok_data

PHONE = REGISTRATION["phone_number"]
SETTINGS_PROFILE = "/api/auth/settings/profile/"
PREFERENCES = "/api/auth/settings/preferences/"
NOTIFICATIONS = "/api/auth/settings/notifications/"

# Each alias and the route it spells again, with the method they share.
ALIASES = [
    ("/api/auth/settings/profile/", "/api/auth/profile/", "put"),
    ("/api/auth/forgot-password/", "/api/auth/password/reset/", "post"),
    ("/api/auth/sms/send-code/", "/api/auth/resend-activation/", "post"),
    ("/api/auth/sms/confirm-account/", "/api/auth/sms/verify-code/", "post"),
]
NEW_ROUTES = [
    ("/api/auth/settings/preferences/", "put"),
    ("/api/auth/settings/notifications/", "put"),
    ("/api/auth/sms/forgot-password/", "post"),
    ("/api/auth/sms/reset-password/", "post"),
    ("/api/auth/activate-account/{code}/", "get"),
    ("/api/auth/verify-email/{token}/", "get"),
]


@pytest.fixture
def registered(api, on_commit, db):
    with on_commit():
        assert api().post("/api/auth/register/", REGISTRATION, format="json").status_code == 201
    return User.objects.get(email=REGISTRATION["email"])


def test_both_spellings_and_the_new_routes_are_in_the_schema(db):
    schema = Client().get("/swagger.json").json()
    base = schema.get("basePath", "").rstrip("/")
    documented = {base + path: item for path, item in schema["paths"].items()}

    for alias, original, method in ALIASES:
        assert method in documented[alias], alias
        assert method in documented[original], original
    for path, method in NEW_ROUTES:
        assert method in documented[path], path
    preferences = documented[PREFERENCES]["put"]
    (body,) = [p for p in preferences["parameters"] if p["in"] == "body"]
    assert body["schema"]["$ref"].endswith("/Preferences")


def test_confirm_account_takes_verification_code_and_answers_like_verify_code(api, registered):
    response = api().post(
        "/api/auth/sms/confirm-account/",
        {"phone_number": PHONE, "verification_code": sent_code(PHONE)},
        format="json",
    )

    assert response.status_code == 200
    body = response.json()
    assert set(body) == {"message", "user", "tokens"}
    assert body["user"]["is_active"] is True


def test_confirm_account_with_a_wrong_code_is_the_same_error_as_verify_code(api, registered):
    code = sent_code(PHONE)
    wrong = "000000" if code != "000000" else "111111"

    for path in ("/api/auth/sms/confirm-account/", "/api/auth/sms/verify-code/"):
        response = api().post(path, {"phone_number": PHONE, "code": wrong}, format="json")
        assert_error(response, 400, "INVALID_VERIFICATION_CODE")
    missing = api().post("/api/auth/sms/confirm-account/", {"phone_number": PHONE}, format="json")
    assert_field_errors(missing, "code")


def test_send_code_resends_the_activation_code(api, on_commit, registered):
    with on_commit():
        known = api().post("/api/auth/sms/send-code/", {"phone_number": PHONE}, format="json")
        unknown = api().post(
            "/api/auth/sms/send-code/", {"phone_number": "+255799000333"}, format="json"
        )

    assert ok_data(known) is None
    assert known.json() == unknown.json()
    fresh = api().post(
        "/api/auth/sms/verify-code/",
        {"email": REGISTRATION["email"], "code": sent_code(PHONE)},
        format="json",
    )
    assert fresh.status_code == 200


def test_forgot_password_emails_the_reset_link_like_password_reset(api, on_commit, a, b):
    with on_commit():
        known = api().post("/api/auth/forgot-password/", {"email": a.agent.email}, format="json")
        unknown = api().post(
            "/api/auth/forgot-password/", {"email": "nobody@example.com"}, format="json"
        )

    assert ok_data(known) is None
    assert known.json() == unknown.json()
    (message,) = mail.outbox
    assert message.to == [a.agent.email]
    token = re.search(r"token=(\S+)", message.body).group(1)
    confirmed = api().post(
        "/api/auth/password/reset/confirm/",
        {"token": token, "new_password": "Another-Strong-Pass-7"},
        format="json",
    )
    assert confirmed.status_code == 200
    assert User.objects.get(pk=b.agent.pk).check_password(PASSWORD)


def test_settings_profile_reads_and_updates_the_profile(api, a, b):
    client = api(a.owner)

    read = ok_data(client.get(SETTINGS_PROFILE))
    updated = client.put(SETTINGS_PROFILE, {"first_name": "Neema"}, format="json")

    assert [m["tenant_id"] for m in read["memberships"]] == [str(a.tenant.id)]
    assert ok_data(updated)["first_name"] == "Neema"
    assert User.objects.get(pk=a.owner.pk).first_name == "Neema"
    assert User.objects.get(pk=b.owner.pk).first_name != "Neema"


def test_preferences_set_timezone_language_and_theme(api, a, b):
    response = api(a.owner).put(
        PREFERENCES,
        {"timezone": "Africa/Nairobi", "language": "sw", "theme": "dark"},
        format="json",
    )

    data = ok_data(response)
    assert response.json()["message"] == "Preferences updated."
    assert (data["timezone"], data["language"], data["theme"]) == ("Africa/Nairobi", "sw", "dark")
    assert [m["tenant_id"] for m in data["memberships"]] == [str(a.tenant.id)]
    owner = User.objects.get(pk=a.owner.pk)
    assert (owner.timezone, owner.language, owner.theme) == ("Africa/Nairobi", "sw", "dark")
    other = User.objects.get(pk=b.owner.pk)
    assert (other.language, other.theme) == ("en", User.Theme.SYSTEM)


def test_preferences_change_only_what_is_given(api, a):
    response = api(a.owner).put(PREFERENCES, {"theme": "light"}, format="json")

    data = ok_data(response)
    assert data["theme"] == "light"
    assert data["timezone"] == "Africa/Dar_es_Salaam"
    assert data["language"] == "en"


def test_preferences_ignore_fields_of_other_forms(api, a):
    response = api(a.owner).put(
        PREFERENCES, {"first_name": "Mallory", "sms_notifications": True}, format="json"
    )

    data = ok_data(response)
    assert data["first_name"] == a.owner.first_name
    assert data["sms_notifications"] is False


def test_preferences_reject_unknown_values(api, a):
    response = api(a.owner).put(
        PREFERENCES,
        {"timezone": "Mars/Olympus_Mons", "language": "klingon", "theme": "neon"},
        format="json",
    )
    bad_zone = api(a.owner).put(PREFERENCES, {"timezone": "Mars/Olympus_Mons"}, format="json")

    assert_field_errors(response, "language", "theme")
    assert_field_errors(bad_zone, "timezone")
    assert User.objects.get(pk=a.owner.pk).timezone == "Africa/Dar_es_Salaam"


def test_notifications_set_email_and_sms_choices(api, a, b):
    response = api(a.agent).put(
        NOTIFICATIONS, {"email_notifications": False, "sms_notifications": True}, format="json"
    )

    data = ok_data(response)
    assert (data["email_notifications"], data["sms_notifications"]) == (False, True)
    agent = User.objects.get(pk=a.agent.pk)
    assert (agent.email_notifications, agent.sms_notifications) == (False, True)
    other = User.objects.get(pk=b.agent.pk)
    assert (other.email_notifications, other.sms_notifications) == (True, False)


def test_notifications_reject_non_booleans(api, a):
    response = api(a.agent).put(NOTIFICATIONS, {"email_notifications": "maybe"}, format="json")

    assert_field_errors(response, "email_notifications")


@pytest.mark.parametrize("path", [SETTINGS_PROFILE, PREFERENCES, NOTIFICATIONS])
def test_settings_need_a_token(api, db, path):
    assert_error(api().put(path, {}, format="json"), 401, "AUTHENTICATION_REQUIRED")
