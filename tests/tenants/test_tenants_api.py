"""GET/POST /api/tenants/, GET/PUT /api/tenants/{id}/ and POST /api/tenants/switch/."""

import re

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django_tenants.utils import schema_exists

from tenants.models import Domain, Membership, Role, Tenant
from tenants.services import SUBDOMAIN_RE
from tests.envelope import assert_error, assert_field_errors, ok_data
from tests.factories import UserFactory, add_member
from tests.tenants.helpers import PROFILE, SWITCH, TENANTS, detail_url, unknown_id

NEW_TENANT = {
    "name": "Duka la Mama",
    "subdomain": "duka-la-mama",
    "business_name": "Duka la Mama Ltd",
    "business_type": "retail",
    "phone_number": "0712 345 678",
    "email": "info@duka.example.com",
    "country": "Tanzania",
    "timezone": "Africa/Nairobi",
}


def member_of_a_and_b(a, b, *, role_b=Role.ADMIN):
    """A user who belongs to tenant A (agent) and tenant B (`role_b`)."""
    user = add_member(a.tenant, role=Role.AGENT)
    add_member(b.tenant, user, role=role_b)
    return user


# --- GET /api/tenants/


def test_list_shows_the_users_tenants_with_their_role(api, a, b):
    response = api(a.admin).get(TENANTS)

    data = ok_data(response)
    assert set(data) == {"results", "count", "next", "previous"}
    assert data["count"] == 1
    (tenant,) = data["results"]
    assert tenant["id"] == str(a.tenant.id)
    assert tenant["subdomain"] == "tenant-a"
    assert tenant["role"] == "admin"
    assert tenant["primary_domain"] == "tenant-a.localhost"


def test_list_shows_each_tenant_of_a_multi_tenant_user_with_its_own_role(api, a, b):
    user = member_of_a_and_b(a, b, role_b=Role.OWNER)

    results = ok_data(api(user).get(TENANTS))["results"]

    assert [(t["name"], t["role"]) for t in results] == [
        ("Tenant A", "agent"),
        ("Tenant B", "owner"),
    ]


def test_list_leaves_out_suspended_memberships_and_inactive_tenants(api, a, b):
    user = add_member(a.tenant, status=Membership.Status.SUSPENDED)
    add_member(b.tenant, user)
    Tenant.objects.filter(pk=b.tenant.pk).update(is_active=False)

    data = ok_data(api(user).get(TENANTS))

    assert data["count"] == 0
    assert data["results"] == []


def test_list_pages_with_page_size(api, a, b):
    user = member_of_a_and_b(a, b)

    data = ok_data(api(user).get(TENANTS, {"page_size": 1}))

    assert data["count"] == 2
    assert [t["name"] for t in data["results"]] == ["Tenant A"]
    assert "page=2" in data["next"]
    assert data["previous"] is None


def test_list_query_count_does_not_grow_with_the_number_of_tenants(
    api, a, b, django_assert_max_num_queries
):
    one = add_member(a.tenant)
    two = member_of_a_and_b(a, b)

    with CaptureQueriesContext(connection) as for_one:
        assert api(one).get(TENANTS).status_code == 200
    with CaptureQueriesContext(connection) as for_two:
        assert api(two).get(TENANTS).status_code == 200
    # User, host domain, membership, count, page, domains.
    with django_assert_max_num_queries(6):
        assert len(ok_data(api(two).get(TENANTS))["results"]) == 2

    assert len(for_two) == len(for_one)


def test_list_without_or_with_a_bad_token_is_401(api, db):
    assert_error(api().get(TENANTS), 401, "AUTHENTICATION_REQUIRED")
    bad = api(HTTP_AUTHORIZATION="Bearer not.a.token").get(TENANTS)
    assert_error(bad, 401, "INVALID_TOKEN")


# --- POST /api/tenants/


def test_create_makes_a_schema_an_owner_membership_and_a_primary_domain(api, a):
    response = api(a.owner).post(TENANTS, NEW_TENANT, format="json")

    data = ok_data(response, 201)
    tenant = Tenant.objects.get(pk=data["id"])
    assert data["subdomain"] == tenant.subdomain == "duka-la-mama"
    assert data["role"] == "owner"
    assert data["primary_domain"] == "duka-la-mama.localhost"
    assert data["business_name"] == "Duka la Mama Ltd"
    assert data["country"] == "TZ"
    assert data["timezone"] == "Africa/Nairobi"
    assert data["contact_phone"] == "+255712345678"
    assert data["contact_email"] == "info@duka.example.com"
    assert schema_exists(tenant.schema_name)
    membership = Membership.objects.get(tenant=tenant)
    assert (membership.user, membership.role) == (a.owner, Role.OWNER)
    assert Domain.objects.get(tenant=tenant, is_primary=True).domain == "duka-la-mama.localhost"
    a.owner.refresh_from_db()
    assert a.owner.active_tenant_id == a.tenant.id


def test_create_takes_the_contact_spellings_and_activates_a_first_tenant(api, db):
    user = UserFactory()
    body = {"name": "Kariakoo Spares", "contact_phone": "+254712345678"}
    body["contact_email"] = "spares@example.com"

    data = ok_data(api(user).post(TENANTS, body, format="json"), 201)

    assert data["subdomain"] == "kariakoo-spares"
    assert data["contact_phone"] == "+254712345678"
    assert data["contact_email"] == "spares@example.com"
    user.refresh_from_db()
    assert str(user.active_tenant_id) == data["id"]


def test_a_subdomain_derived_from_the_name_follows_the_subdomain_rules(api, a):
    """Without `subdomain`, the one made from the name must be a valid host label too."""
    response = api(a.owner).post(TENANTS, {"name": "Mama_Shop"}, format="json")

    data = ok_data(response, 201)
    assert SUBDOMAIN_RE.match(data["subdomain"]), data["subdomain"]
    assert re.fullmatch(r"[a-z0-9.-]+", data["primary_domain"]), data["primary_domain"]


@pytest.mark.parametrize(
    ("subdomain", "reason"),
    [
        ("ab", "3 to 50"),
        ("-shop", "3 to 50"),
        ("shop--two", "3 to 50"),
        ("duka_la_mama", "3 to 50"),
        ("x" * 51, "3 to 50"),
        ("admin", "reserved"),
        ("www", "reserved"),
        ("tenant-b", "already taken"),
        ("Tenant-B", "already taken"),
    ],
)
def test_create_rejects_a_bad_reserved_or_taken_subdomain(api, a, b, subdomain, reason):
    count = Tenant.objects.count()

    response = api(a.owner).post(TENANTS, {**NEW_TENANT, "subdomain": subdomain}, format="json")

    body = assert_field_errors(response, "subdomain")
    assert reason in body["errors"]["subdomain"][0]
    assert Tenant.objects.count() == count


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"country": "Atlantis"}, "country"),
        ({"timezone": "Africa/Atlantis"}, "timezone"),
        ({"name": ""}, "name"),
        ({"email": "not-an-email"}, "email"),
        ({"phone_number": "12"}, "phone_number"),
    ],
)
def test_create_rejects_bad_fields(api, a, change, field):
    count = Tenant.objects.count()

    response = api(a.owner).post(TENANTS, {**NEW_TENANT, **change}, format="json")

    assert_field_errors(response, field)
    assert Tenant.objects.count() == count


def test_create_without_a_token_is_401(api, db):
    assert_error(api().post(TENANTS, NEW_TENANT, format="json"), 401, "AUTHENTICATION_REQUIRED")


def test_create_with_an_idempotency_key_replays_the_first_response(api, a):
    client = api(a.owner, HTTP_IDEMPOTENCY_KEY="create-duka-1")

    first = client.post(TENANTS, NEW_TENANT, format="json")
    second = client.post(TENANTS, NEW_TENANT, format="json")

    assert first.status_code == second.status_code == 201
    assert second.headers["Idempotent-Replayed"] == "true"
    assert "Idempotent-Replayed" not in first.headers
    assert second.json() == first.json()
    assert Tenant.objects.filter(subdomain="duka-la-mama").count() == 1


def test_an_idempotency_key_reused_with_another_body_is_422(api, a):
    client = api(a.owner, HTTP_IDEMPOTENCY_KEY="create-duka-2")
    ok_data(client.post(TENANTS, NEW_TENANT, format="json"), 201)

    response = client.post(TENANTS, {**NEW_TENANT, "subdomain": "other-shop"}, format="json")

    assert_error(response, 422, "IDEMPOTENCY_KEY_REUSED")
    assert not Tenant.objects.filter(subdomain="other-shop").exists()


def test_a_first_tenant_retried_with_its_idempotency_key_is_replayed(api, db):
    """The retry runs in the new tenant's schema (now the user's active one): same key anyway."""
    client = api(UserFactory(), HTTP_IDEMPOTENCY_KEY="first-tenant")
    body = {"name": "Mwanza Fresh"}

    first = client.post(TENANTS, body, format="json")
    second = client.post(TENANTS, body, format="json")

    assert first.status_code == 201
    assert second.status_code == 201
    assert second.headers.get("Idempotent-Replayed") == "true"
    assert second.json() == first.json()
    assert Tenant.objects.filter(name="Mwanza Fresh").count() == 1


# --- GET /api/tenants/{id}/


@pytest.mark.parametrize("role", ["owner", "admin", "agent"])
def test_any_member_reads_the_tenant(api, a, role):
    data = ok_data(api(getattr(a, role)).get(detail_url(a.tenant.id)))

    assert data["id"] == str(a.tenant.id)
    assert data["name"] == "Tenant A"
    assert data["role"] == role


def test_another_tenants_id_or_an_unknown_id_is_404(api, a, b):
    client = api(a.owner)

    body = assert_error(client.get(detail_url(b.tenant.id)), 404, "NOT_FOUND")
    assert "Tenant B" not in str(body)
    assert_error(client.get(detail_url(unknown_id())), 404, "NOT_FOUND")
    assert_error(client.get(f"{TENANTS}not-a-uuid/"), 404, "NOT_FOUND")


def test_a_suspended_member_cannot_read_the_tenant(api, a):
    user = add_member(a.tenant, role=Role.ADMIN, status=Membership.Status.SUSPENDED)

    assert_error(api(user).get(detail_url(a.tenant.id)), 404, "NOT_FOUND")


def test_read_without_a_token_is_401(api, a):
    assert_error(api().get(detail_url(a.tenant.id)), 401, "AUTHENTICATION_REQUIRED")


# --- PUT /api/tenants/{id}/


@pytest.mark.parametrize("role", ["owner", "admin"])
def test_owners_and_admins_update_with_a_partial_body(api, a, role):
    response = api(getattr(a, role)).put(
        detail_url(a.tenant.id),
        {"business_type": "wholesale", "country": "KEN", "settings": {"default_sender_id": "ACME"}},
        format="json",
    )

    data = ok_data(response)
    assert data["business_type"] == "wholesale"
    assert data["country"] == "KE"
    assert data["name"] == "Tenant A"
    tenant = Tenant.objects.get(pk=a.tenant.pk)
    assert (tenant.business_type, tenant.country, tenant.name) == ("wholesale", "KE", "Tenant A")
    assert tenant.settings == {"default_sender_id": "ACME"}
    assert data["settings"] == {"default_sender_id": "ACME"}


@pytest.mark.parametrize(
    "tenant_settings",
    [{"sms_provider": "nonsense"}, {"sms_provider": "beem"}, {"anything_else": 1}],
)
def test_settings_outside_the_allow_list_are_refused(api, a, tenant_settings):
    response = api(a.owner).put(
        detail_url(a.tenant.id), {"settings": tenant_settings}, format="json"
    )

    assert_field_errors(response, "settings")
    (key,) = tenant_settings
    assert key in response.json()["errors"]["settings"]
    assert Tenant.objects.get(pk=a.tenant.pk).settings == {}


def test_the_operators_settings_survive_a_tenant_update_and_stay_hidden(api, a):
    Tenant.objects.filter(pk=a.tenant.pk).update(settings={"sms_provider": "beem"})

    response = api(a.owner).put(
        detail_url(a.tenant.id), {"settings": {"language": "sw"}}, format="json"
    )

    assert ok_data(response)["settings"] == {"language": "sw"}
    assert "beem" not in response.content.decode()
    stored = Tenant.objects.get(pk=a.tenant.pk).settings
    assert stored == {"language": "sw", "sms_provider": "beem"}


def test_update_ignores_fields_a_manager_may_not_set(api, a):
    response = api(a.owner).put(
        detail_url(a.tenant.id),
        {"subdomain": "hijacked", "is_active": False, "schema_name": "public", "name": "A2"},
        format="json",
    )

    assert ok_data(response)["name"] == "A2"
    tenant = Tenant.objects.get(pk=a.tenant.pk)
    assert (tenant.subdomain, tenant.is_active) == ("tenant-a", True)
    assert tenant.schema_name == a.tenant.schema_name


def test_an_agent_cannot_update(api, a):
    response = api(a.agent).put(detail_url(a.tenant.id), {"name": "Mine"}, format="json")

    assert_error(response, 403, "PERMISSION_DENIED")
    assert Tenant.objects.get(pk=a.tenant.pk).name == "Tenant A"


def test_updating_another_tenant_is_404(api, a, b):
    response = api(a.owner).put(detail_url(b.tenant.id), {"name": "Mine"}, format="json")

    assert_error(response, 404, "NOT_FOUND")
    assert Tenant.objects.get(pk=b.tenant.pk).name == "Tenant B"


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"country": "Narnia"}, "country"),
        ({"timezone": "Mars/Olympus"}, "timezone"),
        ({"contact_email": "nope"}, "contact_email"),
        ({"settings": ["not", "an", "object"]}, "settings"),
        ({"name": ""}, "name"),
    ],
)
def test_update_rejects_bad_fields(api, a, body, field):
    response = api(a.admin).put(detail_url(a.tenant.id), body, format="json")

    assert_field_errors(response, field)
    tenant = Tenant.objects.get(pk=a.tenant.pk)
    assert (tenant.name, tenant.country, tenant.timezone) == (
        "Tenant A",
        "TZ",
        "Africa/Dar_es_Salaam",
    )


def test_update_without_a_token_is_401(api, a):
    response = api().put(detail_url(a.tenant.id), {"name": "X"}, format="json")

    assert_error(response, 401, "AUTHENTICATION_REQUIRED")


# --- POST /api/tenants/switch/


def test_switch_sets_the_active_tenant_kept_for_later_requests(api, a, b):
    user = member_of_a_and_b(a, b)
    client = api(user)

    data = ok_data(client.post(SWITCH, {"tenant_id": str(b.tenant.id)}, format="json"))

    assert data["id"] == str(b.tenant.id)
    assert data["role"] == "admin"
    user.refresh_from_db()
    assert user.active_tenant_id == b.tenant.id
    assert ok_data(client.get(PROFILE))["active_tenant"]["tenant_id"] == str(b.tenant.id)


def test_switching_to_a_foreign_or_unknown_tenant_is_404(api, a, b):
    client = api(a.owner)

    for tenant_id in (b.tenant.id, unknown_id()):
        response = client.post(SWITCH, {"tenant_id": str(tenant_id)}, format="json")
        assert_error(response, 404, "NOT_FOUND")
    a.owner.refresh_from_db()
    assert a.owner.active_tenant_id == a.tenant.id


def test_switching_to_a_suspended_membership_is_404(api, a, b):
    user = add_member(a.tenant)
    add_member(b.tenant, user, status=Membership.Status.SUSPENDED)

    response = api(user).post(SWITCH, {"tenant_id": str(b.tenant.id)}, format="json")

    assert_error(response, 404, "NOT_FOUND")


@pytest.mark.parametrize("body", [{"tenant_id": "not-a-uuid"}, {}])
def test_switch_rejects_a_missing_or_malformed_tenant_id(api, a, body):
    assert_field_errors(api(a.owner).post(SWITCH, body, format="json"), "tenant_id")


def test_switch_without_a_token_is_401(api, a):
    response = api().post(SWITCH, {"tenant_id": str(a.tenant.id)}, format="json")

    assert_error(response, 401, "AUTHENTICATION_REQUIRED")
