"""The daily ledger check: a balanced ledger is quiet; a balance changed behind the service's
back is found with its numbers, logged and mailed to operators, in a constant number of
queries."""

import logging

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from billing.integrity import LedgerDrift, ledger_drifts_find, ledger_integrity_check
from billing.models import CreditBalance, CreditLedgerEntry
from billing.services import credit_add, credit_reserve
from billing.tasks import ledger_integrity_check_task
from tests.factories import UserFactory, tenant_with_owner


@pytest.fixture
def operator(db):
    return UserFactory(email="ops@example.com", is_superuser=True, is_staff=True)


def spend_and_buy(tenant) -> None:
    credit_add(tenant_id=tenant.pk, credits=500, reason="bought")
    credit_reserve(tenant_id=tenant.pk, credits=120, reference="send-1")
    credit_add(tenant_id=tenant.pk, credits=-30, kind=CreditLedgerEntry.Kind.ADJUSTMENT)


def test_a_ledger_kept_by_the_service_has_no_drift(a, b, operator, on_commit, mailoutbox):
    spend_and_buy(a.tenant)
    credit_add(tenant_id=b.tenant.pk, credits=10)

    with on_commit():
        assert ledger_integrity_check() == []

    assert mailoutbox == []


def test_a_balance_updated_behind_the_service_is_found_and_reported(
    a, b, operator, on_commit, mailoutbox, caplog
):
    spend_and_buy(a.tenant)  # ledger sum 350
    credit_add(tenant_id=b.tenant.pk, credits=10)
    CreditBalance.objects.filter(tenant=a.tenant).update(credits=1350)

    with on_commit(), caplog.at_level(logging.ERROR, logger="billing.integrity"):
        drifts = ledger_integrity_check()

    assert drifts == [
        LedgerDrift(
            tenant_id=a.tenant.pk, schema_name=a.tenant.schema_name, balance=1350, ledger_sum=350
        )
    ]
    assert drifts[0].difference == 1000
    assert "ledger sum 350, difference +1000" in caplog.text
    [mail] = mailoutbox
    assert mail.to == ["ops@example.com"]
    assert "1 tenant(s)" in mail.subject
    assert "balance 1350, ledger sum 350, difference +1000" in mail.body


def test_entries_without_a_balance_row_and_a_row_without_entries_are_drifts(a, b):
    credit_add(tenant_id=a.tenant.pk, credits=40)
    CreditBalance.objects.filter(tenant=a.tenant).delete()
    CreditBalance.objects.create(tenant=b.tenant, credits=7)

    drifts = {drift.tenant_id: drift for drift in ledger_drifts_find()}

    assert drifts[a.tenant.pk].balance is None
    assert drifts[a.tenant.pk].ledger_sum == 40
    assert drifts[a.tenant.pk].difference == -40
    assert drifts[b.tenant.pk].balance == 7
    assert drifts[b.tenant.pk].ledger_sum == 0


def test_a_zero_balance_row_without_entries_is_no_drift(a):
    CreditBalance.objects.create(tenant=a.tenant, credits=0)

    assert ledger_drifts_find() == []


def test_the_query_count_does_not_grow_with_the_tenants(a, b, operator, on_commit):
    def queries_of_a_check() -> int:
        with on_commit(), CaptureQueriesContext(connection) as queries:
            ledger_integrity_check()
        return len(queries)

    for tenant in (a.tenant, b.tenant):
        credit_add(tenant_id=tenant.pk, credits=5)
        CreditBalance.objects.filter(tenant=tenant).update(credits=6)
    two_tenants = queries_of_a_check()

    for n in range(4):
        tenant, _ = tenant_with_owner(
            owner=UserFactory(), name=f"Extra {n}", subdomain=f"extra-drift-{n}"
        )
        credit_add(tenant_id=tenant.pk, credits=5)
        CreditBalance.objects.filter(tenant=tenant).update(credits=9)

    assert len(ledger_drifts_find()) == 6
    assert queries_of_a_check() == two_tenants


def test_the_daily_task_runs_the_check(a, operator, on_commit, mailoutbox):
    credit_add(tenant_id=a.tenant.pk, credits=5)
    CreditBalance.objects.filter(tenant=a.tenant).update(credits=4)

    with on_commit():
        assert ledger_integrity_check_task.delay().get() == 1

    assert len(mailoutbox) == 1
