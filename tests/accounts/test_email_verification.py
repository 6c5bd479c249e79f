import re

from django.core import mail, signing

from accounts.models import User
from accounts.services import EMAIL_VERIFICATION_SALT
from tests.accounts.helpers import REGISTRATION

VERIFY_EMAIL = "/api/auth/verify-email/"


def test_the_registration_email_token_verifies_the_email(api, on_commit, db):
    with on_commit():
        api().post("/api/auth/register/", REGISTRATION, format="json")
    token = re.search(r"/api/auth/verify-email/([^/\s]+)/", mail.outbox[0].body).group(1)

    response = api().post(VERIFY_EMAIL, {"token": token}, format="json")

    assert response.status_code == 200
    assert response.json()["data"]["email_verified"] is True
    assert User.objects.get(email=REGISTRATION["email"]).email_verified


def test_a_token_for_an_old_email_or_a_forged_one_is_refused(api, a):
    stale = signing.dumps(
        {"uid": a.owner.pk, "email": "old@example.com"}, salt=EMAIL_VERIFICATION_SALT
    )
    forged = signing.dumps({"uid": a.owner.pk, "email": a.owner.email}, salt="other")

    for token in (stale, forged, "garbage"):
        response = api().post(VERIFY_EMAIL, {"token": token}, format="json")
        assert response.status_code == 400
        assert response.json()["error_code"] == "INVALID_EMAIL_TOKEN"


def test_verify_email_needs_a_token(api, db):
    response = api().post(VERIFY_EMAIL, {}, format="json")

    assert response.status_code == 400
    assert "token" in response.json()["errors"]
