"""The send slots against a real Redis: a tenant alone takes every one, tenants wanting to send
share them, and a slot whose lease was not renewed is free again."""

import contextlib
import time

import pytest

from sms.throttle import tenant_send_slot

ALONE, OTHER = "tenant_alone", "tenant_other"


@pytest.fixture(autouse=True)
def slots(settings):
    settings.SMS_SEND_CONCURRENCY = 4
    settings.SMS_SLOT_WAIT_SECONDS = 0  # a refused ask answers at once


def take(held: contextlib.ExitStack, schema_name: str) -> bool:
    return held.enter_context(tenant_send_slot(schema_name))


def asks(schema_name: str) -> None:
    """The tenant asks for a slot and is done with it at once: it wants to send."""
    with tenant_send_slot(schema_name) as granted:
        assert granted


def test_a_tenant_alone_takes_every_send_slot():
    with contextlib.ExitStack() as held:
        assert [take(held, ALONE) for _ in range(5)] == [True] * 4 + [False]


def test_with_another_tenant_asking_a_tenant_takes_only_its_share():
    asks(OTHER)
    with contextlib.ExitStack() as held:
        assert [take(held, ALONE) for _ in range(3)] == [True, True, False]


def test_a_tenant_that_stopped_asking_leaves_the_slots_to_the_other(settings):
    settings.SMS_SLOT_DEMAND_SECONDS = 0.2
    asks(OTHER)
    with contextlib.ExitStack() as held:
        assert [take(held, ALONE) for _ in range(3)] == [True, True, False]
        time.sleep(0.25)
        assert [take(held, ALONE) for _ in range(3)] == [True, True, False]


def test_a_tenant_holding_a_slot_still_wants_to_send_after_its_ask(settings):
    settings.SMS_SLOT_DEMAND_SECONDS = 0.2
    with contextlib.ExitStack() as held:
        assert take(held, OTHER)
        time.sleep(0.25)
        assert [take(held, ALONE) for _ in range(3)] == [True, True, False]


def test_a_tenant_over_a_shrunk_share_keeps_its_slots_but_takes_no_more():
    with contextlib.ExitStack() as held:
        assert [take(held, ALONE) for _ in range(4)] == [True] * 4
        assert take(held, OTHER)  # its share, though the first holds every slot
        assert not take(held, ALONE)


def test_a_killed_workers_slot_is_free_again_once_its_lease_lapses(settings):
    settings.SMS_SEND_CONCURRENCY = 1
    settings.SMS_LEASE_SECONDS = 0.2
    settings.SMS_LEASE_RENEW_SECONDS = 60  # the killed worker never renews
    killed = tenant_send_slot(ALONE)
    assert killed.__enter__()  # and never leaves: its worker died mid-batch
    try:
        with contextlib.ExitStack() as held:
            assert not take(held, ALONE)
            time.sleep(0.25)
            assert take(held, ALONE)
    finally:
        killed.__exit__(None, None, None)


def test_a_renewed_slot_outlives_its_lease(settings):
    settings.SMS_SEND_CONCURRENCY = 1
    settings.SMS_LEASE_SECONDS = 0.2
    settings.SMS_LEASE_RENEW_SECONDS = 0.05
    with contextlib.ExitStack() as held:
        assert take(held, ALONE)
        time.sleep(0.5)
        assert not take(held, ALONE)
