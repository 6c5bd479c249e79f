"""Every audience route: 401 without a token, 403 without an active tenant membership, and 404
for another tenant's ids."""

import pytest

from messaging.models import Contact, ContactImport
from tenants.models import Membership
from tests.envelope import assert_error, ok_data
from tests.factories import UserFactory, add_member
from tests.messaging.helpers import (
    CONTACTS,
    IMPORT,
    SEGMENTS,
    TEMPLATES,
    contact_url,
    import_url,
    in_tenant,
    make_contact,
    make_segment,
    make_template,
    segment_url,
    template_url,
)

ID = "00000000-0000-4000-8000-000000000000"
ROUTES = [
    ("get", CONTACTS),
    ("post", CONTACTS),
    ("get", contact_url(ID)),
    ("put", contact_url(ID)),
    ("delete", contact_url(ID)),
    ("post", contact_url(ID, "opt-in")),
    ("post", contact_url(ID, "opt-out")),
    ("post", IMPORT),
    ("get", import_url(ID)),
    ("get", SEGMENTS),
    ("post", SEGMENTS),
    ("get", segment_url(ID)),
    ("put", segment_url(ID)),
    ("delete", segment_url(ID)),
    ("post", segment_url(ID, "update-count")),
    ("get", segment_url(ID, "contacts")),
    ("get", TEMPLATES),
    ("post", TEMPLATES),
    ("get", template_url(ID)),
    ("put", template_url(ID)),
    ("delete", template_url(ID)),
    ("post", template_url(ID, "preview")),
]
ROUTE_IDS = [f"{method} {url.replace(ID, '{id}')}" for method, url in ROUTES]


@pytest.mark.parametrize(("method", "url"), ROUTES, ids=ROUTE_IDS)
def test_every_route_needs_a_token(api, db, method, url):
    response = getattr(api(), method)(url, {}, format="json")

    assert_error(response, 401, "AUTHENTICATION_REQUIRED")


@pytest.mark.parametrize(("method", "url"), ROUTES, ids=ROUTE_IDS)
def test_every_route_needs_an_active_tenant_membership(api, db, method, url):
    response = getattr(api(UserFactory()), method)(url, {}, format="json")

    assert_error(response, 403, "PERMISSION_DENIED")


def test_a_suspended_member_is_refused(api, a):
    user = add_member(a.tenant, status=Membership.Status.SUSPENDED)
    make_contact(a.tenant, name="Hidden")

    assert_error(api(user).get(CONTACTS), 403, "PERMISSION_DENIED")


def test_an_invalid_token_is_a_401(api, db):
    response = api(HTTP_AUTHORIZATION="Bearer not.a.token").get(CONTACTS)

    assert response.status_code == 401


@pytest.fixture
def foreign(b, settings, tmp_path):
    """One of each of tenant B's objects."""
    settings.MEDIA_ROOT = str(tmp_path)
    return {
        "contact": make_contact(b.tenant, name="B contact", tags=["vip"]),
        "segment": make_segment(b.tenant, name="B segment"),
        "template": make_template(b.tenant, name="B template"),
        "import": in_tenant(b.tenant, lambda: ContactImport.objects.create(file_format="csv")),
    }


FOREIGN_ROUTES = [
    ("get", "contact", contact_url, ""),
    ("put", "contact", contact_url, ""),
    ("delete", "contact", contact_url, ""),
    ("post", "contact", contact_url, "opt-in"),
    ("post", "contact", contact_url, "opt-out"),
    ("get", "import", lambda pk, _="": import_url(pk), ""),
    ("get", "segment", segment_url, ""),
    ("put", "segment", segment_url, ""),
    ("delete", "segment", segment_url, ""),
    ("post", "segment", segment_url, "update-count"),
    ("get", "segment", segment_url, "contacts"),
    ("get", "template", template_url, ""),
    ("put", "template", template_url, ""),
    ("delete", "template", template_url, ""),
    ("post", "template", template_url, "preview"),
]


@pytest.mark.parametrize(
    ("method", "kind", "url_of", "action"),
    FOREIGN_ROUTES,
    ids=[f"{m} {k} {act}".strip() for m, k, _, act in FOREIGN_ROUTES],
)
def test_another_tenants_ids_are_404(api, a, b, foreign, method, kind, url_of, action):
    target = foreign[kind]
    body = {"name": "Hijacked", "content": "x", "filter_json": {}}

    response = getattr(api(a.owner), method)(url_of(target.id, action), body, format="json")

    assert_error(response, 404, "NOT_FOUND")
    model = type(target)
    still = in_tenant(b.tenant, lambda: model.objects.get(pk=target.pk))
    assert getattr(still, "name", None) != "Hijacked"
    if isinstance(still, Contact):
        assert still.deleted_at is None


def test_another_tenants_contacts_never_show_in_lists_or_searches(api, a, b, foreign):
    make_contact(a.tenant, name="A contact", tags=["vip"])
    client = api(a.owner)

    for params in ({}, {"search": "contact"}, {"tags": "vip"}, {"search": "B contact"}):
        names = [c["name"] for c in ok_data(client.get(CONTACTS, params))["results"]]
        assert "B contact" not in names, params
    segment = ok_data(
        client.post(SEGMENTS, {"name": "vip", "filter_json": {"tags": ["vip"]}}, format="json"), 201
    )
    assert segment["contact_count"] == 1


def test_a_user_in_two_tenants_sees_the_one_named_by_x_tenant_id(api, a, b):
    user = add_member(a.tenant)
    add_member(b.tenant, user)
    make_contact(a.tenant, name="In A")
    make_contact(b.tenant, name="In B")

    in_b = ok_data(api(user, HTTP_X_TENANT_ID=str(b.tenant.id)).get(CONTACTS))

    assert [c["name"] for c in in_b["results"]] == ["In B"]
