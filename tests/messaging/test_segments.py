"""/api/messaging/segments/: saved contact filters, their counts and their members."""

import datetime as dt

import pytest
from django.utils import timezone

from messaging.models import Contact, Segment
from tests.envelope import assert_error, assert_field_errors, ok_data
from tests.messaging.helpers import (
    SEGMENTS,
    in_tenant,
    make_contact,
    make_contacts,
    make_segment,
    segment_url,
    unknown_id,
)

SEGMENT_FIELDS = {
    "id",
    "name",
    "description",
    "filter_json",
    "contact_count",
    "counted_at",
    "created_at",
    "updated_at",
}
NOW = timezone.now()
DAY = dt.timedelta(days=1)


@pytest.fixture
def audience(a, b):
    """Tenant A's contacts, one per line, named for what the filters below should select.

    Tenant B holds look-alikes of all of them, which must never be counted for A.
    """
    people = {
        "vip-retail": {
            "tags": ["vip", "retail"],
            "attributes": {"city": "Arusha", "tier": 2},
            "is_opted_in": True,
            "last_contacted_at": NOW - 10 * DAY,
        },
        "vip": {"tags": ["vip"], "attributes": {"city": "Moshi"}, "is_opted_in": True},
        "retail": {
            "tags": ["retail"],
            "attributes": {"city": "Arusha", "tier": 1},
            "last_contacted_at": NOW - 1 * DAY,
        },
        "inactive-vip": {"tags": ["vip"], "is_active": False},
        "plain": {},
    }
    created = {
        "vip-retail": NOW - 30 * DAY,
        "vip": NOW - 20 * DAY,
        "retail": NOW - 10 * DAY,
        "inactive-vip": NOW - 5 * DAY,
        "plain": NOW - 1 * DAY,
    }
    for tenant in (a.tenant, b.tenant):
        for name, fields in people.items():
            contact = make_contact(tenant, name=name, **fields)
            in_tenant(
                tenant,
                lambda c=contact, at=created[name]: Contact.objects.filter(pk=c.pk).update(
                    created_at=at
                ),
            )
    make_contact(a.tenant, name="deleted-vip", tags=["vip"], deleted_at=NOW)
    return a


def create(client, filter_json, **fields):
    body = {"name": "Segment", "filter_json": filter_json, **fields}
    return client.post(SEGMENTS, body, format="json")


def member_names(client, segment_id) -> set[str]:
    data = ok_data(client.get(segment_url(segment_id, "contacts"), {"page_size": 100}))
    return {c["name"] for c in data["results"]}


# --- POST /segments/


def test_create_counts_the_segment_at_once(api, audience):
    a = audience

    response = create(api(a.owner), {"tags": ["VIP"]}, description="Our best customers")

    data = ok_data(response, 201)
    assert set(data) == SEGMENT_FIELDS
    assert data["filter_json"] == {"tags": ["VIP"]}
    assert data["description"] == "Our best customers"
    assert data["contact_count"] == 3
    assert data["counted_at"] is not None
    assert in_tenant(a.tenant, lambda: Segment.objects.get(pk=data["id"]).created_by_id) == (
        a.owner.pk
    )


@pytest.mark.parametrize(
    ("filter_json", "expected"),
    [
        ({}, {"vip-retail", "vip", "retail", "inactive-vip", "plain"}),
        ({"tags": ["vip", "retail"]}, {"vip-retail", "vip", "retail", "inactive-vip"}),
        ({"tags_any": ["retail"]}, {"vip-retail", "retail"}),
        ({"tags_all": ["vip", "retail"]}, {"vip-retail"}),
        ({"tags_all": ["VIP"], "is_active": True}, {"vip-retail", "vip"}),
        ({"is_active": False}, {"inactive-vip"}),
        ({"is_opted_in": True}, {"vip-retail", "vip"}),
        ({"is_opted_in": False, "tags": ["retail"]}, {"retail"}),
        ({"attributes": {"city": "Arusha"}}, {"vip-retail", "retail"}),
        ({"attributes": {"city": "Arusha", "tier": 2}}, {"vip-retail"}),
        ({"created_after": (NOW - 15 * DAY).isoformat()}, {"retail", "inactive-vip", "plain"}),
        ({"created_before": (NOW - 15 * DAY).date().isoformat()}, {"vip-retail", "vip"}),
        (
            {
                "created_after": (NOW - 25 * DAY).isoformat(),
                "created_before": (NOW - 7 * DAY).isoformat(),
            },
            {"vip", "retail"},
        ),
        (
            {"last_contacted_before": (NOW - 5 * DAY).isoformat()},
            {"vip-retail", "vip", "inactive-vip", "plain"},
        ),
    ],
    ids=[
        "everyone",
        "tags",
        "tags_any",
        "tags_all",
        "tags_all+active",
        "inactive",
        "opted-in",
        "opted-out+tag",
        "attribute",
        "attributes",
        "created_after",
        "created_before-date",
        "created-window",
        "last_contacted_before",
    ],
)
def test_count_and_members_of_each_filter(api, audience, filter_json, expected):
    client = api(audience.owner)

    data = ok_data(create(client, filter_json), 201)

    assert data["contact_count"] == len(expected)
    assert member_names(client, data["id"]) == expected


@pytest.mark.parametrize(
    ("filter_json", "bad_key"),
    [
        ({"city": "Arusha"}, "city"),
        ({"tags": "vip"}, "tags"),
        ({"tags_all": ["vip", ""]}, "tags_all"),
        ({"tags_any": [1]}, "tags_any"),
        ({"is_active": "yes"}, "is_active"),
        ({"is_opted_in": 1}, "is_opted_in"),
        ({"attributes": {"address": {"city": "Arusha"}}}, "attributes"),
        ({"attributes": ["city"]}, "attributes"),
        ({"created_after": "last tuesday"}, "created_after"),
        ({"created_before": "2026-02-30"}, "created_before"),
        ({"last_contacted_before": 20260101}, "last_contacted_before"),
        (["tags", "vip"], "filter_json"),
        ("vip", "filter_json"),
    ],
)
def test_a_bad_filter_is_refused_with_the_key_named(api, a, filter_json, bad_key):
    response = create(api(a.owner), filter_json)

    body = assert_error(response, 400, "INVALID_SEGMENT_FILTER")
    assert set(body["errors"]) == {"filter_json"}
    (message,) = body["errors"]["filter_json"]
    assert message.startswith(f"{bad_key}:")
    assert not in_tenant(a.tenant, lambda: Segment.objects.exists())


def test_every_bad_key_is_reported(api, a):
    response = create(api(a.owner), {"nope": 1, "is_active": "no", "tags": ["ok"]})

    body = assert_error(response, 400, "INVALID_SEGMENT_FILTER")
    assert sorted(m.split(":")[0] for m in body["errors"]["filter_json"]) == ["is_active", "nope"]


@pytest.mark.parametrize(
    ("body", "field"),
    [({"filter_json": {}}, "name"), ({"name": "", "filter_json": {}}, "name")],
)
def test_a_segment_needs_a_name(api, a, body, field):
    assert_field_errors(api(a.owner).post(SEGMENTS, body, format="json"), field)


def test_a_segment_without_a_filter_selects_everyone(api, a):
    make_contacts(a.tenant, 3)

    data = ok_data(api(a.owner).post(SEGMENTS, {"name": "All"}, format="json"), 201)

    assert (data["filter_json"], data["contact_count"]) == ({}, 3)


# --- GET /segments/ and /segments/{id}/


def test_the_list_shows_the_tenants_segments_by_name(api, a, b):
    make_segment(a.tenant, name="Zeta", contact_count=4)
    make_segment(a.tenant, name="Alpha")
    make_segment(b.tenant, name="Theirs")

    data = ok_data(api(a.agent).get(SEGMENTS))

    assert [s["name"] for s in data["results"]] == ["Alpha", "Zeta"]
    assert data["results"][1]["contact_count"] == 4
    assert set(data["results"][0]) == SEGMENT_FIELDS


def test_the_list_is_paginated(api, a):
    for i in range(3):
        make_segment(a.tenant, name=f"S{i}")

    data = ok_data(api(a.owner).get(SEGMENTS, {"page_size": 2}))

    assert (data["count"], len(data["results"])) == (3, 2)
    assert data["next"] is not None


def test_detail_reads_one_segment(api, a):
    segment = make_segment(a.tenant, name="One", filter_json={"tags": ["x"]})

    data = ok_data(api(a.owner).get(segment_url(segment.id)))

    assert (data["id"], data["filter_json"]) == (str(segment.id), {"tags": ["x"]})


def test_an_unknown_segment_is_a_404(api, a):
    assert_error(api(a.owner).get(segment_url(unknown_id())), 404, "NOT_FOUND")


# --- PUT and DELETE /segments/{id}/


def test_put_a_new_filter_recounts(api, audience):
    client = api(audience.owner)
    segment = ok_data(create(client, {"tags": ["vip"]}), 201)

    data = ok_data(
        client.put(segment_url(segment["id"]), {"filter_json": {"tags": ["retail"]}}, format="json")
    )

    assert data["filter_json"] == {"tags": ["retail"]}
    assert data["contact_count"] == 2
    assert data["name"] == "Segment"


def test_put_a_new_name_keeps_the_filter(api, a):
    segment = make_segment(a.tenant, name="Old", filter_json={"is_opted_in": True})

    data = ok_data(api(a.owner).put(segment_url(segment.id), {"name": "New"}, format="json"))

    assert (data["name"], data["filter_json"]) == ("New", {"is_opted_in": True})


def test_put_a_bad_filter_is_refused_and_changes_nothing(api, a):
    segment = make_segment(a.tenant, name="Kept", filter_json={"tags": ["x"]})

    response = api(a.owner).put(
        segment_url(segment.id), {"name": "Changed", "filter_json": {"bad": 1}}, format="json"
    )

    assert_error(response, 400, "INVALID_SEGMENT_FILTER")
    kept = in_tenant(a.tenant, lambda: Segment.objects.get(pk=segment.id))
    assert (kept.name, kept.filter_json) == ("Kept", {"tags": ["x"]})


def test_put_an_empty_name_is_a_400(api, a):
    segment = make_segment(a.tenant)

    assert_field_errors(api(a.owner).put(segment_url(segment.id), {"name": ""}), "name")


def test_delete_removes_the_segment(api, a):
    segment = make_segment(a.tenant)
    client = api(a.owner)

    assert ok_data(client.delete(segment_url(segment.id))) is None
    assert_error(client.get(segment_url(segment.id)), 404, "NOT_FOUND")
    assert not in_tenant(a.tenant, lambda: Segment.objects.exists())


# --- POST /segments/{id}/update-count/ and GET /segments/{id}/contacts/


def test_update_count_follows_contact_changes(api, a):
    client = api(a.owner)
    make_contacts(a.tenant, 2, tags=["x"])
    segment = ok_data(create(client, {"tags": ["x"]}), 201)
    make_contacts(a.tenant, 3, tags=["x"])
    stale = ok_data(client.get(segment_url(segment["id"])))

    data = ok_data(client.post(segment_url(segment["id"], "update-count")))

    assert (stale["contact_count"], data["contact_count"]) == (2, 5)
    assert data["counted_at"] > segment["counted_at"]


def test_segment_contacts_are_paginated_and_only_the_tenants_live_ones(api, audience, b):
    client = api(audience.owner)
    make_contacts(audience.tenant, 22, tags=["vip"])
    segment = ok_data(create(client, {"tags": ["vip"]}), 201)

    first = ok_data(client.get(segment_url(segment["id"], "contacts")))
    second = ok_data(client.get(segment_url(segment["id"], "contacts"), {"page": 2}))

    assert first["count"] == segment["contact_count"] == 25
    assert (len(first["results"]), len(second["results"])) == (20, 5)
    ids = {c["id"] for c in first["results"] + second["results"]}
    theirs = in_tenant(
        b.tenant, lambda: {str(pk) for pk in Contact.objects.values_list("pk", flat=True)}
    )
    assert not ids & theirs
    assert "deleted-vip" not in {c["name"] for c in first["results"] + second["results"]}
