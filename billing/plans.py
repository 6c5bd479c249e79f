"""The plan catalogue and the limits a plan sets: the plans on sale, how operators save them
(and a fresh install's), how long a cycle is, and the user limit of the plan that holds for
each tenant (billing.selectors.plan_current), which tenants.Tenant.user_limit carries.
"""

import calendar
import uuid
from datetime import datetime
from decimal import Decimal
from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Q, QuerySet

from billing.models import Plan, Subscription
from billing.selectors import plan_current
from mifumo.events import Event
from mifumo.selectors import get_or_404
from tenants.models import Tenant
from tenants.services import tenant_user_limit_set

Cycle = Plan.Cycle
STARTED = Subscription.STARTED
CYCLE_MONTHS = {Cycle.MONTHLY: 1, Cycle.YEARLY: 12}


def plans_on_sale() -> QuerySet[Plan]:
    return Plan.objects.filter(is_active=True)


def plan_get(*, plan_id: object, tenant_id: uuid.UUID) -> Plan:
    """An active plan, or the plan of the tenant's started subscription even if retired (it
    may still be renewed); else the uniform 404."""
    renewable = Q(subscriptions__tenant_id=tenant_id, subscriptions__status__in=STARTED)
    plans = Plan.objects.filter(Q(is_active=True) | renewable).distinct()
    return get_or_404(plans, plan_id, "Plan")


def months_after(moment: datetime, months: int) -> datetime:
    """`moment` `months` calendar months later, on the same day or the month's last one."""
    index = moment.month - 1 + months
    year, month = moment.year + index // 12, index % 12 + 1
    return moment.replace(year=year, month=month, day=min(moment.day, _last_day(year, month)))


def _last_day(year: int, month: int) -> int:
    return calendar.monthrange(year, month)[1]


def plan_period_credits(*, plan: Plan, billing_cycle: str) -> int:
    """The credits a paid period includes: the plan's messages for each of its months."""
    return (plan.messages_per_month or 0) * CYCLE_MONTHS[Cycle(billing_cycle)]


@transaction.atomic
def plan_save(*, plan: Plan) -> Plan:
    """Create or change a plan (operators, through the admin), checked as a form would. When
    its user limit, or which plan is the default, changes, the tenants it holds for get the
    new limit."""
    plan.full_clean()
    if not isinstance(plan.features, list) or not all(
        isinstance(line, str) for line in plan.features
    ):
        raise ValidationError({"features": "A list of short lines of text."})
    before = Plan.objects.filter(pk=plan.pk).values("users", "is_default").first()
    plan.save()
    after = {"users": plan.users, "is_default": plan.is_default}
    if before != after and (before is not None or plan.is_default):
        _plan_limits_apply(plan=plan, was_default=bool(before and before["is_default"]))
    return plan


def _plan_limits_apply(*, plan: Plan, was_default: bool) -> None:
    """Set the user limit of every tenant the plan holds (or held, as the default) for: one
    UPDATE for its subscribers and one for the tenants without a started subscription."""
    started = Subscription.objects.filter(status__in=STARTED)
    tenant_user_limit_set(
        tenant_ids=started.filter(plan=plan).values("tenant_id"), limit=plan.users
    )
    if plan.is_default or was_default:
        default = Plan.objects.filter(is_default=True).values_list("users", flat=True).first()
        without = Tenant.objects.exclude(pk__in=started.values("tenant_id"))
        tenant_user_limit_set(tenant_ids=without.values("pk"), limit=default)


# A fresh install's catalogue, in TZS; a year costs ten months.
DEFAULT_PLANS: list[dict[str, Any]] = [
    {
        "code": "free",
        "name": "Free",
        "description": "Pay for SMS as you go; two users.",
        "price_monthly": Decimal("0"),
        "messages_per_month": 0,
        "users": 2,
        "is_default": True,
        "features": ["2 users", "SMS credits bought as needed", "Contacts and campaigns"],
    },
    {
        "code": "starter",
        "name": "Starter",
        "description": "A small team sending every month.",
        "price_monthly": Decimal("25000"),
        "messages_per_month": 1_000,
        "users": 3,
        "features": ["1,000 SMS a month included", "3 users", "Delivery reports"],
    },
    {
        "code": "business",
        "name": "Business",
        "description": "Growing teams with regular campaigns.",
        "price_monthly": Decimal("90000"),
        "messages_per_month": 5_000,
        "users": 10,
        "features": [
            "5,000 SMS a month included",
            "10 users",
            "Sender ID included",
            "Scheduled and recurring campaigns",
        ],
    },
    {
        "code": "enterprise",
        "name": "Enterprise",
        "description": "High volume, any number of users.",
        "price_monthly": Decimal("350000"),
        "messages_per_month": 25_000,
        "users": None,
        "features": [
            "25,000 SMS a month included",
            "Unlimited users",
            "Priority support",
            "Account manager",
        ],
    },
]


def plans_seed() -> int:
    """Create the default catalogue's plans that do not exist yet (by code), leaving any an
    operator changed as they are; returns how many were made."""
    existing = set(Plan.objects.values_list("code", flat=True))
    has_default = Plan.objects.filter(is_default=True).exists()
    made = 0
    for order, fields in enumerate(DEFAULT_PLANS):
        if fields["code"] in existing:
            continue
        plan = Plan(
            currency="TZS",
            sort_order=order,
            price_yearly=fields["price_monthly"] * 10,
            **{**fields, "is_default": fields.get("is_default", False) and not has_default},
        )
        plan_save(plan=plan)
        made += 1
    return made


def plan_limits_apply(*, tenant_id: uuid.UUID) -> None:
    """Give the tenant the user limit of the plan that holds for it now."""
    plan = plan_current(tenant_id=tenant_id)
    tenant_user_limit_set(tenant_ids=[tenant_id], limit=plan.users if plan is not None else None)


def tenant_created_received(event: Event) -> None:
    """A new tenant starts on the default plan's limits (subscribed in BillingConfig.ready)."""
    plan_limits_apply(tenant_id=uuid.UUID(event.payload["tenant_id"]))
