"""POST /api/messaging/contacts/bulk-delete/, bulk-add-tags/ and bulk-remove-tags/: one
statement for the whole set, all or nothing when an id is not the tenant's live contact."""

from django.db import connection
from django.test.utils import CaptureQueriesContext

from messaging.models import Contact
from messaging.selectors import contacts_live
from tests.envelope import assert_error, assert_field_errors, ok_data
from tests.messaging.helpers import CONTACTS, in_tenant, make_contact, make_contacts, unknown_id

BULK_DELETE = f"{CONTACTS}bulk-delete/"
BULK_ADD_TAGS = f"{CONTACTS}bulk-add-tags/"
BULK_REMOVE_TAGS = f"{CONTACTS}bulk-remove-tags/"


def ids(*contacts) -> list[str]:
    return [str(contact.pk) for contact in contacts]


def tags_of(tenant, contact) -> list[str]:
    return in_tenant(tenant, lambda: Contact.objects.get(pk=contact.pk).tags)


# --- bulk-delete


def test_bulk_delete_soft_deletes_the_set(api, a):
    keep, *gone = make_contacts(a.tenant, 3)

    data = ok_data(api(a.agent).post(BULK_DELETE, {"contact_ids": ids(*gone)}, format="json"))

    assert data == {"deleted": 2}
    listed = ok_data(api(a.owner).get(CONTACTS))
    assert [c["id"] for c in listed["results"]] == [str(keep.pk)]
    stored = in_tenant(a.tenant, lambda: list(Contact.objects.filter(pk__in=ids(*gone))))
    assert len(stored) == 2 and all(c.deleted_at is not None for c in stored)  # soft


def test_bulk_delete_with_another_tenants_id_is_a_404_and_deletes_nothing(api, a, b):
    mine = make_contact(a.tenant)
    theirs = make_contact(b.tenant)

    body = assert_error(
        api(a.owner).post(BULK_DELETE, {"contact_ids": ids(mine, theirs)}, format="json"),
        404,
        "NOT_FOUND",
    )

    assert body["details"] == {"not_found": [str(theirs.pk)]}
    assert in_tenant(a.tenant, lambda: contacts_live().filter(pk=mine.pk).exists())
    assert in_tenant(b.tenant, lambda: contacts_live().filter(pk=theirs.pk).exists())


def test_bulk_delete_of_an_already_deleted_or_unknown_contact_is_a_404(api, a):
    deleted = make_contact(a.tenant)
    client = api(a.owner)
    ok_data(client.delete(f"{CONTACTS}{deleted.pk}/"))
    missing = unknown_id()

    body = assert_error(
        client.post(BULK_DELETE, {"contact_ids": [str(deleted.pk), missing]}, format="json"),
        404,
        "NOT_FOUND",
    )

    assert body["details"] == {"not_found": [str(deleted.pk), missing]}


def test_a_repeated_id_is_deleted_once(api, a):
    contact = make_contact(a.tenant)

    data = ok_data(
        api(a.owner).post(BULK_DELETE, {"contact_ids": ids(contact, contact)}, format="json")
    )

    assert data == {"deleted": 1}


def test_bulk_bodies_are_checked(api, a):
    client = api(a.owner)

    assert_field_errors(client.post(BULK_DELETE, {}, format="json"), "contact_ids")
    assert_field_errors(client.post(BULK_DELETE, {"contact_ids": []}, format="json"), "contact_ids")
    assert_field_errors(
        client.post(BULK_DELETE, {"contact_ids": ["not-a-uuid"]}, format="json"), "contact_ids"
    )
    contact = make_contact(a.tenant)
    assert_field_errors(
        client.post(BULK_ADD_TAGS, {"contact_ids": ids(contact)}, format="json"), "tags"
    )
    assert_field_errors(
        client.post(BULK_ADD_TAGS, {"contact_ids": ids(contact), "tags": [" "]}, format="json"),
        "tags",
    )


def queries_of(client, url: str, body: dict) -> int:
    with CaptureQueriesContext(connection) as queries:
        ok_data(client.post(url, body, format="json"))
    return len(queries)


def test_bulk_delete_costs_the_same_queries_for_2_or_200_contacts(
    api, a, django_assert_max_num_queries
):
    client = api(a.owner)
    few = queries_of(client, BULK_DELETE, {"contact_ids": ids(*make_contacts(a.tenant, 2))})
    many = make_contacts(a.tenant, 200)

    with django_assert_max_num_queries(few):
        data = ok_data(client.post(BULK_DELETE, {"contact_ids": ids(*many)}, format="json"))

    assert data == {"deleted": 200}
    # membership, the ids' check and the UPDATE, with their savepoint
    assert few <= 5


# --- bulk-add-tags / bulk-remove-tags


def test_bulk_add_tags_normalises_and_appends_only_what_is_missing(api, a):
    tagged = make_contact(a.tenant, tags=["vip", "moshi"])
    bare = make_contact(a.tenant)
    complete = make_contact(a.tenant, tags=["new", "vip"])
    body = {"contact_ids": ids(tagged, bare, complete), "tags": [" VIP", "new", "new"]}

    data = ok_data(api(a.agent).post(BULK_ADD_TAGS, body, format="json"))

    assert data == {"updated": 2}  # `complete` had them all
    assert tags_of(a.tenant, tagged) == ["vip", "moshi", "new"]
    assert tags_of(a.tenant, bare) == ["vip", "new"]
    assert tags_of(a.tenant, complete) == ["new", "vip"]
    listed = ok_data(api(a.owner).get(CONTACTS, {"tags": "new"}))
    assert listed["count"] == 3


def test_bulk_remove_tags_keeps_the_others_in_order(api, a):
    tagged = make_contact(a.tenant, tags=["a", "vip", "b", "old"])
    untouched = make_contact(a.tenant, tags=["c"])
    body = {"contact_ids": ids(tagged, untouched), "tags": ["VIP", "old"]}

    data = ok_data(api(a.owner).post(BULK_REMOVE_TAGS, body, format="json"))

    assert data == {"updated": 1}
    assert tags_of(a.tenant, tagged) == ["a", "b"]
    assert tags_of(a.tenant, untouched) == ["c"]


def test_bulk_tags_with_another_tenants_id_are_a_404_and_change_nothing(api, a, b):
    mine = make_contact(a.tenant, tags=["vip"])
    theirs = make_contact(b.tenant, tags=["vip"])
    client = api(a.owner)

    for url in (BULK_ADD_TAGS, BULK_REMOVE_TAGS):
        body = {"contact_ids": ids(mine, theirs), "tags": ["vip", "new"]}
        error = assert_error(client.post(url, body, format="json"), 404, "NOT_FOUND")
        assert error["details"] == {"not_found": [str(theirs.pk)]}

    assert tags_of(a.tenant, mine) == ["vip"]
    assert tags_of(b.tenant, theirs) == ["vip"]


def test_bulk_tags_cost_the_same_queries_for_2_or_200_contacts(
    api, a, django_assert_max_num_queries
):
    client = api(a.owner)
    for url in (BULK_ADD_TAGS, BULK_REMOVE_TAGS):
        two = ids(*make_contacts(a.tenant, 2, tags=["old"]))
        few = queries_of(client, url, {"contact_ids": two, "tags": ["old", "new"]})
        many = ids(*make_contacts(a.tenant, 200, tags=["old"]))

        with django_assert_max_num_queries(few):
            body = {"contact_ids": many, "tags": ["old", "new"]}
            data = ok_data(client.post(url, body, format="json"))

        assert data == {"updated": 200}
        assert few <= 7
