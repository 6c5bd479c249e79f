"""Password reset by SMS: sms/forgot-password/ texts a code, sms/reset-password/ spends it."""

from datetime import timedelta

import pytest
from django.utils import timezone

from accounts.models import User, VerificationCode
from sms.providers.sandbox import sandbox_outbox
from tests.accounts.helpers import sent_code
from tests.conftest import PASSWORD
from tests.envelope import assert_error, assert_field_errors, ok_data

FORGOT = "/api/auth/sms/forgot-password/"
RESET = "/api/auth/sms/reset-password/"
REFRESH = "/api/auth/token/refresh/"
NEW = "Another-Strong-Pass-7"


def _forgot(api, on_commit, phone, **extra):
    with on_commit():
        return api().post(FORGOT, {"phone_number": phone}, format="json", **extra)


def _reset(api, phone, code, password=NEW, confirm=None, **extra):
    body = {
        "phone_number": phone,
        "verification_code": code,
        "new_password": password,
        "new_password_confirm": password if confirm is None else confirm,
    }
    return api().post(RESET, body, format="json", **extra)


def _wrong(code: str) -> str:
    return "000000" if code != "000000" else "111111"


def _login(api, user, password):
    return api().post(
        "/api/auth/login/", {"email": user.email, "password": password}, format="json"
    )


def test_the_texted_code_sets_a_new_password(api, on_commit, a, b):
    phone = a.agent.phone_number
    response = _forgot(api, on_commit, phone)

    assert ok_data(response) is None
    code = sent_code(phone)
    reset = _reset(api, phone, code)

    assert ok_data(reset) is None
    assert reset.json()["message"] == "Password has been reset. Sign in with the new password."
    assert _login(api, a.agent, NEW).status_code == 200
    assert _login(api, a.agent, PASSWORD).status_code == 401
    # Nobody else's password moved, in this tenant or the other.
    assert User.objects.get(pk=a.owner.pk).check_password(PASSWORD)
    assert User.objects.get(pk=b.agent.pk).check_password(PASSWORD)
    assert sandbox_outbox(to=b.agent.phone_number) == []


def test_a_local_spelling_of_the_number_works_too(api, on_commit, a):
    local = "0" + a.agent.phone_number.removeprefix("+255")
    _forgot(api, on_commit, local)

    reset = _reset(api, local, sent_code(a.agent.phone_number))

    assert reset.status_code == 200


def test_the_reset_kills_the_accounts_refresh_tokens(api, on_commit, a):
    refresh = _login(api, a.agent, PASSWORD).json()["tokens"]["refresh"]
    assert api().post(REFRESH, {"refresh": refresh}, format="json").status_code == 200
    other_refresh = _login(api, a.owner, PASSWORD).json()["tokens"]["refresh"]
    _forgot(api, on_commit, a.agent.phone_number)

    assert _reset(api, a.agent.phone_number, sent_code(a.agent.phone_number)).status_code == 200

    stale = api().post(REFRESH, {"refresh": refresh}, format="json")
    assert stale.status_code == 401
    other = api().post(REFRESH, {"refresh": other_refresh}, format="json")
    assert other.status_code == 200


def test_an_unknown_number_gets_the_same_answer_and_nothing_is_texted(api, on_commit, a):
    known = _forgot(api, on_commit, a.agent.phone_number)
    unknown = _forgot(api, on_commit, "+255799000111")

    assert known.status_code == unknown.status_code == 200
    assert known.json() == unknown.json()
    assert sandbox_outbox(to="+255799000111") == []
    assert len(sandbox_outbox()) == 1
    assert not VerificationCode.objects.filter(phone_number="+255799000111").exists()


def test_unverified_or_inactive_numbers_get_no_code(api, on_commit, a):
    User.objects.filter(pk=a.agent.pk).update(phone_verified=False)
    User.objects.filter(pk=a.admin.pk).update(is_active=False)

    for user in (a.agent, a.admin):
        response = _forgot(api, on_commit, user.phone_number)
        assert response.status_code == 200

    assert sandbox_outbox() == []


def test_five_wrong_codes_burn_the_code(api, on_commit, a):
    phone = a.agent.phone_number
    _forgot(api, on_commit, phone)
    code = sent_code(phone)
    for n in range(5):
        wrong = _reset(api, phone, _wrong(code), REMOTE_ADDR=f"10.0.1.{n}")
        assert_error(wrong, 400, "INVALID_VERIFICATION_CODE")

    burnt = _reset(api, phone, code, REMOTE_ADDR="10.0.2.1")

    assert_error(burnt, 400, "TOO_MANY_ATTEMPTS")
    assert VerificationCode.objects.get(user=a.agent).attempts == 5
    assert User.objects.get(pk=a.agent.pk).check_password(PASSWORD)
    # A new code replaces the burnt one.
    _forgot(api, on_commit, phone, REMOTE_ADDR="10.0.2.2")
    fresh = _reset(api, phone, sent_code(phone), REMOTE_ADDR="10.0.2.3")
    assert fresh.status_code == 200


def test_a_code_works_once(api, on_commit, a):
    phone = a.agent.phone_number
    _forgot(api, on_commit, phone)
    code = sent_code(phone)
    assert _reset(api, phone, code).status_code == 200

    again = _reset(api, phone, code, "Yet-Another-Pass-8")

    assert_error(again, 400, "INVALID_VERIFICATION_CODE")
    assert User.objects.get(pk=a.agent.pk).check_password(NEW)


def test_an_expired_code_is_refused(api, on_commit, a):
    phone = a.agent.phone_number
    _forgot(api, on_commit, phone)
    VerificationCode.objects.filter(user=a.agent).update(
        expires_at=timezone.now() - timedelta(seconds=1)
    )

    response = _reset(api, phone, sent_code(phone))

    assert_error(response, 400, "VERIFICATION_CODE_EXPIRED")


def test_another_numbers_code_or_an_activation_code_does_not_reset(api, on_commit, a, b):
    _forgot(api, on_commit, b.agent.phone_number)
    code_of_b = sent_code(b.agent.phone_number)

    response = _reset(api, a.agent.phone_number, code_of_b)

    assert_error(response, 400, "INVALID_VERIFICATION_CODE")
    assert User.objects.get(pk=a.agent.pk).check_password(PASSWORD)
    assert User.objects.get(pk=b.agent.pk).check_password(PASSWORD)


def test_a_weak_or_mismatched_password_is_refused_and_keeps_the_code(api, on_commit, a):
    phone = a.agent.phone_number
    _forgot(api, on_commit, phone)
    code = sent_code(phone)

    weak = _reset(api, phone, code, "password")
    mismatched = _reset(api, phone, code, NEW, confirm="Something-Else-9")

    assert_field_errors(weak, "new_password")
    assert_field_errors(mismatched, "new_password_confirm")
    assert _reset(api, phone, code).status_code == 200


@pytest.mark.parametrize(
    ("body", "fields"),
    [
        ({}, {"phone_number", "verification_code", "new_password", "new_password_confirm"}),
        (
            {
                "phone_number": "not a phone",
                "verification_code": "12ab56",
                "new_password": NEW,
                "new_password_confirm": NEW,
            },
            {"phone_number", "verification_code"},
        ),
    ],
)
def test_reset_rejects_bad_input(api, db, body, fields):
    assert_field_errors(api().post(RESET, body, format="json"), *fields)


def test_forgot_rejects_bad_input(api, db):
    assert_field_errors(api().post(FORGOT, {}, format="json"), "phone_number")
    assert_field_errors(api().post(FORGOT, {"phone_number": "abc"}, format="json"), "phone_number")


def test_reset_is_rate_limited_per_ip_like_the_other_auth_routes(api, on_commit, a):
    for _ in range(5):
        response = _reset(api, a.agent.phone_number, "123456", REMOTE_ADDR="10.0.3.1")
        assert response.status_code == 400

    sixth = _reset(api, a.agent.phone_number, "123456", REMOTE_ADDR="10.0.3.1")

    assert_error(sixth, 429, "RATE_LIMIT_EXCEEDED")
    assert "Retry-After" in sixth


def test_one_number_gets_at_most_five_codes_an_hour_known_or_not(api, on_commit, a):
    for phone in (a.agent.phone_number, "+255799000222"):
        for n in range(5):
            assert _forgot(api, on_commit, phone, REMOTE_ADDR=f"10.0.4.{n}").status_code == 200

        sixth = _forgot(api, on_commit, phone, REMOTE_ADDR="10.0.5.1")

        assert_error(sixth, 429, "RATE_LIMIT_EXCEEDED")
    assert len(sandbox_outbox(to=a.agent.phone_number)) == 5


def test_a_number_on_two_accounts_resets_the_one_used_last(api, on_commit, a, b):
    User.objects.filter(pk=b.agent.pk).update(phone_number=a.agent.phone_number)
    User.objects.filter(pk=a.agent.pk).update(last_login=timezone.now() - timedelta(days=3))
    User.objects.filter(pk=b.agent.pk).update(last_login=timezone.now())
    phone = a.agent.phone_number
    _forgot(api, on_commit, phone)

    assert _reset(api, phone, sent_code(phone)).status_code == 200

    assert User.objects.get(pk=b.agent.pk).check_password(NEW)
    assert User.objects.get(pk=a.agent.pk).check_password(PASSWORD)
