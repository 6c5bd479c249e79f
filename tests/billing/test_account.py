"""GET /api/billing/usage/limits/ and /api/billing/overview/: the plan's allowances against
what is used (messages in the subscription's period, read from the ledger; members plus pending
invitations), and the billing page in one read. Members may read them; other tenants' data
never shows; each read costs a fixed number of queries."""

import uuid
from datetime import timedelta
from decimal import Decimal

import pytest
from django.utils import timezone

from billing.account_selectors import billing_overview, usage_history, usage_limits
from billing.invoices import invoice_create_for
from billing.models import CreditLedgerEntry, PaymentTransaction, Plan, Subscription
from billing.payment_methods import payment_method_add
from billing.services import credit_add, credit_refund, credit_reserve
from billing.views.account import OverviewSerializer
from tenants.models import Invitation
from tests.envelope import assert_error, ok_data

LIMITS = "/api/billing/usage/limits/"
OVERVIEW = "/api/billing/overview/"
Status = Subscription.Status


@pytest.fixture
def business_plan(db) -> Plan:
    return Plan.objects.create(
        code="business",
        name="Business",
        description="For growing teams",
        price_monthly=Decimal("50000"),
        price_yearly=Decimal("500000"),
        features=["1,000 SMS a month", "5 users"],
        messages_per_month=1000,
        users=5,
    )


def subscribe(tenant, plan, **fields) -> Subscription:
    """A subscription row as the payment flow leaves it: active, ten days into its period."""
    now = timezone.now()
    values = {
        "status": Status.ACTIVE,
        "billing_cycle": Plan.Cycle.MONTHLY,
        "provider": PaymentTransaction.Provider.ZENOPAY,
        "payment_method": PaymentTransaction.Method.MOBILE_MONEY,
        "current_period_start": now - timedelta(days=10),
        "current_period_end": now + timedelta(days=20),
        **fields,
    }
    return Subscription.objects.create(tenant=tenant, plan=plan, **values)


def spend(tenant, credits: int, *, at=None) -> None:
    """A send's reserve, stamped `at` when given (a reserve is stamped with its transaction's
    start, which in a test is the test's)."""
    reference = f"send-{uuid.uuid4().hex}"
    credit_reserve(tenant_id=tenant.pk, credits=credits, reference=reference)
    if at is not None:
        CreditLedgerEntry.objects.filter(reference=reference).update(created_at=at)


def invite(tenant, email: str, *, expires_in=timedelta(days=7)) -> Invitation:
    return Invitation.objects.create(
        tenant=tenant,
        email=email,
        token_hash=uuid.uuid4().hex,
        expires_at=timezone.now() + expires_in,
    )


@pytest.fixture
def subscribed(a, business_plan):
    """Tenant A on Business since ten days ago, with 500 credits of which 45 spent in the
    period (40 + 10 reserved, 5 refunded) and 100 spent before it; one pending invitation and
    one expired."""
    subscription = subscribe(a.tenant, business_plan)
    credit_add(tenant_id=a.tenant.pk, credits=500)
    spend(a.tenant, 100, at=subscription.current_period_start - timedelta(days=1))
    spend(a.tenant, 40)
    spend(a.tenant, 10)
    credit_refund(tenant_id=a.tenant.pk, credits=5, reference="send")
    invite(a.tenant, "pending@example.com")
    invite(a.tenant, "expired@example.com", expires_in=timedelta(minutes=-1))
    a.subscription = subscription
    a.plan = business_plan
    return a


# --- usage/limits/


def test_limits_are_the_plans_allowances_against_what_the_period_used(api, subscribed):
    data = ok_data(api(subscribed.owner).get(LIMITS))

    plan, subscription = subscribed.plan, subscribed.subscription
    assert data["plan"] == {"id": str(plan.pk), "code": "business", "name": "Business"}
    assert data["period"] == {
        "start": subscription.current_period_start.isoformat().replace("+00:00", "Z"),
        "end": subscription.current_period_end.isoformat().replace("+00:00", "Z"),
    }
    assert data["messages"] == {"limit": 1000, "used": 45, "remaining": 955, "percent": 4.5}
    # Owner, admin and agent, and the invitation that has not expired.
    assert data["users"] == {"limit": 5, "used": 4, "remaining": 1}


def test_a_member_may_read_them_and_another_tenants_usage_never_counts(api, subscribed, b):
    ok_data(api(subscribed.agent).get(LIMITS))
    credit_add(tenant_id=b.tenant.pk, credits=50)
    spend(b.tenant, 7)

    of_b = ok_data(api(b.agent).get(LIMITS))
    of_a = ok_data(api(subscribed.agent).get(LIMITS))

    assert of_b["plan"] is None  # no subscription and no default plan
    assert of_b["messages"] == {"limit": None, "used": 7, "remaining": None, "percent": None}
    assert of_b["users"] == {"limit": None, "used": 3, "remaining": None}
    assert of_a["messages"]["used"] == 45
    assert of_a["users"]["used"] == 4


def test_without_a_subscription_the_default_plan_holds_over_the_calendar_month(api, a):
    Plan.objects.create(
        code="free",
        name="Free",
        price_monthly=0,
        price_yearly=0,
        messages_per_month=100,
        users=None,
        is_default=True,
    )
    a.tenant.user_limit = 3
    a.tenant.save(update_fields=["user_limit"])
    credit_add(tenant_id=a.tenant.pk, credits=500)
    spend(a.tenant, 150)
    month_start = timezone.localtime().replace(day=1, hour=0, minute=0, second=0, microsecond=0)
    spend(a.tenant, 30, at=month_start - timedelta(seconds=1))  # last month

    data = ok_data(api(a.owner).get(LIMITS))

    assert data["plan"]["code"] == "free"
    assert data["period"]["start"] == month_start.isoformat().replace("+00:00", "Z")
    # Beyond the plan: bought credits were spent too; nothing is left of the allowance.
    assert data["messages"] == {"limit": 100, "used": 150, "remaining": 0, "percent": 150.0}
    # The plan sets no user limit: the tenant's own holds.
    assert data["users"] == {"limit": 3, "used": 3, "remaining": 0}


def test_a_yearly_period_allows_twelve_months_of_messages(api, a, business_plan):
    now = timezone.now()
    subscribe(
        a.tenant,
        business_plan,
        billing_cycle=Plan.Cycle.YEARLY,
        current_period_start=now - timedelta(days=40),
        current_period_end=now + timedelta(days=325),
    )

    data = ok_data(api(a.owner).get(LIMITS))

    assert data["messages"]["limit"] == 12_000


def test_an_incomplete_subscription_has_not_started(api, a, business_plan):
    subscribe(a.tenant, business_plan, status=Status.INCOMPLETE)

    data = ok_data(api(a.owner).get(LIMITS))

    assert data["plan"] is None
    assert data["messages"]["limit"] is None


def test_limits_cost_a_fixed_number_of_queries(subscribed, django_assert_max_num_queries):
    # The subscription (twice: it and the plan that holds), the ledger's one sum, the members
    # and the invitations.
    with django_assert_max_num_queries(5):
        limits = usage_limits(tenant=subscribed.tenant)

    assert limits["messages"]["used"] == 45


def test_signed_out_callers_are_refused(api, subscribed):
    assert_error(api().get(LIMITS), 401, "AUTHENTICATION_REQUIRED")
    assert_error(api().get(OVERVIEW), 401, "AUTHENTICATION_REQUIRED")


# --- overview/


def paid_invoice(tenant, n: int):
    """A completed order of `n` credits and its invoice, as payment_confirm leaves them."""
    payment = PaymentTransaction.objects.create(
        tenant=tenant,
        order_id=f"MF-TEST-{uuid.uuid4().hex[:12]}",
        credits=n,
        amount=Decimal(n * 25),
        currency="TZS",
        provider=PaymentTransaction.Provider.SANDBOX,
        payment_method=PaymentTransaction.Method.MOBILE_MONEY,
        status=PaymentTransaction.Status.COMPLETED,
        paid_amount=Decimal(n * 25),
        paid_currency="TZS",
        expires_at=timezone.now() + timedelta(hours=1),
        completed_at=timezone.now(),
    )
    return invoice_create_for(payment_id=payment.pk)


def test_the_overview_reads_the_whole_account(api, subscribed, b, settings):
    settings.SMS_CREDIT_PRICE = Decimal("25.00")
    tenant = subscribed.tenant
    invoices = [paid_invoice(tenant, 100 + n) for n in range(6)]
    paid_invoice(b.tenant, 999)
    payment_method_add(tenant=tenant, network="vodacom", phone_number="0712345678")
    payment_method_add(tenant=b.tenant, network="tigo", phone_number="0655000111")

    data = ok_data(api(subscribed.agent).get(OVERVIEW))

    plan = data["current_plan"]
    assert (plan["code"], plan["price"], plan["currency"]) == ("business", 50000.0, "TZS")
    assert plan["billing_cycle"] == "monthly"
    assert plan["limits"] == {"messages_per_month": 1000, "users": 5}
    assert plan["features"] == ["1,000 SMS a month", "5 users"]
    subscription = data["subscription"]
    assert subscription["id"] == str(subscribed.subscription.pk)
    assert (subscription["status"], subscription["billing_cycle"]) == ("active", "monthly")
    assert subscription["cancel_at_period_end"] is False
    usage = data["current_usage"]
    assert usage["messages"] == {"limit": 1000, "used": 45, "remaining": 955, "percent": 4.5}
    assert usage["users"] == {"limit": 5, "used": 4, "remaining": 1}
    assert usage["credits"] == 500 - 100 - 40 - 10 + 5
    assert data["upcoming_invoice"] == {
        "amount": 50000.0,
        "currency": "TZS",
        "due_date": subscription["current_period_end"],
    }
    assert [m["phone_number"] for m in data["payment_methods"]] == ["+255712345678"]
    assert [i["number"] for i in data["recent_invoices"]] == [
        invoice.number for invoice in reversed(invoices[1:])
    ]
    history = data["usage_history"]
    assert len(history) == 6
    assert history[-1]["period"] == f"{timezone.localdate():%Y-%m}"
    assert sum(month["credits"] for month in history) == 145
    assert sum(month["cost"] for month in history) == 145 * 25


def test_an_overview_without_a_plan_or_subscription(api, b):
    data = ok_data(api(b.owner).get(OVERVIEW))

    assert data["current_plan"] is None
    assert data["subscription"] is None
    assert data["upcoming_invoice"] is None
    assert data["payment_methods"] == []
    assert data["recent_invoices"] == []
    assert [month["credits"] for month in data["usage_history"]] == [0] * 6
    assert data["current_usage"]["credits"] == 0


@pytest.mark.parametrize(
    ("fields", "upcoming"),
    [
        ({"cancel_at_period_end": True}, False),
        ({"status": Status.PAST_DUE}, True),
        ({"status": Status.INCOMPLETE}, False),
        ({"billing_cycle": Plan.Cycle.YEARLY}, True),
    ],
)
def test_the_upcoming_invoice_is_the_next_period_of_a_running_subscription(
    a, business_plan, fields, upcoming
):
    subscription = subscribe(a.tenant, business_plan, **fields)

    invoice = billing_overview(tenant=a.tenant)["upcoming_invoice"]

    if not upcoming:
        assert invoice is None
    else:
        assert invoice == {
            "amount": business_plan.price_for(subscription.billing_cycle),
            "currency": "TZS",
            "due_date": subscription.current_period_end,
        }


def test_a_trial_is_due_at_its_end(a, business_plan):
    trial_end = timezone.now() + timedelta(days=14)
    subscribe(
        a.tenant,
        business_plan,
        status=Status.TRIALING,
        current_period_start=None,
        current_period_end=None,
        trial_end=trial_end,
    )

    invoice = billing_overview(tenant=a.tenant)["upcoming_invoice"]

    assert invoice["due_date"] == trial_end


def test_usage_history_groups_six_months_in_one_query(a, django_assert_num_queries):
    credit_add(tenant_id=a.tenant.pk, credits=1000)
    today = timezone.localtime()
    this_month = today.replace(day=15, hour=12)
    last_month = (this_month.replace(day=1) - timedelta(days=1)).replace(day=15)
    long_ago = this_month - timedelta(days=400)
    spend(a.tenant, 3, at=this_month)
    spend(a.tenant, 4, at=this_month)
    spend(a.tenant, 9, at=last_month)
    spend(a.tenant, 50, at=long_ago)

    with django_assert_num_queries(1):
        history = usage_history(tenant_id=a.tenant.pk)

    assert [month["period"] for month in history][-2:] == [
        f"{last_month:%Y-%m}",
        f"{this_month:%Y-%m}",
    ]
    assert [month["credits"] for month in history] == [0, 0, 0, 0, 9, 7]


def test_the_overview_costs_a_fixed_number_of_queries(subscribed, django_assert_max_num_queries):
    for n in range(3):
        paid_invoice(subscribed.tenant, 10 + n)
    payment_method_add(tenant=subscribed.tenant, network="vodacom", phone_number="0712345678")

    # The limits' five, the balance, the payment methods, the invoices and the history.
    with django_assert_max_num_queries(9):
        data = OverviewSerializer(billing_overview(tenant=subscribed.tenant)).data

    assert len(data["recent_invoices"]) == 3


def test_the_routes_cost_a_fixed_number_of_queries(api, subscribed, django_assert_max_num_queries):
    client = api(subscribed.agent)
    # Each request's user, tenant and membership, then the selectors' own.
    with django_assert_max_num_queries(3 + 5):
        ok_data(client.get(LIMITS))
    with django_assert_max_num_queries(3 + 9):
        ok_data(client.get(OVERVIEW))
