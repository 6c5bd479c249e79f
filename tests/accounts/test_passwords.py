import re

from django.core import mail

from accounts.models import User
from tests.conftest import PASSWORD

CHANGE = "/api/auth/password/change/"
RESET = "/api/auth/password/reset/"
CONFIRM = "/api/auth/password/reset/confirm/"
NEW = "Another-Strong-Pass-7"


def _emailed_token() -> str:
    return re.search(r"token=(\S+)", mail.outbox[-1].body).group(1)


def test_password_change_sets_the_password_and_ends_other_sessions(api, a):
    old_refresh = (
        api()
        .post("/api/auth/login/", {"email": a.owner.email, "password": PASSWORD}, format="json")
        .json()["tokens"]["refresh"]
    )

    response = api(a.owner).post(
        CHANGE, {"old_password": PASSWORD, "new_password": NEW}, format="json"
    )

    assert response.status_code == 200
    assert set(response.json()["data"]["tokens"]) == {"access", "refresh"}
    assert User.objects.get(pk=a.owner.pk).check_password(NEW)
    stale = api().post("/api/auth/token/refresh/", {"refresh": old_refresh}, format="json")
    assert stale.status_code == 401


def test_password_change_checks_the_old_password_and_strength(api, a):
    wrong_old = api(a.owner).post(
        CHANGE, {"old_password": "nope", "new_password": NEW}, format="json"
    )
    weak = api(a.owner).post(
        CHANGE, {"old_password": PASSWORD, "new_password": "123"}, format="json"
    )

    assert wrong_old.status_code == 400
    assert "old_password" in wrong_old.json()["errors"]
    assert weak.status_code == 400
    assert "new_password" in weak.json()["errors"]
    assert User.objects.get(pk=a.owner.pk).check_password(PASSWORD)


def test_password_change_needs_a_token(api, db):
    response = api().post(CHANGE, {"old_password": "a", "new_password": "b"}, format="json")

    assert response.status_code == 401


def test_password_reset_emails_a_token_that_sets_a_new_password(api, on_commit, a):
    with on_commit():
        response = api().post(RESET, {"email": a.agent.email}, format="json")
    assert response.status_code == 200
    token = _emailed_token()

    confirmed = api().post(CONFIRM, {"token": token, "new_password": NEW}, format="json")

    assert confirmed.status_code == 200
    assert User.objects.get(pk=a.agent.pk).check_password(NEW)
    reused = api().post(
        CONFIRM, {"token": token, "new_password": "Yet-Another-Pass-8"}, format="json"
    )
    assert reused.status_code == 400
    assert reused.json()["error_code"] == "INVALID_RESET_TOKEN"


def test_password_reset_answers_the_same_for_unknown_emails(api, on_commit, a):
    with on_commit():
        known = api().post(RESET, {"email": a.agent.email}, format="json")
        unknown = api().post(RESET, {"email": "nobody@example.com"}, format="json")

    assert known.json()["message"] == unknown.json()["message"]
    assert len(mail.outbox) == 1


def test_password_reset_confirm_rejects_bad_tokens_and_weak_passwords(api, on_commit, a):
    with on_commit():
        api().post(RESET, {"email": a.agent.email}, format="json")
    token = _emailed_token()

    garbage = api().post(CONFIRM, {"token": "abc.def", "new_password": NEW}, format="json")
    weak = api().post(CONFIRM, {"token": token, "new_password": "password"}, format="json")
    missing = api().post(CONFIRM, {}, format="json")

    assert garbage.json()["error_code"] == "INVALID_RESET_TOKEN"
    assert weak.status_code == 400
    assert "new_password" in weak.json()["errors"]
    assert set(missing.json()["errors"]) == {"token", "new_password"}


def test_password_reset_rejects_bad_input(api, db):
    response = api().post(RESET, {"email": "nope"}, format="json")

    assert response.status_code == 400
    assert "email" in response.json()["errors"]
