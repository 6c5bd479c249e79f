"""GET/POST /api/tenants/{id}/domains/ and the Host-based tenant selection they enable."""

from urllib.parse import urlparse

import pytest
from django.db import connection

from tenants.models import Domain, Role
from tests.envelope import assert_error, assert_field_errors, ok_data
from tests.factories import add_member
from tests.tenants.helpers import PROFILE, detail_url, domains_url

SHOP = "shop.example.com"


@pytest.fixture
def shop_host(settings):
    settings.ALLOWED_HOSTS = [*settings.ALLOWED_HOSTS, SHOP]
    return SHOP


def add_domain(api, user, tenant, domain, **extra):
    return api(user).post(domains_url(tenant.id), {"domain": domain, **extra}, format="json")


# --- GET


@pytest.mark.parametrize("role", ["owner", "admin"])
def test_managers_list_the_tenants_domains(api, a, b, role):
    data = ok_data(api(getattr(a, role)).get(domains_url(a.tenant.id)))

    assert data["count"] == 1
    (domain,) = data["results"]
    assert domain["domain"] == "tenant-a.localhost"
    assert domain["is_primary"] is True
    assert set(domain) == {"id", "domain", "is_primary", "created_at"}


def test_an_agent_cannot_list_or_add_domains(api, a):
    client = api(a.agent)

    assert_error(client.get(domains_url(a.tenant.id)), 403, "PERMISSION_DENIED")
    response = client.post(domains_url(a.tenant.id), {"domain": SHOP}, format="json")
    assert_error(response, 403, "PERMISSION_DENIED")
    assert not Domain.objects.filter(domain=SHOP).exists()


def test_another_tenants_domains_are_404(api, a, b):
    client = api(a.owner)

    assert_error(client.get(domains_url(b.tenant.id)), 404, "NOT_FOUND")
    assert_error(add_domain(api, a.owner, b.tenant, SHOP), 404, "NOT_FOUND")
    assert not Domain.objects.filter(domain=SHOP).exists()


def test_domains_without_a_token_are_401(api, a):
    assert_error(api().get(domains_url(a.tenant.id)), 401, "AUTHENTICATION_REQUIRED")
    response = api().post(domains_url(a.tenant.id), {"domain": SHOP}, format="json")
    assert_error(response, 401, "AUTHENTICATION_REQUIRED")


# --- POST


def test_an_admin_adds_a_domain_normalised_to_lower_case(api, a):
    data = ok_data(add_domain(api, a.admin, a.tenant, " Shop.Example.COM. "), 201)

    assert data["domain"] == SHOP
    assert data["is_primary"] is False
    assert Domain.objects.get(domain=SHOP).tenant_id == a.tenant.id
    listed = ok_data(api(a.admin).get(domains_url(a.tenant.id)))["results"]
    assert [d["domain"] for d in listed] == ["tenant-a.localhost", SHOP]


def test_adding_a_primary_domain_demotes_the_old_primary(api, a):
    ok_data(add_domain(api, a.owner, a.tenant, SHOP, is_primary=True), 201)

    primaries = Domain.objects.filter(tenant=a.tenant, is_primary=True)
    assert list(primaries.values_list("domain", flat=True)) == [SHOP]
    assert ok_data(api(a.owner).get(detail_url(a.tenant.id)))["primary_domain"] == SHOP


@pytest.mark.parametrize(
    ("domain", "holder"), [("tenant-a.localhost", "tenant-a"), ("TENANT-B.localhost", "tenant-b")]
)
def test_a_domain_already_in_use_is_400(api, a, b, domain, holder):
    body = assert_field_errors(add_domain(api, a.owner, a.tenant, domain), "domain")

    assert "already in use" in body["errors"]["domain"][0]
    assert Domain.objects.get(domain=domain.lower()).tenant.subdomain == holder


@pytest.mark.parametrize(
    "domain",
    [
        "localhost",
        "shop_1.example.com",
        "-shop.example.com",
        "shop..example.com",
        "x" * 64 + ".com",
    ],
)
def test_an_invalid_host_name_is_400(api, a, domain):
    count = Domain.objects.count()

    assert_field_errors(add_domain(api, a.owner, a.tenant, domain), "domain")
    assert Domain.objects.count() == count


def test_a_missing_domain_is_400(api, a):
    response = api(a.owner).post(domains_url(a.tenant.id), {"is_primary": "maybe"}, format="json")

    assert_field_errors(response, "domain", "is_primary")


def test_a_tenant_cannot_claim_the_platforms_own_host(api, a, settings):
    """The API's own host must keep reaching every user's tenant, not just tenant A's."""
    api_host = urlparse(settings.PUBLIC_BASE_URL).hostname

    response = add_domain(api, a.owner, a.tenant, api_host)

    assert_field_errors(response, "domain")
    assert not Domain.objects.filter(domain=api_host).exists()


def test_a_tenant_cannot_claim_a_subdomain_of_the_platform_base_domain(api, a, settings):
    """`<subdomain>.<TENANT_BASE_DOMAIN>` is the primary domain of a future tenant."""
    response = add_domain(api, a.owner, a.tenant, f"newshop.{settings.TENANT_BASE_DOMAIN}")

    assert_field_errors(response, "domain")


# --- Host selects the tenant


def test_an_added_domain_selects_its_tenant_for_a_member(api, a, b, shop_host):
    user = add_member(a.tenant, role=Role.AGENT)
    add_member(b.tenant, user)
    user.active_tenant = b.tenant
    user.save(update_fields=["active_tenant"])
    ok_data(add_domain(api, a.owner, a.tenant, shop_host), 201)

    data = ok_data(api(user).get(PROFILE, HTTP_HOST=shop_host))

    assert data["active_tenant"]["tenant_id"] == str(a.tenant.id)
    assert connection.schema_name == a.tenant.schema_name


def test_an_unauthenticated_request_on_the_domain_lands_on_the_tenants_schema(api, a, shop_host):
    ok_data(add_domain(api, a.owner, a.tenant, shop_host), 201)
    connection.set_schema_to_public()

    assert api().get("/api/health/", HTTP_HOST=shop_host).status_code == 200

    assert connection.schema_name == a.tenant.schema_name


def test_a_non_member_on_a_tenants_domain_is_403(api, a, b, shop_host):
    ok_data(add_domain(api, a.owner, a.tenant, shop_host), 201)

    response = api(b.owner).get(PROFILE, HTTP_HOST=shop_host)

    assert_error(response, 403, "TENANT_ACCESS_DENIED")
