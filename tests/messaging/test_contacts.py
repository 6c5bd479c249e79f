"""/api/messaging/contacts/: upsert, list (search, filters, tags, ordering), read, update,
soft delete, opt-in and opt-out."""

import datetime as dt

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from messaging.models import Contact
from tests.envelope import assert_error, assert_field_errors, ok_data
from tests.factories import add_member
from tests.messaging.helpers import (
    CONTACTS,
    contact_url,
    in_tenant,
    make_contact,
    make_contacts,
    make_segment,
    segment_url,
    unknown_id,
)

CONTACT_FIELDS = {
    "id",
    "name",
    "phone_e164",
    "email",
    "attributes",
    "tags",
    "is_active",
    "is_opted_in",
    "opt_in_at",
    "opt_out_at",
    "opt_out_reason",
    "last_contacted_at",
    "created_by",
    "created_at",
    "updated_at",
}


def listed(response) -> list[str]:
    """The names of the contacts of a list response, in order."""
    return [c["name"] for c in ok_data(response)["results"]]


# --- POST /contacts/


def test_create_normalises_the_local_phone_with_the_tenants_country(api, a):
    body = {"name": "Asha", "phone_e164": "0712345678", "email": "Asha@Example.COM"}

    data = ok_data(api(a.owner).post(CONTACTS, body, format="json"), 201)

    assert set(data) == {*CONTACT_FIELDS, "upserted"}
    assert data["upserted"] is False
    assert data["phone_e164"] == "+255712345678"
    assert data["email"] == "asha@example.com"
    assert data["created_by"] == a.owner.pk
    assert data["is_active"] is True
    assert data["is_opted_in"] is False
    stored = in_tenant(a.tenant, lambda: Contact.objects.get(pk=data["id"]))
    assert stored.phone_e164 == "+255712345678"


@pytest.mark.parametrize("key", ["phone_e164", "phone_number", "phone"])
def test_the_phone_may_be_sent_under_any_of_its_names(api, a, key):
    data = ok_data(api(a.owner).post(CONTACTS, {key: "0712 345 679"}, format="json"), 201)

    assert data["phone_e164"] == "+255712345679"


def test_tags_are_trimmed_lower_cased_and_deduplicated(api, a):
    body = {"phone": "+255712000100", "tags": [" VIP ", "vip", "Retail", "", "retail "]}

    data = ok_data(api(a.owner).post(CONTACTS, body, format="json"), 201)

    assert data["tags"] == ["vip", "retail"]


def test_flat_attributes_of_text_numbers_and_booleans_are_kept(api, a):
    attributes = {"city": "Arusha", "tier": 2, "score": 4.5, "vip": True}
    body = {"phone": "+255712000101", "attributes": attributes}

    data = ok_data(api(a.owner).post(CONTACTS, body, format="json"), 201)

    assert data["attributes"] == attributes


@pytest.mark.parametrize("attributes", [{"address": {"city": "Arusha"}}, {"kids": ["a", "b"]}])
def test_nested_attributes_are_refused(api, a, attributes):
    body = {"phone": "+255712000102", "attributes": attributes}

    assert_field_errors(api(a.owner).post(CONTACTS, body, format="json"), "attributes")
    assert not in_tenant(a.tenant, lambda: Contact.objects.exists())


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"name": "No phone"}, "phone_e164"),
        ({"phone_e164": "12"}, "phone_e164"),
        ({"phone": "not a phone"}, "phone"),
        ({"phone": "+255712000103", "email": "not-an-email"}, "email"),
        ({"phone": "+255712000103", "tags": "vip"}, "tags"),
    ],
)
def test_bad_input_is_a_400_naming_the_field(api, a, body, field):
    assert_field_errors(api(a.owner).post(CONTACTS, body, format="json"), field)


def test_posting_a_known_phone_updates_that_contact(api, a):
    existing = make_contact(a.tenant, name="Old", phone_e164="+255712345678", tags=["old"])

    response = api(a.owner).post(
        CONTACTS, {"phone": "0712345678", "name": "New", "tags": ["new"]}, format="json"
    )

    data = ok_data(response, 200)
    assert data["upserted"] is True
    assert data["id"] == str(existing.id)
    assert data["name"] == "New"
    assert in_tenant(a.tenant, lambda: Contact.objects.count()) == 1


def test_posting_a_known_email_with_a_new_phone_updates_that_contact(api, a):
    existing = make_contact(a.tenant, email="juma@example.com")

    body = {"phone": "+255712000104", "email": "JUMA@example.com"}
    data = ok_data(api(a.owner).post(CONTACTS, body, format="json"), 200)

    assert data["upserted"] is True
    assert data["id"] == str(existing.id)
    assert data["phone_e164"] == "+255712000104"


def test_an_upsert_may_not_take_another_contacts_email(api, a):
    make_contact(a.tenant, phone_e164="+255712000105")
    make_contact(a.tenant, email="taken@example.com")

    body = {"phone": "+255712000105", "email": "taken@example.com"}
    assert_field_errors(api(a.owner).post(CONTACTS, body, format="json"), "email")


def test_creating_a_soft_deleted_phone_brings_the_contact_back(api, a):
    gone = make_contact(a.tenant, phone_e164="+255712000106", deleted_at=timezone.now())

    body = {"phone": "0712000106", "name": "Back"}
    data = ok_data(api(a.owner).post(CONTACTS, body, format="json"), 201)

    assert data["upserted"] is False
    assert data["id"] == str(gone.id)
    ok_data(api(a.owner).get(contact_url(gone.id)))
    assert in_tenant(a.tenant, lambda: Contact.objects.get(pk=gone.id).deleted_at) is None


def test_the_same_phone_in_two_tenants_is_two_contacts(api, a, b):
    theirs = make_contact(b.tenant, phone_e164="+255712000107", name="B's")

    data = ok_data(api(a.owner).post(CONTACTS, {"phone": "+255712000107"}, format="json"), 201)

    assert data["id"] != str(theirs.id)
    assert in_tenant(b.tenant, lambda: Contact.objects.get(pk=theirs.id).name) == "B's"


def test_a_create_retried_with_its_idempotency_key_is_replayed(api, a):
    client = api(a.owner, HTTP_IDEMPOTENCY_KEY="contact-1")
    body = {"phone": "+255712000108", "name": "Once"}

    first = client.post(CONTACTS, body, format="json")
    second = client.post(CONTACTS, body, format="json")
    reused = client.post(CONTACTS, {**body, "name": "Other"}, format="json")

    assert ok_data(second, 201)["id"] == ok_data(first, 201)["id"]
    assert second["Idempotent-Replayed"] == "true"
    assert_error(reused, 422, "IDEMPOTENCY_KEY_REUSED")
    assert in_tenant(a.tenant, lambda: Contact.objects.count()) == 1


def test_an_idempotency_key_reused_in_another_tenant_is_not_replayed_there(api, a, b):
    user = add_member(a.tenant)
    add_member(b.tenant, user)
    body = {"phone": "+255712000111", "name": "Both"}

    in_a = api(user, HTTP_IDEMPOTENCY_KEY="k1", HTTP_X_TENANT_ID=str(a.tenant.id))
    in_b = api(user, HTTP_IDEMPOTENCY_KEY="k1", HTTP_X_TENANT_ID=str(b.tenant.id))
    ok_data(in_a.post(CONTACTS, body, format="json"), 201)
    response = in_b.post(CONTACTS, body, format="json")

    assert response.get("Idempotent-Replayed") is None, "tenant A's response replayed in B"
    if response.status_code == 201:
        assert in_tenant(b.tenant, lambda: Contact.objects.filter(name="Both").exists())


# --- GET /contacts/


def test_the_list_shows_only_live_contacts_of_the_tenant(api, a, b):
    make_contact(a.tenant, name="Mine")
    make_contact(a.tenant, name="Deleted", deleted_at=timezone.now())
    make_contact(b.tenant, name="Theirs")

    data = ok_data(api(a.agent).get(CONTACTS))

    assert set(data) == {"results", "count", "next", "previous"}
    assert data["count"] == 1
    (contact,) = data["results"]
    assert contact["name"] == "Mine"
    assert set(contact) == CONTACT_FIELDS


@pytest.mark.parametrize("term", ["AMINA", "78900", "Shop.Example"])
def test_search_matches_name_phone_or_email_case_insensitively(api, a, b, term):
    make_contact(a.tenant, name="Amina Said", phone_e164="+255789000001", email="a@shop.example")
    make_contact(a.tenant, name="Other", phone_e164="+255712000109", email="o@x.example")
    make_contact(b.tenant, name="Amina B", phone_e164="+255789000001", email="a@shop.example")

    names = listed(api(a.owner).get(CONTACTS, {"search": term}))

    assert names == ["Amina Said"]


def test_search_finds_accented_names_whatever_their_case(api, a):
    make_contact(a.tenant, name="José Ñungu")

    assert listed(api(a.owner).get(CONTACTS, {"search": "JOSÉ ñ"})) == ["José Ñungu"]


def test_search_finds_a_name_with_sharp_s_by_its_own_spelling(api, a):
    make_contact(a.tenant, name="Hans Strauß")

    assert listed(api(a.owner).get(CONTACTS, {"search": "strauß"})) == ["Hans Strauß"]


def test_search_does_not_match_text_spanning_two_fields(api, a):
    make_contact(a.tenant, name="Juma", phone_e164="+255712000110", email="j@example.com")

    assert listed(api(a.owner).get(CONTACTS, {"search": "juma +255"})) == []
    assert listed(api(a.owner).get(CONTACTS, {"search": "0110 j@"})) == []


def test_is_active_and_is_opted_in_filter_the_list(api, a):
    make_contact(a.tenant, name="active-in", is_active=True, is_opted_in=True)
    make_contact(a.tenant, name="active-out", is_active=True, is_opted_in=False)
    make_contact(a.tenant, name="inactive-in", is_active=False, is_opted_in=True)
    client = api(a.owner)

    assert set(listed(client.get(CONTACTS, {"is_active": "false"}))) == {"inactive-in"}
    assert set(listed(client.get(CONTACTS, {"is_opted_in": "true"}))) == {
        "active-in",
        "inactive-in",
    }
    both = {"is_active": "true", "is_opted_in": "true"}
    assert listed(client.get(CONTACTS, both)) == ["active-in"]


@pytest.mark.parametrize(
    "query",
    ["tags=vip,retail", "tag=vip&tag=retail", "tags=vip&tags=retail", "tags=VIP, Retail"],
)
def test_tags_in_every_spelling_select_contacts_with_any_of_them(api, a, query):
    make_contact(a.tenant, name="vip", tags=["vip"])
    make_contact(a.tenant, name="retail", tags=["retail", "x"])
    make_contact(a.tenant, name="both", tags=["vip", "retail"])
    make_contact(a.tenant, name="none", tags=["wholesale"])

    names = listed(api(a.owner).get(f"{CONTACTS}?{query}"))

    assert sorted(names) == ["both", "retail", "vip"]


@pytest.mark.parametrize(
    ("ordering", "expected"),
    [
        ("name", ["Aisha", "Baraka", "Chausiku"]),
        ("-name", ["Chausiku", "Baraka", "Aisha"]),
        ("created_at", ["Baraka", "Chausiku", "Aisha"]),
        ("-created_at", ["Aisha", "Chausiku", "Baraka"]),
        ("last_contacted_at", ["Chausiku", "Aisha", "Baraka"]),
        ("-updated_at", ["Chausiku", "Aisha", "Baraka"]),
    ],
)
def test_ordering(api, a, ordering, expected):
    now = timezone.now()
    days = dt.timedelta(days=1)
    rows = {
        "Aisha": (now - 1 * days, now - 2 * days, now - 2 * days),
        "Baraka": (now - 3 * days, None, now - 3 * days),
        "Chausiku": (now - 2 * days, now - 3 * days, now - 1 * days),
    }
    for name, (created, contacted, updated) in rows.items():
        contact = make_contact(a.tenant, name=name, last_contacted_at=contacted)
        in_tenant(
            a.tenant,
            lambda c=contact, cr=created, up=updated: Contact.objects.filter(pk=c.pk).update(
                created_at=cr, updated_at=up
            ),
        )

    assert listed(api(a.owner).get(CONTACTS, {"ordering": ordering})) == expected


def test_an_unknown_ordering_is_a_400(api, a):
    assert_field_errors(api(a.owner).get(CONTACTS, {"ordering": "phone_e164"}), "ordering")


def test_the_list_is_paginated(api, a):
    make_contacts(a.tenant, 25)

    first = ok_data(api(a.owner).get(CONTACTS))
    last = ok_data(api(a.owner).get(CONTACTS, {"page": 3, "page_size": 10}))

    assert first["count"] == 25
    assert len(first["results"]) == 20
    assert first["next"] is not None
    assert len(last["results"]) == 5
    assert last["next"] is None


@pytest.mark.parametrize("ordering", ["name", "last_contacted_at"])
def test_pages_of_an_ordered_list_neither_repeat_nor_skip_contacts(api, a, ordering):
    in_tenant(
        a.tenant,
        lambda: Contact.objects.bulk_create(
            Contact(phone_e164=f"+2557150{i:05d}", name="Same") for i in range(200)
        ),
    )
    client = api(a.owner)

    seen = []
    for page in range(1, 11):
        params = {"ordering": ordering, "page": page, "page_size": 20}
        seen += [c["id"] for c in ok_data(client.get(CONTACTS, params))["results"]]

    assert len(seen) == 200
    assert len(set(seen)) == 200, f"{200 - len(set(seen))} contacts shown twice, as many missed"


def list_queries(client, params) -> int:
    with CaptureQueriesContext(connection) as queries:
        ok_data(client.get(CONTACTS, params))
    return len(queries)


def test_the_list_costs_the_same_queries_for_5_or_30_contacts(
    api, a, django_assert_max_num_queries
):
    client = api(a.owner)
    params = {"page_size": 50, "search": "bulk", "tags": "t", "ordering": "name"}
    make_contacts(a.tenant, 5, tags=["t"])
    few = list_queries(client, params)
    make_contacts(a.tenant, 25, tags=["t"])

    with django_assert_max_num_queries(few):
        data = ok_data(client.get(CONTACTS, params))

    assert data["count"] == 30
    # user, membership, count, page
    assert few <= 4


# --- GET/PUT/DELETE /contacts/{id}/


def test_detail_reads_one_contact(api, a):
    contact = make_contact(a.tenant, name="Zawadi", tags=["vip"])

    data = ok_data(api(a.agent).get(contact_url(contact.id)))

    assert data["id"] == str(contact.id)
    assert data["tags"] == ["vip"]
    assert set(data) == CONTACT_FIELDS


def test_an_unknown_contact_is_a_404(api, a):
    assert_error(api(a.owner).get(contact_url(unknown_id())), 404, "NOT_FOUND")


def test_put_accepts_a_partial_body(api, a):
    contact = make_contact(a.tenant, name="Old", email="keep@example.com", tags=["a"])

    response = api(a.owner).put(
        contact_url(contact.id), {"name": "New", "tags": ["B", "b"]}, format="json"
    )

    data = ok_data(response)
    assert data["name"] == "New"
    assert data["tags"] == ["b"]
    assert data["email"] == "keep@example.com"
    assert data["phone_e164"] == contact.phone_e164


def test_put_normalises_a_new_phone(api, a):
    contact = make_contact(a.tenant)

    data = ok_data(api(a.owner).put(contact_url(contact.id), {"phone": "0754 000 001"}))

    assert data["phone_e164"] == "+255754000001"


@pytest.mark.parametrize("field", ["phone_e164", "email"])
def test_put_may_not_take_another_contacts_phone_or_email(api, a, field):
    other = make_contact(a.tenant, email="other@example.com")
    contact = make_contact(a.tenant)

    body = {field: getattr(other, field)}
    assert_field_errors(api(a.owner).put(contact_url(contact.id), body, format="json"), field)


def test_put_refuses_nested_attributes(api, a):
    contact = make_contact(a.tenant)

    body = {"attributes": {"a": {"b": 1}}}
    assert_field_errors(
        api(a.owner).put(contact_url(contact.id), body, format="json"), "attributes"
    )


def test_delete_is_soft_and_the_contact_leaves_every_read(api, a):
    contact = make_contact(a.tenant, name="Gone Girl", tags=["vip"])
    make_contact(a.tenant, name="Stays", tags=["vip"])
    segment = make_segment(a.tenant, filter_json={"tags": ["vip"]})
    client = api(a.owner)

    response = client.delete(contact_url(contact.id))

    assert ok_data(response) is None
    assert response.json()["message"]
    assert listed(client.get(CONTACTS)) == ["Stays"]
    assert listed(client.get(CONTACTS, {"search": "gone"})) == []
    assert_error(client.get(contact_url(contact.id)), 404, "NOT_FOUND")
    assert_error(client.delete(contact_url(contact.id)), 404, "NOT_FOUND")
    assert ok_data(client.post(segment_url(segment.id, "update-count")))["contact_count"] == 1
    assert listed(client.get(segment_url(segment.id, "contacts"))) == ["Stays"]
    assert in_tenant(a.tenant, lambda: Contact.objects.get(pk=contact.id).deleted_at) is not None


# --- POST /contacts/{id}/opt-in/ and /opt-out/


def test_opt_out_records_the_reason_and_opt_in_clears_it(api, a):
    contact = make_contact(a.tenant, is_opted_in=True)
    client = api(a.agent)

    out = ok_data(client.post(contact_url(contact.id, "opt-out"), {"reason": "STOP"}))
    back = ok_data(client.post(contact_url(contact.id, "opt-in")))

    assert out["is_opted_in"] is False
    assert out["opt_out_reason"] == "STOP"
    assert out["opt_out_at"] is not None
    assert back["is_opted_in"] is True
    assert back["opt_in_at"] is not None
    assert back["opt_out_at"] is None
    assert back["opt_out_reason"] == ""


def test_opt_out_without_a_reason_is_fine(api, a):
    contact = make_contact(a.tenant, is_opted_in=True)

    data = ok_data(api(a.owner).post(contact_url(contact.id, "opt-out")))

    assert data["is_opted_in"] is False
    assert data["opt_out_reason"] == ""


def test_an_overlong_opt_out_reason_is_a_400(api, a):
    contact = make_contact(a.tenant, is_opted_in=True)

    response = api(a.owner).post(contact_url(contact.id, "opt-out"), {"reason": "x" * 256})

    assert_field_errors(response, "reason")
    assert in_tenant(a.tenant, lambda: Contact.objects.get(pk=contact.pk).is_opted_in) is True


@pytest.mark.parametrize("action", ["opt-in", "opt-out"])
def test_opting_a_deleted_contact_is_a_404(api, a, action):
    contact = make_contact(a.tenant, deleted_at=timezone.now())

    assert_error(api(a.owner).post(contact_url(contact.id, action)), 404, "NOT_FOUND")
