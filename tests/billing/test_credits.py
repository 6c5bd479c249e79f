"""Credits: operators add and adjust them (command, admin), sends reserve them, failures refund
them; the balance never goes negative, even under concurrent reserves."""

import io

import pytest
from django.core.management import CommandError, call_command

from accounts.models import User
from billing.models import CreditBalance, CreditLedgerEntry
from billing.selectors import credit_balance_get
from billing.services import (
    credit_add,
    credit_correct,
    credit_expire,
    credit_refund,
    credit_reserve,
)
from mifumo.errors import ApplicationError
from tests.concurrency import at_once
from tests.conftest import committed
from tests.envelope import ok_data

Kind = CreditLedgerEntry.Kind


def balance_of(tenant) -> int:
    return credit_balance_get(tenant_id=tenant.pk).credits


def entries_of(tenant) -> list[tuple]:
    """The tenant's ledger, oldest first, as (kind, credits, balance_after, reason)."""
    entries = CreditLedgerEntry.objects.filter(tenant=tenant).order_by("created_at", "id")
    return [(e.kind, e.credits, e.balance_after, e.reason) for e in entries]


def add_credits(*args) -> str:
    out = io.StringIO()
    call_command("add_credits", *args, stdout=out)
    return out.getvalue()


# --- manage.py add_credits


def test_an_operators_credits_are_a_correction_with_its_reason(a, b):
    output = add_credits("--tenant", "tenant-a", "--credits", "100", "--reason", "Invoice 42")

    assert "New balance: 100" in output
    assert balance_of(a.tenant) == 100
    assert entries_of(a.tenant) == [(Kind.CORRECTION, 100, 100, "Invoice 42")]
    entry = CreditLedgerEntry.objects.get(tenant=a.tenant)
    assert entry.reference == "add_credits command"
    assert balance_of(b.tenant) == 0
    assert entries_of(b.tenant) == []


def test_a_negative_number_is_a_correction_too(a):
    add_credits("--tenant", "tenant-a", "--credits", "100")

    output = add_credits("--tenant", "TENANT-A", "--credits", "-30", "--reason", "Double entry")

    assert "New balance: 70" in output
    assert entries_of(a.tenant) == [
        (Kind.CORRECTION, 100, 100, "Credits added by an operator."),
        (Kind.CORRECTION, -30, 70, "Double entry"),
    ]
    assert balance_of(a.tenant) == 70


def test_an_adjustment_below_zero_is_refused_and_changes_nothing(a):
    add_credits("--tenant", "tenant-a", "--credits", "10")

    with pytest.raises(CommandError, match="negative balance"):
        add_credits("--tenant", "tenant-a", "--credits", "-11")

    assert balance_of(a.tenant) == 10
    assert len(entries_of(a.tenant)) == 1


def test_an_adjustment_of_a_tenant_without_credits_is_refused(a):
    with pytest.raises(CommandError, match="negative balance"):
        add_credits("--tenant", "tenant-a", "--credits", "-1")

    assert entries_of(a.tenant) == []


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--tenant", "no-such-tenant", "--credits", "5"], "No tenant has the subdomain"),
        (["--tenant", "tenant-a", "--credits", "0"], "must not be 0"),
    ],
)
def test_the_command_refuses_what_it_cannot_do(a, args, message):
    with pytest.raises(CommandError, match=message):
        add_credits(*args)

    assert not CreditLedgerEntry.objects.exists()


# --- Services


def test_a_reserve_beyond_the_balance_is_402_and_changes_nothing(a):
    credit_add(tenant_id=a.tenant.pk, credits=5)

    with pytest.raises(ApplicationError) as caught:
        credit_reserve(tenant_id=a.tenant.pk, credits=6, reference="send-1")

    assert caught.value.code == "INSUFFICIENT_BALANCE"
    assert caught.value.status_code == 402
    assert caught.value.details == {"required_credits": 6, "available_credits": 5}
    assert balance_of(a.tenant) == 5
    assert entries_of(a.tenant) == [(Kind.PURCHASE, 5, 5, "")]


def test_a_reserve_without_any_balance_is_402(a):
    with pytest.raises(ApplicationError) as caught:
        credit_reserve(tenant_id=a.tenant.pk, credits=1, reference="send-1")

    assert caught.value.code == "INSUFFICIENT_BALANCE"
    assert entries_of(a.tenant) == []


def test_reserve_and_refund_write_the_ledger_that_sums_to_the_balance(a, b):
    credit_add(tenant_id=a.tenant.pk, credits=50, reason="Starter")
    credit_add(tenant_id=b.tenant.pk, credits=7)

    assert credit_reserve(tenant_id=a.tenant.pk, credits=20, reference="send-1") == 30
    reserve = CreditLedgerEntry.objects.get(tenant=a.tenant, kind=Kind.RESERVE)
    refund = credit_refund(tenant_id=a.tenant.pk, credits=5, reference="send-1", reason="Failed")
    nothing = credit_refund(tenant_id=a.tenant.pk, credits=0, reference="send-1")

    assert (reserve.kind, reserve.credits, reserve.balance_after) == (Kind.RESERVE, -20, 30)
    assert reserve.reference == "send-1"
    assert (refund.kind, refund.credits, refund.balance_after) == (Kind.REFUND, 5, 35)
    assert nothing is None
    assert balance_of(a.tenant) == 35
    assert sum(e[1] for e in entries_of(a.tenant)) == 35
    assert balance_of(b.tenant) == 7


def test_a_reserve_may_spend_the_whole_balance(a):
    credit_add(tenant_id=a.tenant.pk, credits=3)

    credit_reserve(tenant_id=a.tenant.pk, credits=3, reference="send-1")

    assert balance_of(a.tenant) == 0


def test_a_tenant_that_never_bought_credits_reads_a_zero_balance(a):
    balance = credit_balance_get(tenant_id=a.tenant.pk)

    assert balance.credits == 0
    assert balance._state.adding


# --- Concurrency


@committed
def test_concurrent_reserves_never_spend_the_same_credit_twice(committed_tenant):
    tenant_id = committed_tenant.tenant.pk
    credit_add(tenant_id=tenant_id, credits=20)
    workers = 30

    def reserve_one(n: int) -> bool:
        try:
            credit_reserve(tenant_id=tenant_id, credits=1, reference=f"concurrent-{n}")
        except ApplicationError as exc:
            assert exc.code == "INSUFFICIENT_BALANCE"
            return False
        return True

    outcomes = at_once(reserve_one, workers)

    assert outcomes.count(True) == 20
    assert balance_of(committed_tenant.tenant) == 0
    reserves = CreditLedgerEntry.objects.filter(tenant_id=tenant_id, kind=Kind.RESERVE)
    assert reserves.count() == 20
    assert sorted(reserves.values_list("balance_after", flat=True)) == list(range(20))


# --- Admin


@pytest.fixture
def staff(client, a, b):
    root = User.objects.create_superuser(email="root@example.com", password="Root-Pass-123")
    client.force_login(root)
    client.root = root
    return client


BALANCES = "/admin/billing/creditbalance/"
LEDGER = "/admin/billing/creditledgerentry/"


def test_the_balance_changelist_renders_and_searches(staff, a, b):
    credit_add(tenant_id=a.tenant.pk, credits=12)
    credit_add(tenant_id=b.tenant.pk, credits=34)

    body = staff.get(BALANCES, {"q": "tenant-b"}).content.decode()

    assert "Tenant B" in body
    assert "Tenant A" not in body


def test_the_balance_is_read_only_and_credits_are_added_through_the_ledger(staff, a):
    credit_add(tenant_id=a.tenant.pk, credits=10)
    url = f"{BALANCES}{a.tenant.pk}/change/"

    page = staff.get(url).content.decode()
    response = staff.post(url, {"add_credits": "-4", "reason": "Goodwill undo", "credits": "999"})

    assert 'name="credits"' not in page
    assert 'name="add_credits"' in page
    assert response.status_code == 302
    assert balance_of(a.tenant) == 6
    entry = CreditLedgerEntry.objects.filter(tenant=a.tenant).order_by("-created_at").first()
    assert (entry.kind, entry.credits, entry.balance_after) == (Kind.CORRECTION, -4, 6)
    assert (entry.reason, entry.created_by_id) == ("Goodwill undo", staff.root.id)


def test_the_admin_refuses_an_adjustment_below_zero(staff, a):
    credit_add(tenant_id=a.tenant.pk, credits=3)

    response = staff.post(f"{BALANCES}{a.tenant.pk}/change/", {"add_credits": "-4"})

    assert response.status_code == 200  # the form again, with its error
    assert "cannot go below zero" in response.content.decode()
    assert balance_of(a.tenant) == 3


def test_the_admin_adds_a_first_balance_as_a_correction(staff, a):
    response = staff.post(
        f"{BALANCES}add/", {"tenant": str(a.tenant.pk), "add_credits": "25", "reason": "Paid"}
    )

    assert response.status_code == 302
    assert balance_of(a.tenant) == 25
    assert entries_of(a.tenant) == [(Kind.CORRECTION, 25, 25, "Paid")]


def test_the_admin_add_form_needs_credits(staff, a):
    response = staff.post(f"{BALANCES}add/", {"tenant": str(a.tenant.pk)})

    assert response.status_code == 200
    assert not CreditBalance.objects.filter(tenant=a.tenant).exists()


def test_balances_cannot_be_deleted(staff, a):
    credit_add(tenant_id=a.tenant.pk, credits=1)

    assert staff.get(f"{BALANCES}{a.tenant.pk}/delete/").status_code == 403


def test_the_ledger_is_listed_filtered_and_searched_read_only(staff, a, b):
    credit_add(tenant_id=a.tenant.pk, credits=10, reference="invoice-a")
    credit_reserve(tenant_id=a.tenant.pk, credits=2, reference="send-a")
    credit_add(tenant_id=b.tenant.pk, credits=10, reference="invoice-b")

    everything = staff.get(LEDGER).content.decode()
    reserves = staff.get(LEDGER, {"kind__exact": "reserve"}).content.decode()
    of_b = staff.get(LEDGER, {"q": "tenant-b"}).content.decode()
    by_reference = staff.get(LEDGER, {"q": "send-a"}).content.decode()

    assert "invoice-a" in everything
    assert "invoice-b" in everything
    assert "send-a" in reserves
    assert "invoice-a" not in reserves
    assert "invoice-b" in of_b
    assert "invoice-a" not in of_b
    assert "send-a" in by_reference
    assert "invoice-b" not in by_reference
    entry = CreditLedgerEntry.objects.filter(tenant=a.tenant).first()
    assert staff.get(f"{LEDGER}add/").status_code == 403
    assert staff.get(f"{LEDGER}{entry.pk}/delete/").status_code == 403
    change = staff.get(f"{LEDGER}{entry.pk}/change/")
    assert change.status_code == 200
    assert 'name="credits"' not in change.content.decode()


def test_the_history_lists_corrections_and_expiries_under_their_own_types(api, a, b):
    credit_correct(tenant_id=a.tenant.pk, credits=50, reason="Goodwill", created_by=None)
    credit_expire(tenant_id=a.tenant.pk, credits=20, reference="MF1", reason="Credits expired")
    client = api(a.agent)

    every = ok_data(client.get("/api/billing/history/"))["results"]
    adjustments = ok_data(client.get("/api/billing/history/?type=adjustment"))["results"]
    expiries = ok_data(client.get("/api/billing/history/?type=expiry"))["results"]

    assert [(item["type"], item["credits"]) for item in every] == [
        ("expiry", -20),
        ("adjustment", 50),
    ]
    assert [(item["kind"], item["description"]) for item in adjustments] == [
        ("correction", "Goodwill")
    ]
    assert [item["balance_after"] for item in expiries] == [30]
    assert ok_data(api(b.owner).get("/api/billing/history/"))["count"] == 0
