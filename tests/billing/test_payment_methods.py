"""Saved payment methods: mobile-money numbers stored in E.164 (read in the tenant's country),
one default per tenant (the first saved, moved by is_default or the default route, passed on
when the default is removed), written by owners and admins and read by every member."""

import pytest
from django.db import IntegrityError, transaction

from billing.models import PaymentMethod
from billing.payment_methods import payment_method_add
from tests.concurrency import at_once
from tests.conftest import committed
from tests.envelope import assert_error, assert_field_errors, ok_data

METHODS = "/api/billing/payment-methods/"


def method_url(method_id, action: str = "") -> str:
    return f"{METHODS}{method_id}/" + (f"{action}/" if action else "")


def save(client, phone: str, **extra):
    body = {"network": "vodacom", "phone_number": phone, "label": "Office", **extra}
    return client.post(METHODS, body, format="json")


def defaults(data) -> list[str]:
    return [row["phone_number"] for row in data["results"] if row["is_default"]]


def test_the_first_saved_number_is_the_default_and_is_stored_in_e164(api, a):
    owner = api(a.owner)

    first = ok_data(save(owner, "0712 345 678"), 201)
    second = ok_data(save(owner, "+255 754 000 111", network="tigo"), 201)

    assert first["phone_number"] == "+255712345678"
    assert first["is_default"] is True
    assert first["type"] == "mobile_money"
    assert first["network_name"] == "Vodacom M-Pesa"
    assert second["is_default"] is False
    listed = ok_data(api(a.agent).get(METHODS))
    assert [row["id"] for row in listed["results"]] == [first["id"], second["id"]]


def test_saving_with_is_default_moves_the_default(api, a):
    owner = api(a.owner)
    save(owner, "0712345678")

    moved = ok_data(save(owner, "0754000111", is_default=True), 201)

    assert moved["is_default"] is True
    assert defaults(ok_data(owner.get(METHODS))) == ["+255754000111"]


def test_the_default_route_moves_the_default(api, a):
    owner = api(a.owner)
    save(owner, "0712345678")
    other = ok_data(save(owner, "0754000111"), 201)

    data = ok_data(owner.post(method_url(other["id"], "default")))

    assert data["is_default"] is True
    assert defaults(ok_data(owner.get(METHODS))) == ["+255754000111"]


def test_removing_the_default_passes_it_to_the_oldest_left(api, a):
    owner = api(a.owner)
    first = ok_data(save(owner, "0712345678"), 201)
    save(owner, "0754000111")
    save(owner, "0765000222")

    response = owner.delete(method_url(first["id"]))

    assert ok_data(response) is None
    assert response.json()["message"] == "Payment method removed."
    assert defaults(ok_data(owner.get(METHODS))) == ["+255754000111"]
    assert_error(owner.delete(method_url(first["id"])), 404, "NOT_FOUND")


def test_the_database_holds_one_default_per_tenant(a):
    payment_method_add(tenant=a.tenant, network="airtel", phone_number="0682000333")

    with pytest.raises(IntegrityError), transaction.atomic():
        PaymentMethod.objects.create(
            tenant=a.tenant, network="halotel", phone_number="+255622000444", is_default=True
        )


def test_bad_numbers_networks_and_repeats_are_refused(api, a):
    owner = api(a.owner)
    save(owner, "0712345678")

    assert_error(save(owner, "12"), 400, "INVALID_PHONE_FORMAT")
    assert_field_errors(save(owner, "0754000111", network="mpesa"), "network")
    assert_error(save(owner, "+255712345678"), 409, "CONFLICT")
    assert PaymentMethod.objects.filter(tenant=a.tenant).count() == 1


def test_members_read_but_only_owners_and_admins_write(api, a):
    saved = ok_data(save(api(a.admin), "0712345678"), 201)
    agent = api(a.agent)

    assert_error(save(agent, "0754000111"), 403, "PERMISSION_DENIED")
    assert_error(agent.post(method_url(saved["id"], "default")), 403, "PERMISSION_DENIED")
    assert_error(agent.delete(method_url(saved["id"])), 403, "PERMISSION_DENIED")
    assert ok_data(agent.get(METHODS))["count"] == 1


def test_another_tenants_methods_are_not_seen(api, a, b):
    saved = ok_data(save(api(a.owner), "0712345678"), 201)
    stranger = api(b.owner)

    assert ok_data(stranger.get(METHODS))["count"] == 0
    assert_error(stranger.post(method_url(saved["id"], "default")), 404, "NOT_FOUND")
    assert_error(stranger.delete(method_url(saved["id"])), 404, "NOT_FOUND")
    assert PaymentMethod.objects.filter(pk=saved["id"]).exists()


@committed
def test_concurrent_first_saves_make_exactly_one_default(committed_tenant):
    workers = 6

    def add(index: int) -> bool:
        method = payment_method_add(
            tenant=committed_tenant.tenant,
            network="vodacom",
            phone_number=f"+2557120000{index:02d}",
            is_default=index % 2 == 0,
        )
        return method.is_default

    at_once(add, workers)

    saved = PaymentMethod.objects.filter(tenant=committed_tenant.tenant)
    assert saved.count() == workers
    assert saved.filter(is_default=True).count() == 1
