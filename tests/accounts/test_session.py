"""Login, token refresh and logout: the seed shapes of the Complete API Reference."""

from accounts.models import User
from tests.conftest import PASSWORD
from tests.factories import UserFactory

LOGIN = "/api/auth/login/"
REFRESH = "/api/auth/token/refresh/"
LOGOUT = "/api/auth/logout/"


def login(api, email, password=PASSWORD):
    return api().post(LOGIN, {"email": email, "password": password}, format="json")


def test_login_returns_user_and_tokens(api, a):
    response = login(api, a.owner.email.upper())

    assert response.status_code == 200
    body = response.json()
    assert body["message"] == "Login successful"
    assert body["user"]["email"] == a.owner.email
    assert body["user"]["full_name"] == a.owner.full_name
    assert body["user"]["last_login_at"] is not None
    assert set(body["tokens"]) == {"access", "refresh"}


def test_login_with_a_wrong_password_or_unknown_email_is_401(api, a):
    for response in (login(api, a.owner.email, "wrong-password"), login(api, "who@example.com")):
        assert response.status_code == 401
        assert response.json()["error_code"] == "INVALID_CREDENTIALS"


def test_login_to_an_inactive_account_is_400_asking_for_activation(api, db):
    user = UserFactory(is_active=False)

    response = login(api, user.email)

    assert response.status_code == 400
    assert response.json()["error_code"] == "ACCOUNT_NOT_ACTIVATED"
    assert "activation" in response.json()["message"]


def test_login_rejects_bad_input(api, db):
    response = api().post(LOGIN, {"email": "not-an-email"}, format="json")

    assert response.status_code == 400
    assert set(response.json()["errors"]) == {"email", "password"}


def test_refresh_gives_a_new_access_token_only(api, a):
    tokens = login(api, a.owner.email).json()["tokens"]

    response = api().post(REFRESH, {"refresh": tokens["refresh"]}, format="json")

    assert response.status_code == 200
    assert set(response.json()) == {"access"}


def test_refresh_with_a_bad_token_is_401_and_without_one_400(api, db):
    bad = api().post(REFRESH, {"refresh": "garbage"}, format="json")
    missing = api().post(REFRESH, {}, format="json")

    assert bad.status_code == 401
    assert bad.json()["error_code"] == "INVALID_TOKEN"
    assert missing.status_code == 400
    assert "refresh" in missing.json()["errors"]


def test_logout_blacklists_the_refresh_token(api, a):
    tokens = login(api, a.owner.email).json()["tokens"]
    signed_in = api(HTTP_AUTHORIZATION=f"Bearer {tokens['access']}")

    response = signed_in.post(LOGOUT, {"refresh": tokens["refresh"]}, format="json")

    assert response.status_code == 200
    assert response.json() == {"message": "Logout successful"}
    refused = api().post(REFRESH, {"refresh": tokens["refresh"]}, format="json")
    assert refused.status_code == 401


def test_logout_refuses_another_users_refresh_token(api, a, b):
    foreign = login(api, b.owner.email).json()["tokens"]["refresh"]

    response = api(a.owner).post(LOGOUT, {"refresh": foreign}, format="json")

    assert response.status_code == 400
    assert "refresh" in response.json()["errors"]
    assert api().post(REFRESH, {"refresh": foreign}, format="json").status_code == 200


def test_logout_needs_a_token_and_a_body(api, a):
    unauthenticated = api().post(LOGOUT, {"refresh": "x"}, format="json")
    empty = api(a.owner).post(LOGOUT, {}, format="json")

    assert unauthenticated.status_code == 401
    assert unauthenticated.json()["error_code"] == "AUTHENTICATION_REQUIRED"
    assert empty.status_code == 400


def test_a_deactivated_users_access_token_stops_working(api, a):
    client = api(a.agent)
    User.objects.filter(pk=a.agent.pk).update(is_active=False)

    response = client.get("/api/auth/profile/")

    assert response.status_code == 401
