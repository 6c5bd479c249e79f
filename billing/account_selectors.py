"""What a tenant's billing account looks like, as the dashboard shows it: the plan it is on and
what that plan allows against what is used, its subscription and the invoice that comes next,
its credits, saved payment methods and last invoices, and its spending month by month.
Reads only.

The usage period is the subscription's current period when it has one, else the calendar
month (in the current time zone). Messages used are the credits spent in it: reserves less
refunds in the ledger. A plan allows `messages_per_month` for each month of the period (twelve
in a yearly one). Users are active members plus pending invitations that have not expired, as
tenants.services counts the seats it enforces.
"""

import calendar
import uuid
from datetime import date, datetime, time, timedelta
from typing import Any, TypedDict

from django.conf import settings
from django.db.models import QuerySet, Sum
from django.db.models.functions import Coalesce, TruncMonth
from django.utils import timezone

from billing.invoices import invoices_of
from billing.models import CreditLedgerEntry, Invoice, PaymentMethod, Plan, Subscription
from billing.payment_methods import payment_methods_of
from billing.plans import STARTED, plan_period_credits
from billing.selectors import (
    credit_balance_get,
    credits_cost,
    plan_current,
    subscription_current,
)
from tenants.models import Tenant
from tenants.services import seats_taken

Kind = CreditLedgerEntry.Kind
SPENDING = (Kind.RESERVE, Kind.REFUND)
RECENT_INVOICES = 5
HISTORY_MONTHS = 6


class Period(TypedDict):
    start: datetime
    end: datetime


class Allowance(TypedDict):
    limit: int | None
    used: int
    remaining: int | None


class MessagesAllowance(Allowance):
    percent: float | None


class UsageLimits(TypedDict):
    plan: Plan | None
    period: Period
    messages: MessagesAllowance
    users: Allowance


def _month_bounds(day: date) -> Period:
    zone = timezone.get_current_timezone()
    last = calendar.monthrange(day.year, day.month)[1]
    return {
        "start": datetime.combine(day.replace(day=1), time.min, tzinfo=zone),
        "end": datetime.combine(day.replace(day=last) + timedelta(days=1), time.min, tzinfo=zone),
    }


def usage_period(*, subscription: Subscription | None) -> tuple[Period, str]:
    """The period usage is counted in and the billing cycle it is: the started subscription's
    current period, else this calendar month."""
    if (
        subscription is not None
        and subscription.status in STARTED
        and subscription.current_period_start is not None
        and subscription.current_period_end is not None
    ):
        period: Period = {
            "start": subscription.current_period_start,
            "end": subscription.current_period_end,
        }
        return period, subscription.billing_cycle
    return _month_bounds(timezone.localdate()), Plan.Cycle.MONTHLY


def messages_used(*, tenant_id: uuid.UUID, period: Period) -> int:
    """Credits spent in [start, end): reserved for sends less refunded (one query)."""
    total = CreditLedgerEntry.objects.filter(
        tenant_id=tenant_id,
        kind__in=SPENDING,
        created_at__gte=period["start"],
        created_at__lt=period["end"],
    ).aggregate(total=Coalesce(Sum("credits"), 0))["total"]
    return -int(total)


def _allowance(limit: int | None, used: int) -> Allowance:
    return {
        "limit": limit,
        "used": used,
        "remaining": None if limit is None else max(0, limit - used),
    }


def _limits(tenant: Tenant, subscription: Subscription | None, plan: Plan | None) -> UsageLimits:
    period, cycle = usage_period(subscription=subscription)
    message_limit = (
        None
        if plan is None or plan.messages_per_month is None
        else plan_period_credits(plan=plan, billing_cycle=cycle)
    )
    messages = _allowance(message_limit, messages_used(tenant_id=tenant.pk, period=period))
    user_limit = plan.users if plan is not None and plan.users is not None else tenant.user_limit
    return {
        "plan": plan,
        "period": period,
        "messages": {
            **messages,
            "percent": round(messages["used"] * 100 / message_limit, 1) if message_limit else None,
        },
        "users": _allowance(user_limit, seats_taken(tenant=tenant)),
    }


def usage_limits(*, tenant: Tenant) -> UsageLimits:
    """The tenant's plan (None without one) and what it allows against what is used: messages
    in the period, and users. An empty limit is unlimited (remaining and percent are null);
    percent may pass 100, as credits bought beyond the plan are spent too."""
    return _limits(
        tenant,
        subscription_current(tenant_id=tenant.pk),
        plan_current(tenant_id=tenant.pk),
    )


def upcoming_invoice(*, subscription: Subscription | None) -> dict[str, Any] | None:
    """What the subscription's next period will cost and when it is due, or None when nothing
    comes next (no running subscription, or one that ends at its period's end)."""
    if (
        subscription is None
        or subscription.status not in STARTED
        or subscription.cancel_at_period_end
    ):
        return None
    return {
        "amount": subscription.plan.price_for(subscription.billing_cycle),
        "currency": subscription.plan.currency,
        "due_date": subscription.current_period_end or subscription.trial_end,
    }


def usage_history(*, tenant_id: uuid.UUID, months: int = HISTORY_MONTHS) -> list[dict[str, Any]]:
    """Credits spent (reserves less refunds) and their cost in each of the last `months`
    calendar months, this one included, oldest first; one GROUP BY query."""
    today = timezone.localdate()
    firsts = [today.replace(day=1)]
    for _ in range(months - 1):
        firsts.insert(0, (firsts[0] - timedelta(days=1)).replace(day=1))
    rows = (
        CreditLedgerEntry.objects.filter(
            tenant_id=tenant_id,
            kind__in=SPENDING,
            created_at__gte=_month_bounds(firsts[0])["start"],
        )
        .annotate(month=TruncMonth("created_at"))
        .values("month")
        .annotate(total=Sum("credits"))
        .order_by()
    )
    spent = {(row["month"].year, row["month"].month): -int(row["total"]) for row in rows}
    return [
        {
            "period": f"{first:%Y-%m}",
            "credits": spent.get((first.year, first.month), 0),
            "cost": credits_cost(spent.get((first.year, first.month), 0)),
        }
        for first in firsts
    ]


class BillingOverview(TypedDict):
    current_plan: Plan | None
    subscription: Subscription | None
    current_usage: dict[str, Any]
    upcoming_invoice: dict[str, Any] | None
    payment_methods: QuerySet[PaymentMethod]
    recent_invoices: list[Invoice]
    usage_history: list[dict[str, Any]]


def billing_overview(*, tenant: Tenant) -> BillingOverview:
    """The dashboard's billing page in one read: the plan and subscription, what is used of
    the plan with the credit balance, the next invoice, saved payment methods, the last
    RECENT_INVOICES invoices and HISTORY_MONTHS months of spending."""
    subscription = subscription_current(tenant_id=tenant.pk)
    limits = _limits(tenant, subscription, plan_current(tenant_id=tenant.pk))
    balance = credit_balance_get(tenant_id=tenant.pk)
    return {
        "current_plan": limits["plan"],
        "subscription": subscription,
        "current_usage": {
            "period": limits["period"],
            "messages": limits["messages"],
            "users": limits["users"],
            "credits": balance.credits,
            "currency": settings.SMS_CREDIT_CURRENCY,
        },
        "upcoming_invoice": upcoming_invoice(subscription=subscription),
        "payment_methods": payment_methods_of(tenant_id=tenant.pk),
        "recent_invoices": list(invoices_of(tenant_id=tenant.pk)[:RECENT_INVOICES]),
        "usage_history": usage_history(tenant_id=tenant.pk),
    }
