"""GET /api/auth/activate-account/{code}/: the link texted beside the activation code."""

import re
from datetime import timedelta
from urllib.parse import urlparse

import pytest
from django.core import signing
from django.urls import resolve
from django.utils import timezone

from accounts import views
from accounts.models import User, VerificationCode
from accounts.services import ACTIVATION_LINK_SALT
from sms.providers.sandbox import sandbox_outbox
from tests.accounts.helpers import REGISTRATION, sent_code
from tests.envelope import assert_error

PHONE = REGISTRATION["phone_number"]
VERIFY = "/api/auth/sms/verify-code/"


def sent_link_path(phone: str) -> str:
    """The path of the activation link in the newest sandbox SMS to `phone`."""
    (entry,) = sandbox_outbox(to=phone, limit=1)
    return urlparse(re.search(r"https?://\S+", entry["text"]).group(0)).path


@pytest.fixture
def registered(api, on_commit, db):
    with on_commit():
        assert api().post("/api/auth/register/", REGISTRATION, format="json").status_code == 201
    return User.objects.get(email=REGISTRATION["email"])


def test_the_sms_carries_the_code_and_a_link_to_a_real_route(registered):
    path = sent_link_path(PHONE)

    assert re.fullmatch(r"\d{6}", sent_code(PHONE))
    assert path.startswith("/api/auth/activate-account/")
    assert resolve(path).func.view_class is views.ActivateAccountView


def test_the_link_activates_once_and_answers_like_verify_code(api, registered, b):
    path = sent_link_path(PHONE)

    response = api().get(path)

    assert response.status_code == 200
    body = response.json()
    assert set(body) == {"message", "user", "tokens"}
    assert body["message"] == "Account activated successfully."
    assert body["user"]["email"] == REGISTRATION["email"]
    assert body["user"]["is_active"] is True
    assert body["user"]["phone_verified"] is True
    profile = api(HTTP_AUTHORIZATION=f"Bearer {body['tokens']['access']}").get("/api/auth/profile/")
    assert profile.status_code == 200
    assert [m["name"] for m in profile.json()["data"]["memberships"]] == ["My Business"]
    assert_error(api().get(path), 400, "ACCOUNT_ALREADY_ACTIVE")
    code_after = api().post(
        VERIFY, {"email": REGISTRATION["email"], "code": sent_code(PHONE)}, format="json"
    )
    assert_error(code_after, 400, "ACCOUNT_ALREADY_ACTIVE")


def test_a_link_activates_only_its_own_account(api, on_commit, registered):
    other = {**REGISTRATION, "email": "baraka@example.com", "phone_number": "+255614853619"}
    other.pop("subdomain")
    with on_commit():
        assert api().post("/api/auth/register/", other, format="json").status_code == 201

    assert api().get(sent_link_path(PHONE)).status_code == 200

    assert not User.objects.get(email="baraka@example.com").is_active


@pytest.mark.parametrize(
    "code",
    [
        "garbage",
        "123456",
        "999999999:forged-signature",
        signing.Signer(salt="another-salt").sign("1"),
    ],
)
def test_a_wrong_code_is_a_400_in_the_envelope(api, db, code):
    assert_error(api().get(f"/api/auth/activate-account/{code}/"), 400, "INVALID_VERIFICATION_CODE")


def test_a_link_to_a_record_that_does_not_exist_is_refused(api, db):
    token = signing.Signer(salt=ACTIVATION_LINK_SALT).sign("987654321")

    assert_error(
        api().get(f"/api/auth/activate-account/{token}/"), 400, "INVALID_VERIFICATION_CODE"
    )


def test_resending_the_code_retires_the_old_link(api, on_commit, registered):
    old = sent_link_path(PHONE)
    with on_commit():
        api().post("/api/auth/sms/send-code/", {"phone_number": PHONE}, format="json")
    new = sent_link_path(PHONE)

    assert_error(api().get(old), 400, "INVALID_VERIFICATION_CODE")
    assert api().get(new).status_code == 200


def test_an_expired_link_is_refused(api, registered):
    VerificationCode.objects.filter(user=registered).update(
        expires_at=timezone.now() - timedelta(seconds=1)
    )

    assert_error(api().get(sent_link_path(PHONE)), 400, "VERIFICATION_CODE_EXPIRED")
    assert not User.objects.get(pk=registered.pk).is_active


def test_a_code_burnt_by_wrong_guesses_takes_its_link_with_it(api, registered):
    VerificationCode.objects.filter(user=registered).update(attempts=5)

    assert_error(api().get(sent_link_path(PHONE)), 400, "TOO_MANY_ATTEMPTS")
    assert not User.objects.get(pk=registered.pk).is_active
