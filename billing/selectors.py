"""Reads of the credit ledger, the packages on sale, a tenant's payments, and the plan and
subscription it is on."""

import calendar
import uuid
from datetime import date, datetime, time, timedelta
from decimal import Decimal
from typing import Any

from django.conf import settings
from django.db.models import Q, QuerySet, Sum
from django.db.models.functions import Coalesce, TruncDate
from django.utils import timezone
from rest_framework import status

from billing.models import (
    CreditBalance,
    CreditLedgerEntry,
    PaymentTransaction,
    Plan,
    SmsPackage,
    Subscription,
)
from mifumo.errors import ApplicationError, ErrorCode
from mifumo.selectors import get_or_404

Kind = CreditLedgerEntry.Kind


def credit_balance_get(*, tenant_id: uuid.UUID) -> CreditBalance:
    """The tenant's balance; a tenant that never bought credits has an unsaved zero balance."""
    return CreditBalance.objects.filter(tenant_id=tenant_id).first() or CreditBalance(
        tenant_id=tenant_id, credits=0
    )


def credits_cost(credits: float) -> Decimal:
    """What `credits` cost at SMS_CREDIT_PRICE (in SMS_CREDIT_CURRENCY), to the cent."""
    price: Decimal = settings.SMS_CREDIT_PRICE
    return (price * Decimal(str(credits))).quantize(Decimal("0.01"))


def sms_packages_on_sale() -> QuerySet[SmsPackage]:
    return SmsPackage.objects.filter(is_active=True)


def sms_package_get(*, package_id: object) -> SmsPackage:
    """An active package, or the uniform 404."""
    return get_or_404(sms_packages_on_sale(), package_id, "Package")


def payments_of(*, tenant_id: uuid.UUID, status: str | None = None) -> QuerySet[PaymentTransaction]:
    payments = PaymentTransaction.objects.filter(tenant_id=tenant_id).select_related(
        "package", "subscription__plan"
    )
    return payments.filter(status=status) if status else payments


def payment_get(*, tenant_id: uuid.UUID, transaction_id: object) -> PaymentTransaction:
    """The tenant's payment, or the uniform 404 (another tenant's is not found)."""
    return get_or_404(payments_of(tenant_id=tenant_id), transaction_id, "Transaction")


def payment_by_order_get(*, tenant_id: uuid.UUID, order_id: str) -> PaymentTransaction:
    payment = payments_of(tenant_id=tenant_id).filter(order_id=order_id).first()
    if payment is None:
        raise ApplicationError(
            "Transaction not found.",
            code=ErrorCode.NOT_FOUND,
            status_code=status.HTTP_404_NOT_FOUND,
        )
    return payment


def credit_summary(*, tenant_id: uuid.UUID) -> dict[str, Any]:
    """The balance with what was bought and spent in all and this month (one query on the
    ledger). Spent is reserves less refunds; bought is purchases and bonuses."""
    balance = credit_balance_get(tenant_id=tenant_id)
    month_start = timezone.now().replace(day=1, hour=0, minute=0, second=0, microsecond=0)
    bought = Q(kind__in=[Kind.PURCHASE, Kind.BONUS])
    spent = Q(kind__in=[Kind.RESERVE, Kind.REFUND])
    this_month = Q(created_at__gte=month_start)
    totals = CreditLedgerEntry.objects.filter(tenant_id=tenant_id).aggregate(
        purchased=Coalesce(Sum("credits", filter=bought), 0),
        used=Coalesce(Sum("credits", filter=spent), 0),
        used_this_month=Coalesce(Sum("credits", filter=spent & this_month), 0),
    )
    return {
        "credits": balance.credits,
        "currency": settings.SMS_CREDIT_CURRENCY,
        "last_updated": balance.updated_at,
        "total_purchased": totals["purchased"],
        "total_used": -totals["used"],
        "used_this_month": -totals["used_this_month"],
    }


def credit_usage(*, tenant_id: uuid.UUID, period: str = "") -> dict[str, Any]:
    """Credits spent in a calendar month (`period` "YYYY-MM", default this one), by day and in
    all: reserved less refunded, with what they cost. One GROUP BY query over the ledger; days
    are in the current time zone, every day of the month up to today is listed."""
    today = timezone.localdate()
    year, month = map(int, period.split("-")) if period else (today.year, today.month)
    start = date(year, month, 1)
    end = date(year, month, calendar.monthrange(year, month)[1])
    zone = timezone.get_current_timezone()
    rows = list(
        CreditLedgerEntry.objects.filter(
            tenant_id=tenant_id,
            kind__in=[Kind.RESERVE, Kind.REFUND],
            created_at__gte=datetime.combine(start, time.min, tzinfo=zone),
            created_at__lt=datetime.combine(end + timedelta(days=1), time.min, tzinfo=zone),
        )
        .annotate(day=TruncDate("created_at"))
        .values("day")
        .annotate(
            reserved=Coalesce(Sum("credits", filter=Q(kind=Kind.RESERVE)), 0),
            refunded=Coalesce(Sum("credits", filter=Q(kind=Kind.REFUND)), 0),
        )
        .order_by("day")
    )
    by_day = {row["day"]: -row["reserved"] - row["refunded"] for row in rows}
    reserved = -sum(row["reserved"] for row in rows)
    refunded = sum(row["refunded"] for row in rows)
    last = min(end, today)
    days = [start + timedelta(days=n) for n in range((last - start).days + 1)]
    return {
        "period": f"{year:04d}-{month:02d}",
        "start": start,
        "end": end,
        "currency": settings.SMS_CREDIT_CURRENCY,
        "unit_price": settings.SMS_CREDIT_PRICE,
        "totals": {
            "credits_reserved": reserved,
            "credits_refunded": refunded,
            "credits": reserved - refunded,
            "cost": credits_cost(reserved - refunded),
        },
        "days": [
            {"date": day, "credits": by_day.get(day, 0), "cost": credits_cost(by_day.get(day, 0))}
            for day in days
        ],
    }


def ledger_of(
    *, tenant_id: uuid.UUID, kinds: list[str] | None = None
) -> QuerySet[CreditLedgerEntry]:
    entries = CreditLedgerEntry.objects.filter(tenant_id=tenant_id)
    return entries.filter(kind__in=kinds) if kinds else entries


def payment_for_callback(*, provider: str, order_id: str) -> PaymentTransaction | None:
    """The order a provider's callback names, whichever tenant's it is (the callback names
    none), or None."""
    return PaymentTransaction.objects.filter(provider=provider, order_id=order_id).first()


def subscription_current(*, tenant_id: uuid.UUID) -> Subscription | None:
    """The tenant's subscription that is not canceled (at most one), with its plan, or None."""
    return (
        Subscription.objects.select_related("plan")
        .filter(tenant_id=tenant_id)
        .exclude(status=Subscription.Status.CANCELED)
        .first()
    )


def plan_current(*, tenant_id: uuid.UUID) -> Plan | None:
    """The plan whose limits hold for the tenant: its live subscription's (trialing, active or
    past due; an incomplete one has not started), else the default plan, else None."""
    subscription = subscription_current(tenant_id=tenant_id)
    if subscription is not None and subscription.status != Subscription.Status.INCOMPLETE:
        return subscription.plan
    return Plan.objects.filter(is_default=True).first()
