"""Plans and subscriptions: a plan's period is bought like credits (mobile money through the
sandbox here), the subscription moves through Stripe's statuses as periods are paid, renewed,
canceled or left unpaid, and the plan that holds sets the tenant's user limit."""

import logging
from datetime import timedelta
from decimal import Decimal

import pytest
from django.utils import timezone

from billing.models import CreditLedgerEntry, CreditLot, Invoice, PaymentTransaction, Plan
from billing.models import Subscription as SubscriptionModel
from billing.payments.services import payment_confirm, subscription_invoice_paid
from billing.plans import months_after, plan_save, plans_seed
from billing.selectors import credit_balance_get
from billing.subscriptions import (
    subscription_open,
    subscription_stripe_sync,
    subscriptions_advance,
)
from tenants.models import Tenant
from tests.concurrency import at_once
from tests.conftest import committed
from tests.envelope import assert_error, assert_field_errors, ok_data

Status = SubscriptionModel.Status
PLANS = "/api/billing/plans/"
SUBSCRIPTION = "/api/billing/subscription/"
CREATE = "/api/billing/subscription/create/"
CANCEL = "/api/billing/subscription/cancel/"
PHONE = "+255712345678"


@pytest.fixture
def plans(db) -> dict[str, Plan]:
    plans_seed()
    return {plan.code: plan for plan in Plan.objects.all()}


@pytest.fixture
def instant_sandbox(settings):
    settings.PAYMENT_PROVIDER = "sandbox"
    settings.SANDBOX_PAYMENT_DELAY_SECONDS = 0


def subscribe(api, user, plan, on_commit, *, cycle="monthly", phone=PHONE, status=201, **extra):
    with on_commit():
        response = api(user).post(
            CREATE,
            {
                "plan_id": str(plan.pk),
                "billing_cycle": cycle,
                "payment_method": "mobile_money",
                "phone_number": phone,
                **extra,
            },
            format="json",
        )
    return ok_data(response, status)


def live_of(tenant) -> SubscriptionModel | None:
    return SubscriptionModel.objects.exclude(status=Status.CANCELED).filter(tenant=tenant).first()


def user_limit_of(tenant) -> int | None:
    return Tenant.objects.values_list("user_limit", flat=True).get(pk=tenant.pk)


def balance_of(tenant) -> int:
    return credit_balance_get(tenant_id=tenant.pk).credits


def close_to(moment, expected, seconds: float = 5) -> bool:
    return abs((moment - expected).total_seconds()) < seconds


# --- The catalogue


def test_members_read_the_seeded_plans(api, a, plans):
    data = ok_data(api(a.agent).get(PLANS))

    assert [plan["name"] for plan in data] == ["Free", "Starter", "Business", "Enterprise"]
    starter = data[1]
    assert starter["price"] == 25000
    assert starter["currency"] == "TZS"
    assert starter["billing_cycle"] == "monthly"
    assert starter["prices"] == {"monthly": 25000, "yearly": 250000}
    assert starter["limits"] == {"messages_per_month": 1000, "users": 3}
    assert starter["features"][0] == "1,000 SMS a month included"
    assert starter["is_default"] is False
    assert data[0]["is_default"] is True
    assert data[3]["limits"]["users"] is None
    assert plans_seed() == 0  # seeding twice makes nothing


def test_a_retired_plan_is_not_listed(api, a, plans):
    plans["enterprise"].is_active = False
    plan_save(plan=plans["enterprise"])

    names = [plan["name"] for plan in ok_data(api(a.owner).get(PLANS))]

    assert "Enterprise" not in names


def test_the_default_plan_sets_the_user_limit_of_tenants_without_a_subscription(a, b, plans):
    assert user_limit_of(a.tenant) == 2
    assert user_limit_of(b.tenant) == 2

    plans["free"].users = 4
    plan_save(plan=plans["free"])

    assert user_limit_of(a.tenant) == 4


# --- Buying a period by mobile money


def test_a_plan_paid_by_mobile_money_becomes_active_with_its_period_credits_and_lot(
    api, a, b, plans, instant_sandbox, on_commit
):
    data = subscribe(api, a.owner, plans["starter"], on_commit)

    # As answered, before the sandbox confirmed the order.
    assert data["subscription"]["status"] == "incomplete"
    assert data["subscription"]["plan"]["name"] == "Starter"
    assert data["payment"]["status"] == "pending"
    assert data["payment"]["amount"] == 25000
    assert data["payment"]["credits"] == 1000
    assert data["payment_url"] == data["payment"]["payment_url"]
    payment = PaymentTransaction.objects.get(pk=data["payment"]["id"])
    assert payment.status == PaymentTransaction.Status.COMPLETED
    subscription = SubscriptionModel.objects.get(pk=data["subscription"]["id"])
    assert subscription.status == Status.ACTIVE
    assert subscription.provider == "sandbox"
    assert subscription.payment_method == "mobile_money"
    assert subscription.current_period_start == payment.period_start
    assert subscription.current_period_end == payment.period_end
    assert payment.period_end == months_after(payment.period_start, 1)
    assert close_to(payment.period_start, timezone.now(), 60)
    assert balance_of(a.tenant) == 1000
    lot = CreditLot.objects.get(payment=payment)
    assert (lot.credits, lot.expires_at) == (1000, subscription.current_period_end)
    [line] = Invoice.objects.get(payment=payment).lines
    start, end = (timezone.localtime(d).date() for d in (payment.period_start, payment.period_end))
    assert line["description"] == f"Plan Starter, monthly, {start:%Y-%m-%d} to {end:%Y-%m-%d}"
    assert line["amount"] == "25000.00"
    assert user_limit_of(a.tenant) == 3

    shown = ok_data(api(a.agent).get(SUBSCRIPTION))
    assert shown["subscription"]["status"] == "active"
    assert shown["plan"]["name"] == "Starter"
    # The other tenant sees nothing of it.
    other = ok_data(api(b.owner).get(SUBSCRIPTION))
    assert other == {"subscription": None, "plan": other["plan"]}
    assert other["plan"]["name"] == "Free"
    assert balance_of(b.tenant) == 0
    assert user_limit_of(b.tenant) == 2


def test_a_yearly_period_is_twelve_months_of_messages_at_the_yearly_price(
    api, a, plans, instant_sandbox, on_commit
):
    data = subscribe(api, a.owner, plans["business"], on_commit, cycle="yearly")

    assert data["payment"]["amount"] == 900000
    assert data["payment"]["credits"] == 60000
    subscription = live_of(a.tenant)
    assert subscription.billing_cycle == "yearly"
    assert subscription.current_period_end == months_after(subscription.current_period_start, 12)
    assert user_limit_of(a.tenant) == 10


def test_a_period_that_includes_no_messages_grants_none_but_starts_the_plan(
    api, a, plans, instant_sandbox, on_commit
):
    plan = plan_save(
        plan=Plan(
            code="seats",
            name="Seats",
            price_monthly=Decimal("10000"),
            price_yearly=Decimal("100000"),
            users=20,
        )
    )

    data = subscribe(api, a.owner, plan, on_commit)

    payment = PaymentTransaction.objects.get(pk=data["payment"]["id"])
    assert (payment.status, payment.credits) == (PaymentTransaction.Status.COMPLETED, 0)
    assert balance_of(a.tenant) == 0
    assert not CreditLot.objects.filter(payment=payment).exists()
    assert Invoice.objects.filter(payment=payment).exists()
    assert live_of(a.tenant).status == Status.ACTIVE
    assert user_limit_of(a.tenant) == 20


def test_a_coupon_discounts_the_period(api, a, plans, instant_sandbox, on_commit):
    from billing.coupons import coupon_save
    from billing.models import Coupon

    coupon_save(coupon=Coupon(code="HALF", discount_type="percent", value=Decimal("50")))

    data = subscribe(api, a.owner, plans["starter"], on_commit, coupon_code="half")

    assert data["payment"]["amount"] == 12500
    assert data["payment"]["discount"] == 12500
    assert data["payment"]["credits"] == 1000
    assert live_of(a.tenant).status == Status.ACTIVE


def test_a_renewal_pays_the_next_period_from_the_old_end(api, a, plans, instant_sandbox, on_commit):
    subscribe(api, a.owner, plans["starter"], on_commit)
    first = live_of(a.tenant)
    old_start, old_end = first.current_period_start, first.current_period_end

    data = subscribe(api, a.admin, plans["starter"], on_commit)

    assert data["subscription"]["id"] == str(first.pk)
    renewal = PaymentTransaction.objects.get(pk=data["payment"]["id"])
    assert renewal.period_start == old_end
    assert renewal.status == PaymentTransaction.Status.COMPLETED
    first.refresh_from_db()
    assert first.status == Status.ACTIVE
    assert first.current_period_start == old_start  # the paid period still runs
    assert first.current_period_end == months_after(old_end, 1)
    assert balance_of(a.tenant) == 2000
    assert SubscriptionModel.objects.filter(tenant=a.tenant).count() == 1


def test_two_orders_for_the_same_period_buy_two_periods(api, a, plans, settings, on_commit):
    settings.PAYMENT_PROVIDER = "sandbox"
    settings.SANDBOX_PAYMENT_DELAY_SECONDS = 600  # the orders stay pending until confirmed here
    first = subscribe(api, a.owner, plans["starter"], on_commit)["payment"]
    payment_confirm(transaction_id=first["id"], paid_amount=Decimal("25000"), paid_currency="TZS")
    one = subscribe(api, a.owner, plans["starter"], on_commit)["payment"]
    two = subscribe(api, a.owner, plans["starter"], on_commit)["payment"]
    subscription = live_of(a.tenant)
    end = subscription.current_period_end

    for order in (one, two):
        payment_confirm(
            transaction_id=order["id"], paid_amount=Decimal("25000"), paid_currency="TZS"
        )

    subscription.refresh_from_db()
    assert subscription.current_period_end == months_after(months_after(end, 1), 1)
    lots = CreditLot.objects.filter(tenant=a.tenant).order_by("expires_at")
    assert [lot.expires_at for lot in lots] == [
        end,
        months_after(end, 1),
        months_after(months_after(end, 1), 1),
    ]


def test_another_plan_while_one_is_live_is_a_conflict(api, a, plans, instant_sandbox, on_commit):
    subscribe(api, a.owner, plans["starter"], on_commit)

    with on_commit():
        response = api(a.owner).post(
            CREATE,
            {"plan_id": str(plans["business"].pk), "phone_number": PHONE},
            format="json",
        )
        yearly = api(a.owner).post(
            CREATE,
            {"plan_id": str(plans["starter"].pk), "billing_cycle": "yearly", "phone_number": PHONE},
            format="json",
        )

    body = assert_error(response, 409, "CONFLICT")
    assert "Cancel" in body["message"]
    assert body["details"]["plan"] == "Starter"
    assert_error(yearly, 409, "CONFLICT")
    assert live_of(a.tenant).plan == plans["starter"]


def test_an_unpaid_start_is_replaced_by_the_next_one(api, a, plans, instant_sandbox, on_commit):
    failed = subscribe(api, a.owner, plans["starter"], on_commit, phone="+255712349999")
    assert PaymentTransaction.objects.get(pk=failed["payment"]["id"]).status == "failed"
    assert live_of(a.tenant).status == Status.INCOMPLETE
    assert user_limit_of(a.tenant) == 2  # an incomplete subscription holds no plan

    again = subscribe(api, a.owner, plans["business"], on_commit)

    assert SubscriptionModel.objects.get(pk=failed["subscription"]["id"]).status == "canceled"
    assert again["subscription"]["id"] != failed["subscription"]["id"]
    assert live_of(a.tenant).status == Status.ACTIVE


def test_a_period_paid_for_a_canceled_subscription_leaves_it_canceled(
    api, a, plans, settings, on_commit, caplog
):
    settings.PAYMENT_PROVIDER = "sandbox"
    settings.SANDBOX_PAYMENT_DELAY_SECONDS = 600
    old = subscribe(api, a.owner, plans["starter"], on_commit)
    subscribe(api, a.owner, plans["business"], on_commit)  # the old one is canceled

    with caplog.at_level(logging.WARNING, logger="billing.subscriptions"):
        payment_confirm(
            transaction_id=old["payment"]["id"], paid_amount=Decimal("25000"), paid_currency="TZS"
        )

    assert SubscriptionModel.objects.get(pk=old["subscription"]["id"]).status == "canceled"
    assert "refund it" in caplog.text
    assert balance_of(a.tenant) == 1000  # kept: an operator refunds
    assert live_of(a.tenant).status == Status.INCOMPLETE


# --- The free plan, cards, permissions


def test_the_free_plan_needs_nothing_but_not_while_a_paid_one_is_live(
    api, a, plans, instant_sandbox, on_commit
):
    free = ok_data(
        api(a.owner).post(CREATE, {"plan_id": str(plans["free"].pk)}, format="json"), 200
    )
    assert free == {"subscription": None, "payment": None, "payment_url": ""}
    assert not SubscriptionModel.objects.filter(tenant=a.tenant).exists()

    subscribe(api, a.owner, plans["starter"], on_commit)
    refused = api(a.owner).post(CREATE, {"plan_id": str(plans["free"].pk)}, format="json")

    assert_error(refused, 409, "CONFLICT")


def test_cards_are_refused_when_no_provider_takes_them(api, a, plans, settings):
    settings.STRIPE_SECRET_KEY = ""
    settings.PAYMENT_PROVIDER = "zenopay"

    response = api(a.owner).post(
        CREATE,
        {"plan_id": str(plans["starter"].pk), "payment_method": "card"},
        format="json",
    )

    assert_field_errors(response, "payment_method")
    assert not SubscriptionModel.objects.filter(tenant=a.tenant).exists()


def test_members_read_but_only_owners_and_admins_subscribe_or_cancel(api, a, plans):
    create = api(a.agent).post(CREATE, {"plan_id": str(plans["starter"].pk)}, format="json")
    cancel = api(a.agent).post(CANCEL)

    assert_error(create, 403, "PERMISSION_DENIED")
    assert_error(cancel, 403, "PERMISSION_DENIED")
    assert ok_data(api(a.agent).get(SUBSCRIPTION))["subscription"] is None


def test_an_unknown_or_retired_plan_is_not_found(api, a, plans):
    plans["business"].is_active = False
    plan_save(plan=plans["business"])

    retired = api(a.owner).post(CREATE, {"plan_id": str(plans["business"].pk)}, format="json")
    unknown = api(a.owner).post(
        CREATE, {"plan_id": "00000000-0000-0000-0000-000000000000"}, format="json"
    )

    assert_error(retired, 404, "NOT_FOUND")
    assert_error(unknown, 404, "NOT_FOUND")


def test_the_api_needs_a_token(api, plans):
    assert_error(api().get(PLANS), 401, "AUTHENTICATION_REQUIRED")


# --- Canceling and the periodic run


def test_canceled_at_period_end_it_ends_with_its_period(
    api, a, b, plans, instant_sandbox, on_commit
):
    subscribe(api, a.owner, plans["starter"], on_commit)
    subscribe(api, b.owner, plans["business"], on_commit)
    end = live_of(a.tenant).current_period_end

    data = ok_data(api(a.admin).post(CANCEL))

    assert data["status"] == "active"
    assert data["cancel_at_period_end"] is True
    assert ok_data(api(a.admin).post(CANCEL))["cancel_at_period_end"] is True  # twice: the same
    subscriptions_advance(now=end - timedelta(minutes=1))
    assert live_of(a.tenant).status == Status.ACTIVE

    subscriptions_advance(now=end + timedelta(minutes=1))

    subscription = SubscriptionModel.objects.get(tenant=a.tenant)
    assert subscription.status == Status.CANCELED
    assert subscription.ended_at is not None
    assert user_limit_of(a.tenant) == 2  # back on the free plan
    shown = ok_data(api(a.owner).get(SUBSCRIPTION))
    assert shown["subscription"] is None
    assert shown["plan"]["name"] == "Free"
    assert live_of(b.tenant).status == Status.PAST_DUE  # the other tenant's goes its own way
    assert user_limit_of(b.tenant) == 10


def test_nothing_to_cancel_is_a_conflict(api, a, plans):
    body = assert_error(api(a.owner).post(CANCEL), 409, "INVALID_STATUS")

    assert body["details"]["current_status"] is None


def test_an_incomplete_subscription_is_canceled_at_once(api, a, plans, settings, on_commit):
    settings.PAYMENT_PROVIDER = "sandbox"
    settings.SANDBOX_PAYMENT_DELAY_SECONDS = 600
    subscribe(api, a.owner, plans["starter"], on_commit)

    data = ok_data(api(a.owner).post(CANCEL))

    assert data["status"] == "canceled"
    assert_error(api(a.owner).post(CANCEL), 409, "INVALID_STATUS")


def test_unpaid_past_the_end_it_is_past_due_then_canceled_after_the_grace_days(
    api, a, plans, instant_sandbox, on_commit, settings
):
    settings.SUBSCRIPTION_GRACE_DAYS = 7
    subscribe(api, a.owner, plans["business"], on_commit)
    end = live_of(a.tenant).current_period_end

    subscriptions_advance(now=end + timedelta(minutes=1))

    assert live_of(a.tenant).status == Status.PAST_DUE
    assert user_limit_of(a.tenant) == 10  # past due keeps the plan
    subscriptions_advance(now=end + timedelta(days=6))
    assert live_of(a.tenant).status == Status.PAST_DUE

    subscriptions_advance(now=end + timedelta(days=7, minutes=1))

    assert live_of(a.tenant) is None
    assert user_limit_of(a.tenant) == 2


def test_a_past_due_subscription_paid_is_active_from_the_payment(
    api, a, plans, instant_sandbox, on_commit
):
    subscribe(api, a.owner, plans["starter"], on_commit)
    subscription = live_of(a.tenant)
    SubscriptionModel.objects.filter(pk=subscription.pk).update(
        current_period_start=timezone.now() - timedelta(days=40),
        current_period_end=timezone.now() - timedelta(days=2),
    )
    subscriptions_advance()
    assert live_of(a.tenant).status == Status.PAST_DUE

    subscribe(api, a.owner, plans["starter"], on_commit)

    subscription.refresh_from_db()
    assert subscription.status == Status.ACTIVE
    assert close_to(subscription.current_period_start, timezone.now(), 60)


def test_an_unpaid_start_is_given_up_once_its_order_cannot_be_paid(
    api, a, plans, settings, on_commit
):
    settings.PAYMENT_PROVIDER = "sandbox"
    settings.SANDBOX_PAYMENT_DELAY_SECONDS = 600
    data = subscribe(api, a.owner, plans["starter"], on_commit)
    later = timezone.now() + timedelta(minutes=settings.PAYMENT_EXPIRY_MINUTES * 2 + 1)

    subscriptions_advance(now=later)
    assert live_of(a.tenant).status == Status.INCOMPLETE  # its order is still pending

    PaymentTransaction.objects.filter(pk=data["payment"]["id"]).update(status="expired")
    subscriptions_advance(now=later)

    assert live_of(a.tenant) is None


def test_the_renewal_reminder_goes_once_a_period_to_the_owners(
    api, a, b, plans, instant_sandbox, on_commit, mailoutbox, settings
):
    settings.SUBSCRIPTION_RENEWAL_REMINDER_DAYS = 3
    subscribe(api, a.owner, plans["starter"], on_commit)
    end = live_of(a.tenant).current_period_end

    with on_commit():
        subscriptions_advance(now=end - timedelta(days=4))
    assert mailoutbox == []

    with on_commit():
        assert subscriptions_advance(now=end - timedelta(days=2)) == 1
        subscriptions_advance(now=end - timedelta(days=1))

    [mail] = mailoutbox
    assert mail.to == [a.owner.email]
    assert "Starter" in mail.subject
    assert f"{timezone.localtime(end):%d %B %Y}" in mail.body

    # A renewal paid resets it: the next period has its own reminder.
    subscribe(api, a.owner, plans["starter"], on_commit)
    with on_commit():
        subscriptions_advance(now=months_after(end, 1) - timedelta(days=2))
    assert len(mailoutbox) == 2


def test_a_subscription_being_canceled_gets_no_reminder(
    api, a, plans, instant_sandbox, on_commit, mailoutbox
):
    subscribe(api, a.owner, plans["starter"], on_commit)
    end = live_of(a.tenant).current_period_end
    api(a.owner).post(CANCEL)

    with on_commit():
        subscriptions_advance(now=end - timedelta(days=1))

    assert mailoutbox == []


def test_paying_again_takes_a_cancellation_back(api, a, plans, instant_sandbox, on_commit):
    subscribe(api, a.owner, plans["starter"], on_commit)
    api(a.owner).post(CANCEL)

    subscribe(api, a.owner, plans["starter"], on_commit)

    subscription = live_of(a.tenant)
    assert subscription.cancel_at_period_end is False
    assert subscription.canceled_at is None


# --- Trials


@pytest.fixture
def trial_plan(plans) -> Plan:
    return plan_save(
        plan=Plan(
            code="pro-trial",
            name="Pro",
            price_monthly=Decimal("50000"),
            price_yearly=Decimal("500000"),
            messages_per_month=2000,
            users=5,
            trial_days=14,
        )
    )


def test_a_first_subscription_to_a_plan_with_trial_days_starts_trialing(
    api, a, trial_plan, instant_sandbox, on_commit
):
    data = subscribe(api, a.owner, trial_plan, on_commit)

    assert data["payment"] is None
    assert data["subscription"]["status"] == "trialing"
    subscription = live_of(a.tenant)
    assert close_to(subscription.trial_end, timezone.now() + timedelta(days=14))
    assert subscription.current_period_end == subscription.trial_end
    assert user_limit_of(a.tenant) == 5
    assert balance_of(a.tenant) == 0  # a trial includes no credits

    subscriptions_advance(now=subscription.trial_end + timedelta(minutes=1))

    assert live_of(a.tenant).status == Status.PAST_DUE


def test_a_period_paid_during_the_trial_starts_when_the_trial_ends(
    api, a, trial_plan, instant_sandbox, on_commit
):
    subscribe(api, a.owner, trial_plan, on_commit)
    trial_end = live_of(a.tenant).trial_end

    data = subscribe(api, a.owner, trial_plan, on_commit)

    payment = PaymentTransaction.objects.get(pk=data["payment"]["id"])
    assert payment.period_start == trial_end
    subscription = live_of(a.tenant)
    assert subscription.status == Status.ACTIVE
    assert subscription.current_period_end == months_after(trial_end, 1)
    assert balance_of(a.tenant) == 2000


def test_a_trial_is_given_once(api, a, trial_plan, instant_sandbox, on_commit):
    subscribe(api, a.owner, trial_plan, on_commit)
    api(a.owner).post(CANCEL)
    subscriptions_advance(now=live_of(a.tenant).trial_end + timedelta(minutes=1))
    assert live_of(a.tenant) is None

    data = subscribe(api, a.owner, trial_plan, on_commit)

    assert data["payment"] is not None
    assert live_of(a.tenant).status == Status.ACTIVE


# --- Stripe's side


def test_a_stripe_subscription_is_moved_by_its_events_and_paid_by_its_invoices(a, plans):
    plan = plans["business"]
    subscription = subscription_open(
        tenant_id=a.tenant.pk,
        plan=plan,
        billing_cycle="monthly",
        provider="stripe",
        payment_method="card",
    ).subscription
    start = timezone.now().replace(microsecond=0)
    end = months_after(start, 1)

    synced = subscription_stripe_sync(
        stripe_subscription_id="sub_123",
        subscription_id=str(subscription.pk),
        stripe_customer_id="cus_1",
        stripe_status="active",
        current_period_start=start,
        current_period_end=end,
        cancel_at_period_end=False,
    )
    assert synced.status == Status.ACTIVE
    assert (synced.stripe_subscription_id, synced.stripe_customer_id) == ("sub_123", "cus_1")
    assert user_limit_of(a.tenant) == 10

    paid = [
        subscription_invoice_paid(
            subscription=synced,
            invoice_id="in_1",
            amount=Decimal("90000"),
            currency="tzs",
            period_start=start,
            period_end=end,
        )
        for _ in range(2)
    ]
    assert paid[0].pk == paid[1].pk
    assert paid[0].status == PaymentTransaction.Status.COMPLETED
    assert balance_of(a.tenant) == 5000
    assert CreditLedgerEntry.objects.filter(payment=paid[0]).count() == 1
    assert CreditLot.objects.get(payment=paid[0]).expires_at == end
    synced.refresh_from_db()
    assert (synced.current_period_start, synced.current_period_end) == (start, end)

    for status in ("unpaid", "canceled", "active"):
        subscription_stripe_sync(
            stripe_subscription_id="sub_123",
            subscription_id="",
            stripe_customer_id="",
            stripe_status=status,
            current_period_start=None,
            current_period_end=None,
            cancel_at_period_end=False,
        )
    synced.refresh_from_db()
    assert synced.status == Status.CANCELED  # canceled never changes again
    assert user_limit_of(a.tenant) == 2


def test_a_stripe_event_for_no_subscription_of_ours_changes_nothing(a, plans):
    assert (
        subscription_stripe_sync(
            stripe_subscription_id="sub_unknown",
            subscription_id="not-a-uuid",
            stripe_customer_id="cus_1",
            stripe_status="active",
            current_period_start=None,
            current_period_end=None,
            cancel_at_period_end=False,
        )
        is None
    )


# --- Races


@committed
def test_subscriptions_started_at_once_open_one(committed_tenant):
    plan = plan_save(
        plan=Plan(
            code="race",
            name="Race",
            price_monthly=Decimal("1000"),
            price_yearly=Decimal("10000"),
        )
    )
    workers = 8

    def start(_: int) -> str:
        try:
            subscription_open(
                tenant_id=committed_tenant.tenant.pk,
                plan=plan,
                billing_cycle="monthly",
                provider="sandbox",
                payment_method="mobile_money",
            )
        except Exception as exc:  # the 409 of the unique index, or of the replaced one
            return type(exc).__name__
        return "opened"

    try:
        outcomes = at_once(start, workers)

        live = SubscriptionModel.objects.filter(tenant=committed_tenant.tenant).exclude(
            status=Status.CANCELED
        )
        assert live.count() == 1
        assert "opened" in outcomes
        assert set(outcomes) <= {"opened", "ApplicationError"}
    finally:
        SubscriptionModel.objects.filter(tenant=committed_tenant.tenant).delete()
        plan.delete()
