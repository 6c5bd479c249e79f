from datetime import timedelta

import pytest
from django.utils import timezone

from accounts.models import User, VerificationCode
from tests.accounts.helpers import REGISTRATION, sent_code

VERIFY = "/api/auth/sms/verify-code/"
RESEND = "/api/auth/resend-activation/"
PHONE = REGISTRATION["phone_number"]


@pytest.fixture
def registered(api, on_commit, db):
    with on_commit():
        assert api().post("/api/auth/register/", REGISTRATION, format="json").status_code == 201
    return User.objects.get(email=REGISTRATION["email"])


def test_the_texted_code_activates_the_account_and_signs_in(api, registered):
    response = api().post(VERIFY, {"phone_number": PHONE, "code": sent_code(PHONE)}, format="json")

    assert response.status_code == 200
    body = response.json()
    assert set(body) == {"message", "user", "tokens"}
    assert body["user"]["is_active"] is True
    assert body["user"]["phone_verified"] is True
    assert body["user"]["is_verified"] is True
    assert body["tokens"]["access"] and body["tokens"]["refresh"]
    profile = api(HTTP_AUTHORIZATION=f"Bearer {body['tokens']['access']}").get("/api/auth/profile/")
    assert profile.status_code == 200


def test_the_code_also_works_with_the_email_and_a_local_phone_spelling(api, registered):
    code = sent_code(PHONE)

    by_local = api().post(VERIFY, {"phone_number": "0614853618", "code": code}, format="json")

    assert by_local.status_code == 200
    again = api().post(VERIFY, {"email": REGISTRATION["email"], "code": code}, format="json")
    assert again.status_code == 400
    assert again.json()["error_code"] == "ACCOUNT_ALREADY_ACTIVE"


def test_a_wrong_code_counts_an_attempt_and_five_lock_the_code(api, registered):
    code = sent_code(PHONE)
    wrong = "000000" if code != "000000" else "111111"
    for n in range(5):
        response = api().post(
            VERIFY, {"phone_number": PHONE, "code": wrong}, format="json", REMOTE_ADDR=f"10.0.0.{n}"
        )
        assert response.status_code == 400
        assert response.json()["error_code"] == "INVALID_VERIFICATION_CODE"

    locked = api().post(VERIFY, {"phone_number": PHONE, "code": code}, format="json")

    assert locked.status_code == 400
    assert locked.json()["error_code"] == "TOO_MANY_ATTEMPTS"
    assert VerificationCode.objects.get(user=registered).attempts == 5
    assert not User.objects.get(pk=registered.pk).is_active


def test_an_expired_code_is_refused(api, registered):
    VerificationCode.objects.filter(user=registered).update(
        expires_at=timezone.now() - timedelta(seconds=1)
    )

    response = api().post(VERIFY, {"phone_number": PHONE, "code": sent_code(PHONE)}, format="json")

    assert response.status_code == 400
    assert response.json()["error_code"] == "VERIFICATION_CODE_EXPIRED"


def test_codes_expire_after_ten_minutes(registered):
    record = VerificationCode.objects.get(user=registered)

    assert record.expires_at - record.created_at == pytest.approx(
        timedelta(minutes=10), abs=timedelta(seconds=5)
    )


def test_resend_retires_the_old_code(api, on_commit, registered):
    old = sent_code(PHONE)
    with on_commit():
        response = api().post(RESEND, {"email": REGISTRATION["email"]}, format="json")
    new = sent_code(PHONE)

    assert response.status_code == 200
    assert response.json()["success"] is True
    if old != new:
        stale = api().post(VERIFY, {"phone_number": PHONE, "code": old}, format="json")
        assert stale.status_code == 400
    fresh = api().post(VERIFY, {"email": REGISTRATION["email"], "code": new}, format="json")
    assert fresh.status_code == 200


def test_resend_by_phone_and_for_unknown_accounts_answers_the_same(api, on_commit, registered):
    with on_commit():
        known = api().post(RESEND, {"phone_number": PHONE}, format="json")
    unknown = api().post(RESEND, {"email": "nobody@example.com"}, format="json")

    assert known.status_code == unknown.status_code == 200
    assert known.json()["message"] == unknown.json()["message"]
    assert VerificationCode.objects.filter(user=registered).count() == 2


def test_one_account_gets_at_most_five_codes_an_hour(api, on_commit, registered):
    for n in range(4):
        with on_commit():
            response = api().post(
                RESEND, {"email": REGISTRATION["email"]}, format="json", REMOTE_ADDR=f"10.0.0.{n}"
            )
        assert response.status_code == 200

    sixth = api().post(
        RESEND, {"email": REGISTRATION["email"]}, format="json", REMOTE_ADDR="10.9.9.9"
    )

    assert sixth.status_code == 429
    assert sixth.json()["error_code"] == "RATE_LIMIT_EXCEEDED"


@pytest.mark.parametrize(
    "body",
    [
        {"phone_number": PHONE},
        {"phone_number": PHONE, "code": "12ab56"},
        {"code": "123456"},
        {"email": "nope", "code": "123456"},
    ],
)
def test_verify_rejects_bad_input(api, db, body):
    response = api().post(VERIFY, body, format="json")

    assert response.status_code == 400
    assert response.json()["error_code"] == "VALIDATION_ERROR"
    assert response.json()["errors"]


def test_verify_for_an_unknown_number_is_a_generic_error(api, db):
    response = api().post(
        VERIFY, {"phone_number": "+255700999888", "code": "123456"}, format="json"
    )

    assert response.status_code == 400
    assert response.json()["error_code"] == "INVALID_VERIFICATION_CODE"
