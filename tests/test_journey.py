"""The issue's walk-through as one new user would do it over HTTP."""

from tests.accounts.helpers import REGISTRATION, sent_code
from tests.conftest import PASSWORD


def _bearer(api, access):
    return api(HTTP_AUTHORIZATION=f"Bearer {access}")


def test_register_verify_login_tenants_switch_isolation_password_logout(api, on_commit, b):
    with on_commit():
        assert api().post("/api/auth/register/", REGISTRATION, format="json").status_code == 201
    phone = REGISTRATION["phone_number"]

    verified = api().post(
        "/api/auth/sms/verify-code/",
        {"phone_number": phone, "code": sent_code(phone)},
        format="json",
    )
    assert verified.status_code == 200

    login = (
        api()
        .post(
            "/api/auth/login/",
            {"email": REGISTRATION["email"], "password": REGISTRATION["password"]},
            format="json",
        )
        .json()
    )
    me = _bearer(api, login["tokens"]["access"])
    profile = me.get("/api/auth/profile/").json()["data"]
    assert [m["subdomain"] for m in profile["memberships"]] == ["mybusiness"]
    first_tenant = profile["active_tenant"]["tenant_id"]

    second = me.post(
        "/api/tenants/", {"name": "Second Shop", "subdomain": "second-shop"}, format="json"
    ).json()["data"]
    switched = me.post("/api/tenants/switch/", {"tenant_id": second["id"]}, format="json")
    assert switched.status_code == 200
    assert me.get("/api/auth/profile/").json()["data"]["active_tenant"]["tenant_id"] == second["id"]

    stranger = api(b.owner)
    assert stranger.get(f"/api/tenants/{first_tenant}/").status_code == 404
    assert (
        stranger.post(
            "/api/tenants/switch/", {"tenant_id": first_tenant}, format="json"
        ).status_code
        == 404
    )
    header_attempt = api(b.owner, HTTP_X_TENANT_ID=first_tenant).get("/api/auth/profile/")
    assert header_attempt.status_code == 403
    assert header_attempt.json()["error_code"] == "TENANT_ACCESS_DENIED"
    assert [t["id"] for t in stranger.get("/api/tenants/").json()["data"]["results"]] == [
        str(b.tenant.id)
    ]

    changed = me.post(
        "/api/auth/password/change/",
        {"old_password": REGISTRATION["password"], "new_password": PASSWORD + "-new"},
        format="json",
    ).json()["data"]["tokens"]
    assert (
        api()
        .post("/api/auth/token/refresh/", {"refresh": login["tokens"]["refresh"]}, format="json")
        .status_code
        == 401
    )

    me = _bearer(api, changed["access"])
    assert (
        me.post("/api/auth/logout/", {"refresh": changed["refresh"]}, format="json").status_code
        == 200
    )
    after = api().post("/api/auth/token/refresh/", {"refresh": changed["refresh"]}, format="json")
    assert after.status_code == 401
    assert after.json()["success"] is False
