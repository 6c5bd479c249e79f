"""The middleware that picks each request's tenant and schema (tenants/middleware.py)."""

import pytest
from django.db import connection
from django_tenants.utils import get_public_schema_name

from tenants.models import Membership, Role, Tenant
from tests.envelope import assert_error, ok_data
from tests.factories import UserFactory, add_member
from tests.tenants.helpers import PROFILE, TENANTS


@pytest.fixture
def two_tenant_user(a, b):
    """A user who is an agent of tenant A (joined first) and an admin of tenant B."""
    user = add_member(a.tenant, role=Role.AGENT)
    add_member(b.tenant, user, role=Role.ADMIN)
    return user


def active_tenant_id(response) -> str | None:
    active = ok_data(response)["active_tenant"]
    return active and active["tenant_id"]


def test_a_jwt_user_lands_on_their_tenants_schema(api, a):
    connection.set_schema_to_public()

    data = ok_data(api(a.owner).get(PROFILE))

    assert data["active_tenant"] == {
        "tenant_id": str(a.tenant.id),
        "name": "Tenant A",
        "subdomain": "tenant-a",
        "role": "owner",
    }
    assert connection.schema_name == a.tenant.schema_name


@pytest.mark.parametrize("endpoint", [PROFILE, TENANTS])
def test_naming_a_tenant_the_user_is_not_in_is_403(api, a, b, endpoint):
    response = api(a.owner, HTTP_X_TENANT_ID=str(b.tenant.id)).get(endpoint)

    assert_error(response, 403, "TENANT_ACCESS_DENIED")
    assert connection.schema_name != b.tenant.schema_name


def test_naming_an_unknown_tenant_or_subdomain_is_403(api, a):
    for requested in ("0b6f0c1e-6f0e-4a53-9d59-1b1d0c6b3c11", "no-such-tenant"):
        response = api(a.owner, HTTP_X_TENANT_ID=requested).get(PROFILE)
        assert_error(response, 403, "TENANT_ACCESS_DENIED")


def test_the_header_selects_the_users_second_tenant(api, b, two_tenant_user):
    client = api(two_tenant_user, HTTP_X_TENANT_ID=str(b.tenant.id))

    active = ok_data(client.get(PROFILE))["active_tenant"]

    assert (active["tenant_id"], active["role"]) == (str(b.tenant.id), "admin")
    assert connection.schema_name == b.tenant.schema_name
    two_tenant_user.refresh_from_db()
    assert two_tenant_user.active_tenant_id is None


def test_the_header_may_name_the_tenant_by_subdomain(api, b, two_tenant_user):
    response = api(two_tenant_user, HTTP_X_TENANT_ID="Tenant-B").get(PROFILE)

    assert active_tenant_id(response) == str(b.tenant.id)


def test_a_suspended_membership_cannot_be_selected(api, a, b):
    user = add_member(a.tenant)
    add_member(b.tenant, user, status=Membership.Status.SUSPENDED)

    response = api(user, HTTP_X_TENANT_ID=str(b.tenant.id)).get(PROFILE)

    assert_error(response, 403, "TENANT_ACCESS_DENIED")


def test_an_inactive_tenant_cannot_be_selected(api, b, two_tenant_user):
    Tenant.objects.filter(pk=b.tenant.pk).update(is_active=False)

    response = api(two_tenant_user, HTTP_X_TENANT_ID=str(b.tenant.id)).get(PROFILE)

    assert_error(response, 403, "TENANT_ACCESS_DENIED")


def test_without_a_header_the_active_tenant_is_used(api, a, b, two_tenant_user):
    two_tenant_user.active_tenant = b.tenant
    two_tenant_user.save(update_fields=["active_tenant"])

    assert active_tenant_id(api(two_tenant_user).get(PROFILE)) == str(b.tenant.id)
    assert connection.schema_name == b.tenant.schema_name


def test_without_an_active_tenant_the_first_membership_is_used(api, a, two_tenant_user):
    assert two_tenant_user.active_tenant_id is None

    assert active_tenant_id(api(two_tenant_user).get(PROFILE)) == str(a.tenant.id)


@pytest.mark.parametrize("how", ["suspended", "left", "tenant_deactivated"])
def test_when_the_active_tenant_is_gone_the_first_active_membership_is_used(
    api, a, b, two_tenant_user, how
):
    two_tenant_user.active_tenant = b.tenant
    two_tenant_user.save(update_fields=["active_tenant"])
    membership = Membership.objects.filter(user=two_tenant_user, tenant=b.tenant)
    if how == "suspended":
        membership.update(status=Membership.Status.SUSPENDED)
    elif how == "left":
        membership.delete()
    else:
        Tenant.objects.filter(pk=b.tenant.pk).update(is_active=False)

    assert active_tenant_id(api(two_tenant_user).get(PROFILE)) == str(a.tenant.id)
    assert connection.schema_name == a.tenant.schema_name


def test_a_user_without_memberships_stays_on_the_public_schema(api, db):
    assert active_tenant_id(api(UserFactory()).get(PROFILE)) is None
    assert connection.schema_name == get_public_schema_name()


def test_a_tenants_own_host_selects_it_and_refuses_non_members(api, a, b, two_tenant_user):
    host = "tenant-a.localhost"

    assert active_tenant_id(api(two_tenant_user).get(PROFILE, HTTP_HOST=host)) == str(a.tenant.id)
    assert_error(api(b.owner).get(PROFILE, HTTP_HOST=host), 403, "TENANT_ACCESS_DENIED")


def test_a_bad_token_with_a_tenant_header_is_401_not_403(api, a):
    client = api(HTTP_AUTHORIZATION="Bearer a.b.c", HTTP_X_TENANT_ID=str(a.tenant.id))

    assert_error(client.get(PROFILE), 401, "INVALID_TOKEN")
