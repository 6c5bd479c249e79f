"""`page` and `page_size` (default 20, max 100) inside the envelope, via a tenant's members."""

from urllib.parse import parse_qs, urlparse

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from tenants.models import Membership, Role
from tests.envelope import assert_error, ok_data
from tests.factories import add_member, tenant_with_owner


def members_url(tenant) -> str:
    return f"/api/tenants/{tenant.id}/members/"


def add_members(tenant, count: int) -> None:
    for _ in range(count):
        add_member(tenant)


def query_of(link: str) -> dict:
    return {key: values[0] for key, values in parse_qs(urlparse(link).query).items()}


@pytest.fixture
def members_25(a):
    """Tenant A with 25 members: its owner, admin and agent plus 22 agents."""
    add_members(a.tenant, 22)
    return a


def test_a_page_holds_20_items_by_default(api, members_25):
    a = members_25

    data = ok_data(api(a.owner).get(members_url(a.tenant)))

    assert set(data) == {"results", "count", "next", "previous"}
    assert len(data["results"]) == 20
    assert data["count"] == 25
    assert query_of(data["next"]) == {"page": "2"}
    assert data["previous"] is None


def test_the_last_page_holds_the_rest(api, members_25):
    a = members_25

    data = ok_data(api(a.owner).get(members_url(a.tenant), {"page": 2}))

    assert len(data["results"]) == 5
    assert data["next"] is None
    assert data["previous"] is not None


def test_page_size_sets_the_page_length_and_the_links_keep_it(api, members_25):
    a = members_25

    data = ok_data(api(a.owner).get(members_url(a.tenant), {"page_size": 2}))

    assert len(data["results"]) == 2
    assert data["count"] == 25
    assert query_of(data["next"]) == {"page": "2", "page_size": "2"}
    following = ok_data(api(a.owner).get(data["next"]))
    assert query_of(following["previous"]) == {"page_size": "2"}
    assert not {m["id"] for m in data["results"]} & {m["id"] for m in following["results"]}


@pytest.mark.parametrize("page_size", ["0", "-5", "lots"])
def test_a_nonsense_page_size_falls_back_to_the_default(api, members_25, page_size):
    a = members_25

    data = ok_data(api(a.owner).get(members_url(a.tenant), {"page_size": page_size}))

    assert len(data["results"]) == 20


def test_page_size_is_capped_at_100(api, a):
    add_members(a.tenant, 102)

    data = ok_data(api(a.owner).get(members_url(a.tenant), {"page_size": 1000}))

    assert data["count"] == 105
    assert len(data["results"]) == 100
    assert query_of(data["next"]) == {"page": "2", "page_size": "1000"}


@pytest.mark.parametrize("page", ["999", "0", "-1", "two"])
def test_a_page_out_of_range_is_a_404_envelope(api, a, page):
    response = api(a.owner).get(members_url(a.tenant), {"page": page})

    assert_error(response, 404, "NOT_FOUND")


def test_page_last_is_the_last_page(api, members_25):
    a = members_25

    data = ok_data(api(a.owner).get(members_url(a.tenant), {"page": "last"}))

    assert len(data["results"]) == 5


def test_pages_cover_every_member_exactly_once_even_with_equal_timestamps(api, members_25):
    """Paging needs a total order: rows sharing created_at must not repeat or vanish."""
    a = members_25
    Membership.objects.filter(tenant=a.tenant).update(created_at=timezone.now())
    client = api(a.owner)

    seen = []
    for page in range(1, 6):
        data = ok_data(client.get(members_url(a.tenant), {"page": page, "page_size": 5}))
        seen += [member["id"] for member in data["results"]]

    expected = {str(pk) for (pk,) in Membership.objects.filter(tenant=a.tenant).values_list("id")}
    assert sorted(seen) == sorted(expected)


def test_tenant_pages_cover_every_tenant_exactly_once_even_with_equal_names(api, a):
    """Tenant names are not unique, so the tenant list needs a tiebreaker as well."""
    for n in range(7):
        tenant, _ = tenant_with_owner(name="Same Name", subdomain=f"same-name-{n}")
        add_member(tenant, a.agent, Role.AGENT)
    client = api(a.agent)

    seen = []
    for page in range(1, 5):
        data = ok_data(client.get("/api/tenants/", {"page": page, "page_size": 2}))
        seen += [tenant["subdomain"] for tenant in data["results"]]

    assert sorted(seen) == sorted([a.tenant.subdomain] + [f"same-name-{n}" for n in range(7)])


def test_the_query_count_does_not_grow_with_the_page(api, members_25):
    a = members_25
    client = api(a.owner)

    with CaptureQueriesContext(connection) as small:
        client.get(members_url(a.tenant), {"page_size": 2})
    with CaptureQueriesContext(connection) as large:
        client.get(members_url(a.tenant), {"page_size": 25})

    assert len(large) == len(small)


def test_another_tenants_members_are_a_404(api, a, b):
    response = api(a.owner).get(members_url(b.tenant))

    assert_error(response, 404, "NOT_FOUND")
    assert b.owner.email.encode() not in response.content
