"""Credits that expire: a paid package with validity_days opens a lot; once its date passes the
periodic run expires what is left of it with one `expiry` entry, after counting the spending
since the last run against the lots, soonest expiry first. The balance stays its ledger's sum
and never goes below zero; a run twice, or two at once, expire a lot once."""

from datetime import timedelta
from decimal import Decimal

import pytest
from django.db import IntegrityError, transaction
from hypothesis import given
from hypothesis import strategies as st

from billing.expiry import (
    SETTLE_MARGIN,
    credit_lot_open,
    credit_lots_expire,
    credit_next_expiry,
    lots_spend,
)
from billing.integrity import ledger_integrity_check
from billing.models import CreditLedgerEntry, CreditLot, PaymentTransaction, SmsPackage
from billing.payments.services import Buyer, payment_confirm, payment_initiate
from billing.selectors import credit_balance_get
from billing.services import (
    credit_add,
    credit_expire,
    credit_refund,
    credit_reserve,
    credit_reverse,
)
from tests.concurrency import at_once
from tests.conftest import committed

Kind = CreditLedgerEntry.Kind


def balance_of(tenant) -> int:
    return credit_balance_get(tenant_id=tenant.pk).credits


def expiries_of(tenant) -> list[tuple[int, int, str]]:
    entries = CreditLedgerEntry.objects.filter(tenant=tenant, kind=Kind.EXPIRY)
    return sorted((e.credits, e.balance_after, e.reference) for e in entries)


def package(name: str, sms: int, bonus: int, days: int | None) -> SmsPackage:
    return SmsPackage.objects.create(
        name=name, sms_count=sms, bonus_sms=bonus, price=Decimal(sms * 25), validity_days=days
    )


@pytest.fixture
def month(db) -> SmsPackage:
    return package("Month", 100, 10, 30)  # 110 credits for 30 days


@pytest.fixture
def year(db) -> SmsPackage:
    return package("Year", 200, 0, 365)


@pytest.fixture(autouse=True)
def sandbox(settings):
    settings.PAYMENT_PROVIDER = "sandbox"
    settings.SANDBOX_PAYMENT_DELAY_SECONDS = 600  # confirmed by the test, not by the provider


def buy(tenant, bought: SmsPackage) -> CreditLot:
    """Pay for `bought` as a provider's confirmation would; its lot."""
    payment = payment_initiate(
        tenant=tenant,
        payment_method="mobile_money",
        buyer=Buyer(name="Buyer", email="buyer@example.com", phone="+255712345678"),
        package=bought,
    )
    payment_confirm(transaction_id=payment.pk, paid_amount=payment.amount, paid_currency="TZS")
    return CreditLot.objects.select_related("payment").get(payment=payment)


def spend(tenant, credits: int) -> None:
    credit_reserve(tenant_id=tenant.pk, credits=credits, reference="a send")


def test_a_package_never_spent_expires_whole_at_its_date_with_one_entry(a, b, month):
    lot = buy(a.tenant, month)
    assert (lot.credits, lot.remaining) == (110, 110)
    assert timedelta(days=29) < lot.expires_at - lot.created_at <= timedelta(days=30)

    assert credit_lots_expire(now=lot.expires_at - timedelta(minutes=1)) == 0
    assert balance_of(a.tenant) == 110

    assert credit_lots_expire(now=lot.expires_at) == 1

    assert balance_of(a.tenant) == 0
    entry = CreditLedgerEntry.objects.get(tenant=a.tenant, kind=Kind.EXPIRY)
    assert (entry.credits, entry.balance_after) == (-110, 0)
    assert entry.reference == lot.payment.order_id
    assert entry.reason == f"Credits expired (bought {lot.created_at:%Y-%m-%d})"
    assert entry.payment_id == lot.payment_id
    lot.refresh_from_db()
    assert (lot.remaining, lot.expired_at) == (0, lot.expires_at)
    assert ledger_integrity_check() == []
    assert not CreditLedgerEntry.objects.filter(tenant=b.tenant).exists()


def test_a_partly_spent_lot_expires_only_the_rest(a, month):
    lot = buy(a.tenant, month)
    spend(a.tenant, 40)
    credit_refund(tenant_id=a.tenant.pk, credits=10, reference="a send")  # 30 spent in all

    assert credit_lots_expire(now=lot.expires_at) == 1

    assert expiries_of(a.tenant) == [(-80, 0, lot.payment.order_id)]
    assert balance_of(a.tenant) == 0
    assert ledger_integrity_check() == []


def test_spending_takes_from_the_lot_that_expires_first(a, month, year):
    credit_add(tenant_id=a.tenant.pk, credits=1000)  # never expires, so never cut from lots
    late = buy(a.tenant, year)  # bought first, expires last
    soon = buy(a.tenant, month)
    spend(a.tenant, 150)

    assert credit_lots_expire(now=soon.expires_at) == 1

    soon.refresh_from_db()
    late.refresh_from_db()
    assert (soon.remaining, soon.expired_at) == (0, soon.expires_at)  # spent: nothing expires
    assert expiries_of(a.tenant) == []
    assert (late.remaining, late.expired_at) == (160, None)
    assert balance_of(a.tenant) == 1160

    assert credit_lots_expire(now=late.expires_at) == 1

    assert expiries_of(a.tenant) == [(-160, 1000, late.payment.order_id)]
    assert balance_of(a.tenant) == 1000
    assert ledger_integrity_check() == []


def test_credits_bought_without_a_validity_never_expire(a, month):
    credit_add(tenant_id=a.tenant.pk, credits=500, reason="Invoice 42")  # an operator's purchase
    lot = buy(a.tenant, month)
    spend(a.tenant, 50)

    assert credit_lots_expire(now=lot.expires_at) == 1
    assert credit_lots_expire(now=lot.expires_at + timedelta(days=3650)) == 0

    assert expiries_of(a.tenant) == [(-60, 500, lot.payment.order_id)]
    assert balance_of(a.tenant) == 500
    assert credit_next_expiry(tenant_id=a.tenant.pk) is None


def test_a_refunded_payment_takes_from_its_own_lot_not_from_the_others(a, month, year):
    soon, late = buy(a.tenant, month), buy(a.tenant, year)
    with transaction.atomic():  # as billing.refunds does, in the refund's transaction
        credit_reverse(
            tenant_id=a.tenant.pk,
            payment_id=late.payment_id,
            credits=200,
            reason="Refunded",
            created_by=None,
        )

    assert credit_lots_expire(now=soon.expires_at) == 1

    assert expiries_of(a.tenant) == [(-110, 0, soon.payment.order_id)]
    late.refresh_from_db()
    assert (late.remaining, late.expired_at) == (0, None)
    assert ledger_integrity_check() == []


def test_a_package_without_validity_days_opens_no_lot(a):
    forever = package("Forever", 100, 0, None)

    payment = payment_initiate(
        tenant=a.tenant,
        payment_method="mobile_money",
        buyer=Buyer(name="Buyer", email="buyer@example.com", phone="+255712345678"),
        package=forever,
    )
    payment_confirm(transaction_id=payment.pk, paid_amount=payment.amount, paid_currency="TZS")

    assert not CreditLot.objects.filter(tenant=a.tenant).exists()
    assert balance_of(a.tenant) == 100


def test_spending_not_counted_yet_still_keeps_the_balance_from_going_negative(a, month):
    lot = buy(a.tenant, month)
    spend(a.tenant, 100)
    # Stamped inside the run's margin: not counted yet, but already off the balance.
    CreditLedgerEntry.objects.filter(tenant=a.tenant, kind=Kind.RESERVE).update(
        created_at=lot.expires_at - SETTLE_MARGIN / 2
    )

    assert credit_lots_expire(now=lot.expires_at) == 1

    assert expiries_of(a.tenant) == [(-10, 0, lot.payment.order_id)]
    assert balance_of(a.tenant) == 0
    assert ledger_integrity_check() == []


def test_a_spent_lot_is_stamped_without_an_entry_and_the_count_moves_on(a, month):
    lot = buy(a.tenant, month)
    spend(a.tenant, 110)

    assert credit_lots_expire(now=lot.expires_at) == 1

    lot.refresh_from_db()
    assert (lot.remaining, lot.expired_at) == (0, lot.expires_at)
    assert expiries_of(a.tenant) == []
    counted = credit_balance_get(tenant_id=a.tenant.pk).spend_counted_until
    assert counted == lot.expires_at - SETTLE_MARGIN


def test_running_twice_expires_once(a, month):
    lot = buy(a.tenant, month)

    assert credit_lots_expire(now=lot.expires_at) == 1
    assert credit_lots_expire(now=lot.expires_at) == 0
    assert credit_lots_expire(now=lot.expires_at + timedelta(days=1)) == 0

    assert expiries_of(a.tenant) == [(-110, 0, lot.payment.order_id)]
    assert ledger_integrity_check() == []


def test_a_lot_is_opened_once_per_payment(a, month):
    lot = buy(a.tenant, month)

    credit_lot_open(
        payment_id=lot.payment_id,
        tenant_id=a.tenant.pk,
        credits=5,
        expires_at=lot.expires_at + timedelta(days=1),
    )

    assert list(CreditLot.objects.filter(tenant=a.tenant).values_list("credits", "expires_at")) == [
        (110, lot.expires_at)
    ]


def test_the_ledger_refuses_a_second_expiry_of_one_payment(a, month):
    lot = buy(a.tenant, month)
    expire = {"tenant_id": a.tenant.pk, "credits": 1, "reference": "x", "reason": "x"}
    credit_expire(**expire, payment_id=lot.payment_id)

    with pytest.raises(IntegrityError), transaction.atomic():
        credit_expire(**expire, payment_id=lot.payment_id)
    with pytest.raises(ValueError):
        credit_expire(**{**expire, "credits": 200})


def test_the_next_expiry_is_the_soonest_lot_still_holding_credits(a, b, month, year):
    assert credit_next_expiry(tenant_id=a.tenant.pk) is None
    late = buy(a.tenant, year)
    soon = buy(a.tenant, month)

    assert credit_next_expiry(tenant_id=a.tenant.pk) == {
        "credits": 110,
        "expires_at": soon.expires_at,
    }
    spend(a.tenant, 150)  # not counted by a run yet: shown as the run would count it
    assert credit_next_expiry(tenant_id=a.tenant.pk) == {
        "credits": 160,
        "expires_at": late.expires_at,
    }
    assert credit_next_expiry(tenant_id=b.tenant.pk) is None
    spend(a.tenant, 160)
    assert credit_next_expiry(tenant_id=a.tenant.pk) is None


@given(
    remaining=st.lists(st.integers(0, 1000), max_size=6),
    spent=st.integers(-2000, 5000),
    balance=st.integers(0, 7000),
)
def test_lots_spend_takes_soonest_first_and_never_holds_more_than_the_balance(
    remaining, spent, balance
):
    left = lots_spend(remaining, spent=spent, balance=balance)

    assert len(left) == len(remaining)
    assert all(0 <= after <= before for after, before in zip(left, remaining, strict=True))
    assert sum(left) <= balance
    taken = sum(remaining) - sum(left)
    assert taken == min(sum(remaining), max(spent, sum(remaining) - balance, 0))
    # A lot is taken from only once every sooner one is empty.
    for i, (after, before) in enumerate(zip(left, remaining, strict=True)):
        if after < before:
            assert not any(left[:i])


# --- Concurrency


@committed
def test_two_runs_at_once_expire_each_lot_once(committed_tenant):
    tenant = committed_tenant.tenant
    month, year = package("Month", 100, 10, 30), package("Year", 200, 0, 365)
    lots = [buy(tenant, month), buy(tenant, year)]
    spend(tenant, 50)
    now = lots[1].expires_at

    try:
        outcomes = at_once(lambda _: credit_lots_expire(now=now), 2)

        assert sorted(outcomes) == [0, 2]
        assert expiries_of(tenant) == sorted(
            [(-60, 200, lots[0].payment.order_id), (-200, 0, lots[1].payment.order_id)]
        )
        assert balance_of(tenant) == 0
        assert ledger_integrity_check() == []
    finally:
        payments = PaymentTransaction.objects.filter(tenant=tenant)
        CreditLot.objects.filter(tenant=tenant).delete()
        CreditLedgerEntry.objects.filter(tenant=tenant).delete()
        payments.delete()
        SmsPackage.objects.filter(pk__in=[month.pk, year.pk]).delete()


def test_lots_are_rewritten_in_one_statement_however_many(
    a, month, year, django_assert_num_queries
):
    soon = buy(a.tenant, month)
    for days in range(1, 6):  # five more lots, all later than `soon`
        lot = buy(a.tenant, year)
        CreditLot.objects.filter(pk=lot.pk).update(expires_at=soon.expires_at + timedelta(days))
    spend(a.tenant, 400)  # all of `soon` and some of the next two

    # tenants due; savepoint, balance lock, lots, spending, one bulk UPDATE, the count, release
    with django_assert_num_queries(8):
        assert credit_lots_expire(now=soon.expires_at) == 1

    lots = CreditLot.objects.filter(tenant=a.tenant).order_by("expires_at")
    assert list(lots.values_list("remaining", flat=True)) == [0, 0, 110, 200, 200, 200]
