"""GET /api/billing/usage/: a calendar month's credits, reserved for sends less refunded, by
day and in all, with their cost, read from billing's own ledger in one query."""

from datetime import date, datetime
from decimal import Decimal

import pytest
from django.utils import timezone

from billing.models import CreditLedgerEntry
from billing.selectors import credit_usage
from billing.services import credit_add, credit_refund, credit_reserve
from tests.envelope import assert_field_errors, ok_data

USAGE = "/api/billing/usage/"


def at(entry: CreditLedgerEntry, day: date) -> None:
    moment = datetime(day.year, day.month, day.day, 12, tzinfo=timezone.get_current_timezone())
    CreditLedgerEntry.objects.filter(pk=entry.pk).update(created_at=moment)


def spend(tenant, credits: int, day: date) -> None:
    credit_reserve(tenant_id=tenant.pk, credits=credits, reference="send")
    at(CreditLedgerEntry.objects.filter(tenant=tenant).order_by("-created_at").first(), day)


@pytest.fixture
def funded(a, settings):
    settings.SMS_CREDIT_PRICE = Decimal("25.00")
    at(credit_add(tenant_id=a.tenant.pk, credits=1000), date(2026, 3, 1))
    return a


def test_a_past_month_lists_every_day_with_reserves_less_refunds(
    api, funded, django_assert_num_queries
):
    tenant = funded.tenant
    spend(tenant, 40, date(2026, 3, 2))
    spend(tenant, 10, date(2026, 3, 2))
    at(credit_refund(tenant_id=tenant.pk, credits=5, reference="send"), date(2026, 3, 2))
    spend(tenant, 7, date(2026, 3, 31))
    spend(tenant, 100, date(2026, 4, 1))  # the next month

    data = ok_data(api(funded.agent).get(USAGE, {"period": "2026-03"}))

    assert (data["period"], data["start"], data["end"]) == ("2026-03", "2026-03-01", "2026-03-31")
    assert data["currency"] == "TZS"
    assert data["totals"] == {
        "credits_reserved": 57,
        "credits_refunded": 5,
        "credits": 52,
        "cost": 1300.0,
    }
    assert len(data["days"]) == 31
    assert data["days"][1] == {"date": "2026-03-02", "credits": 45, "cost": 1125.0}
    assert data["days"][30] == {"date": "2026-03-31", "credits": 7, "cost": 175.0}
    assert sum(day["credits"] for day in data["days"]) == 52


def test_this_month_is_the_default_and_runs_to_today(api, a):
    credit_add(tenant_id=a.tenant.pk, credits=100)
    credit_reserve(tenant_id=a.tenant.pk, credits=3, reference="send")
    today = timezone.localdate()

    data = ok_data(api(a.agent).get(USAGE))

    assert data["period"] == f"{today:%Y-%m}"
    assert len(data["days"]) == today.day
    assert data["days"][-1]["date"] == today.isoformat()
    assert data["days"][-1]["credits"] == 3
    assert data["totals"]["credits"] == 3


def test_the_ledger_is_read_in_one_query(funded, django_assert_max_num_queries):
    spend(funded.tenant, 4, date(2026, 3, 5))
    with django_assert_max_num_queries(1):
        usage = credit_usage(tenant_id=funded.tenant.pk, period="2026-03")

    assert usage["totals"]["credits"] == 4


def test_another_tenants_usage_is_not_counted_and_bad_periods_are_refused(api, funded, b):
    spend(funded.tenant, 9, date(2026, 3, 5))

    assert ok_data(api(b.owner).get(USAGE, {"period": "2026-03"}))["totals"]["credits"] == 0
    assert_field_errors(api(b.owner).get(USAGE, {"period": "2026-13"}), "period")
    assert_field_errors(api(b.owner).get(USAGE, {"period": "March"}), "period")
    assert_field_errors(api(b.owner).get(USAGE, {"period": "0000-01"}), "period")
    assert_field_errors(api(b.owner).get(USAGE, {"period": "9999-12"}), "period")
