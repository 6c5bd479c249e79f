"""The link in the verification email opens a real route, which verifies the email."""

import re
from urllib.parse import urlparse

from django.core import mail, signing
from django.urls import resolve

from accounts import views
from accounts.models import User
from accounts.services import EMAIL_VERIFICATION_SALT
from tests.accounts.helpers import REGISTRATION
from tests.envelope import assert_error, ok_data


def _emailed_link_path() -> str:
    (message,) = mail.outbox
    return urlparse(re.search(r"https?://\S+", message.body).group(0)).path


def test_the_emailed_link_resolves_and_verifies_the_email(api, on_commit, db, settings):
    settings.PUBLIC_BASE_URL = "https://api.mifumo.example"
    with on_commit():
        api().post("/api/auth/register/", REGISTRATION, format="json")
    (message,) = mail.outbox
    assert "https://api.mifumo.example/api/auth/verify-email/" in message.body
    path = _emailed_link_path()
    assert resolve(path).func.view_class is views.VerifyEmailLinkView

    response = api().get(path)

    data = ok_data(response)
    assert response.json()["message"] == "Email verified."
    assert data["email_verified"] is True
    assert User.objects.get(email=REGISTRATION["email"]).email_verified
    # Opening it again (a mail scanner got there first) still answers success.
    assert ok_data(api().get(path))["email_verified"] is True


def test_the_token_of_the_link_also_works_with_post_verify_email(api, on_commit, db):
    with on_commit():
        api().post("/api/auth/register/", REGISTRATION, format="json")
    token = _emailed_link_path().rstrip("/").rsplit("/", 1)[1]

    response = api().post("/api/auth/verify-email/", {"token": token}, format="json")

    assert ok_data(response)["email_verified"] is True


def test_a_bad_link_is_a_400_in_the_envelope(api, a, b):
    forged = signing.dumps({"uid": b.owner.pk, "email": b.owner.email}, salt="other")

    for token in ("garbage", forged):
        response = api().get(f"/api/auth/verify-email/{token}/")
        assert_error(response, 400, "INVALID_EMAIL_TOKEN")
    assert not User.objects.get(pk=b.owner.pk).email_verified


def test_a_link_verifies_only_its_own_user(api, a, b):
    token = signing.dumps({"uid": a.owner.pk, "email": a.owner.email}, salt=EMAIL_VERIFICATION_SALT)

    assert ok_data(api().get(f"/api/auth/verify-email/{token}/"))["email"] == a.owner.email

    assert not User.objects.get(pk=b.owner.pk).email_verified
