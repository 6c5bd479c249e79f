"""The settings API's key permissions: a list of scopes, or the dashboard's object of
resource -> actions (`{"sms": ["send", "read"]}`, `{"*": [...]}`), stored as the same scopes."""

import pytest

from integration.models import ApiKey
from tests.envelope import assert_error, assert_field_errors, ok_data
from tests.integration.helpers import V1, key_client

CREATE = "/api/auth/keys/create/"
GENERATE = "/api/auth/api-key/generate/"


def created(client, permissions, url=CREATE) -> dict:
    body = {"key_name": "Shop", "name": "Shop", "permissions": permissions}
    return ok_data(client.post(url, body, format="json"), 201)


@pytest.mark.parametrize(
    ("permissions", "scopes"),
    [
        (["sms:send", "sms:read"], ["sms:read", "sms:send"]),
        ({"sms": ["send", "read"]}, ["sms:read", "sms:send"]),
        (
            {"sms": ["read"], "contacts": ["read", "write"]},
            ["contacts:read", "contacts:write", "sms:read"],
        ),
        ({"*": ["read"]}, ["contacts:read", "sms:read"]),
        ({"*": ["send"]}, ["sms:send"]),
        ({"contacts": ["*"]}, ["contacts:read", "contacts:write"]),
        ({"*": ["*"]}, ["contacts:read", "contacts:write", "sms:read", "sms:send"]),
    ],
)
def test_both_forms_store_the_same_scopes(api, a, permissions, scopes):
    data = created(api(a.owner), permissions)

    assert data["permissions"] == scopes
    assert ApiKey.objects.get(pk=data["id"]).permissions == scopes


def test_the_object_form_through_the_other_route_limits_what_the_key_may_do(api, a):
    data = created(api(a.owner), {"sms": ["read"]}, url=GENERATE)
    key = key_client(data["key"])

    ok_data(key.get(f"{V1}sms/balance/"))
    body = assert_error(key.get(f"{V1}contacts/search/"), 403, "PERMISSION_DENIED")
    assert "contacts:read" in body["message"]


@pytest.mark.parametrize(
    "permissions",
    [
        {"sms": ["write"]},  # no such scope
        {"calls": ["read"]},
        {"sms": []},  # grants nothing: an empty list of scopes would grant everything
        {},
        {"sms": "send"},
        {"sms": [1]},
        ["sms:everything"],
        "sms:send",
    ],
)
def test_bad_permissions_are_a_field_error_and_make_no_key(api, a, permissions):
    client = api(a.owner)

    assert_field_errors(
        client.post(CREATE, {"key_name": "x", "permissions": permissions}, format="json"),
        "permissions",
    )
    assert not ApiKey.objects.filter(tenant=a.tenant).exists()


def test_a_key_made_with_the_object_form_stays_its_tenants(api, a, b):
    data = created(api(a.owner), {"*": ["read"]})

    assert_error(api(b.owner).post(f"/api/auth/keys/{data['id']}/revoke/"), 404, "NOT_FOUND")
    assert not ApiKey.objects.filter(tenant=b.tenant).exists()
    assert ApiKey.objects.get(pk=data["id"]).status == ApiKey.Status.ACTIVE
