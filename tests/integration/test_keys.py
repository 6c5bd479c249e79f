"""The settings API's key routes: create (both spellings), revoke, regenerate; hashes only."""

import datetime as dt

import pytest
from django.utils import timezone

from integration.models import ApiKey
from integration.services.keys import key_hash
from tests.envelope import assert_error, assert_field_errors, ok_data
from tests.integration.helpers import V1, key_client, key_for


def test_a_key_is_shown_once_and_stored_as_a_hash(api, a):
    data = ok_data(
        api(a.owner).post(
            "/api/auth/keys/create/",
            {"key_name": "Shop backend", "permissions": ["sms:send"]},
            format="json",
        ),
        201,
    )

    assert data["api_key"].startswith("mif_") and len(data["api_key"]) >= 36
    assert data["key"] == data["api_key"]
    assert data["secret_key"]
    assert data["key_name"] == "Shop backend"
    assert data["permissions"] == ["sms:send"]
    stored = ApiKey.objects.get(pk=data["id"])
    assert stored.key_hash == key_hash(data["api_key"])
    assert data["api_key"] not in str(ApiKey.objects.filter(pk=data["id"]).values().get())


def test_the_other_seed_spelling_generates_and_revokes(api, a):
    data = ok_data(
        api(a.owner).post("/api/auth/api-key/generate/", {"name": "CRM"}, format="json"), 201
    )
    assert data["key"].startswith("mif_")
    assert data["permissions"] == []

    revoked = ok_data(
        api(a.owner).post("/api/auth/api-key/revoke/", {"key_id": data["id"]}, format="json")
    )
    assert revoked["status"] == "revoked"
    assert_error(key_client(data["key"]).get(f"{V1}sms/balance/"), 401, "INVALID_API_KEY")


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({}, "key_name"),
        ({"key_name": "x", "permissions": ["sms:everything"]}, "permissions"),
        ({"key_name": "x", "expires_at": "2020-01-01T00:00:00Z"}, "expires_at"),
        ({"key_name": "x", "expires_at": "soon"}, "expires_at"),
    ],
)
def test_bad_key_requests(api, a, body, field):
    assert_field_errors(api(a.owner).post("/api/auth/keys/create/", body, format="json"), field)


def test_regenerate_stops_the_old_key_at_once(api, a):
    issue = key_for(a)

    data = ok_data(api(a.owner).post(f"/api/auth/keys/{issue.api_key.pk}/regenerate/"))

    assert data["api_key"] != issue.key
    assert_error(key_client(issue.key).get(f"{V1}sms/balance/"), 401, "INVALID_API_KEY")
    ok_data(key_client(data["api_key"]).get(f"{V1}sms/balance/"))


def test_a_revoked_key_cannot_be_regenerated(api, a):
    issue = key_for(a)
    api(a.owner).post(f"/api/auth/keys/{issue.api_key.pk}/revoke/")

    body = assert_error(
        api(a.owner).post(f"/api/auth/keys/{issue.api_key.pk}/regenerate/"), 409, "INVALID_STATUS"
    )
    assert body["details"] == {"current_status": "revoked", "allowed_statuses": ["active"]}


def test_agents_cannot_manage_keys(api, a):
    issue = key_for(a)

    assert_error(
        api(a.agent).post("/api/auth/keys/create/", {"key_name": "x"}, format="json"),
        403,
        "PERMISSION_DENIED",
    )
    assert_error(
        api(a.agent).post(f"/api/auth/keys/{issue.api_key.pk}/revoke/"), 403, "PERMISSION_DENIED"
    )


def test_another_tenants_key_is_not_found(api, a, b):
    theirs = key_for(b)

    assert_error(api(a.owner).post(f"/api/auth/keys/{theirs.api_key.pk}/revoke/"), 404, "NOT_FOUND")
    assert_error(
        api(a.owner).post(f"/api/auth/keys/{theirs.api_key.pk}/regenerate/"), 404, "NOT_FOUND"
    )
    ok_data(key_client(theirs.key).get(f"{V1}sms/balance/"))


def test_an_expired_key_fails_at_once(a):
    issue = key_for(a, expires_at=timezone.now() + dt.timedelta(days=1))
    ok_data(key_client(issue.key).get(f"{V1}sms/balance/"))

    ApiKey.objects.filter(pk=issue.api_key.pk).update(expires_at=timezone.now())

    assert_error(key_client(issue.key).get(f"{V1}sms/balance/"), 401, "INVALID_API_KEY")
