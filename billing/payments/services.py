"""Buying credits or a plan's period: starting a payment, recording a Stripe subscription's
paid invoice as its period's order, and the only functions that move a PaymentTransaction out
of `pending` (its docstring lists the states).

Credits are granted exactly once per paid order whatever arrives twice, late or out of order:
payment_confirm moves the order in one conditional UPDATE ... WHERE status = pending RETURNING,
and writes the purchase and bonus entries (and the invoice) in the same transaction, which a
unique index on (payment, kind) backs. Nothing is granted on a callback's word or a "pending"
answer: only a provider's status answer (payment_verify) confirms.
"""

import logging
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal
from typing import TYPE_CHECKING, Any, cast

from django.conf import settings
from django.db import connection, transaction
from django.utils import timezone
from rest_framework import status as http_status

from billing.coupons import coupon_apply, coupon_release, coupon_use
from billing.expiry import credit_lot_open
from billing.invoices import invoice_create_for
from billing.models import CreditLedgerEntry, PaymentTransaction, SmsPackage, Subscription
from billing.payments.providers import get_payment_provider, payment_provider_for
from billing.payments.providers.base import PaymentOrder, PaymentState, PaymentStatus
from billing.plans import plan_period_credits
from billing.selectors import credits_cost
from billing.services import credit_add
from billing.subscriptions import subscription_next_period, subscription_period_paid
from mifumo.errors import ApplicationError, ErrorCode, field_error

if TYPE_CHECKING:
    from accounts.models import User
    from tenants.models import Tenant

logger = logging.getLogger(__name__)

Status = PaymentTransaction.Status
Kind = CreditLedgerEntry.Kind
WEBHOOK_PATHS = {"zenopay": "/webhooks/zenopay/"}
MISMATCH = "Paid {paid} {currency}; the order is for another amount or currency."
LATE = "Paid after the order was no longer pending."


@dataclass(frozen=True, slots=True)
class Buyer:
    name: str
    email: str
    phone: str  # E.164


def _order_of(payment: PaymentTransaction) -> PaymentOrder:
    return PaymentOrder(
        order_id=payment.order_id,
        amount=payment.amount,
        currency=payment.currency,
        buyer_name=payment.buyer_name,
        buyer_email=payment.buyer_email,
        phone=payment.buyer_phone,
        started_at=payment.created_at,
        provider_reference=payment.provider_reference,
    )


def _new_order_id() -> str:
    return "MF" + uuid.uuid4().hex[:22].upper()


def payment_initiate(
    *,
    tenant: "Tenant",
    payment_method: str,
    buyer: Buyer,
    package: SmsPackage | None = None,
    credits: int | None = None,
    mobile_money_provider: str = "",
    coupon_code: str = "",
    created_by: "User | None" = None,
    subscription: Subscription | None = None,
) -> PaymentTransaction:
    """Make a pending order for a package (or for `credits` at SMS_CREDIT_PRICE, or for the
    next period of `subscription`) and ask the provider to collect it. A provider that refuses
    the order for good fails it (502).

    A period's order is charged the plan's price for the subscription's cycle and its credits
    are the plan's messages for each month of it (none is allowed); it pays for
    billing.subscriptions.subscription_next_period.

    With `coupon_code` the order is charged the price less the coupon's discount (400
    INVALID_COUPON when it does not apply) and takes one of its uses in the transaction that
    makes it; the credits are the package's whatever the discount."""
    provider = payment_provider_for(payment_method)
    if provider is None:
        raise ApplicationError(
            f"Payments by {payment_method.replace('_', ' ')} are not available.",
            code=ErrorCode.VALIDATION_ERROR,
            errors={"payment_method": ["This payment method is not available."]},
        )
    period: tuple[datetime | None, datetime | None] = (None, None)
    priced_field = "package_id"
    if subscription is not None:
        plan, cycle = subscription.plan, subscription.billing_cycle
        amount, currency = plan.price_for(cycle), plan.currency
        if amount <= 0:
            raise field_error("plan_id", "A free plan is not paid for.")
        bought, bonus = plan_period_credits(plan=plan, billing_cycle=cycle), 0
        period = subscription_next_period(subscription=subscription)
        priced_field = "plan_id"
    elif package is not None:
        if not package.is_active:
            raise ApplicationError(
                "This package is no longer sold.",
                code=ErrorCode.VALIDATION_ERROR,
                errors={"package_id": ["This package is no longer sold."]},
            )
        amount, currency = package.price, package.currency
        bought, bonus = package.sms_count, package.bonus_sms
    elif credits is not None and credits > 0:
        amount, currency = credits_cost(credits), settings.SMS_CREDIT_CURRENCY
        bought, bonus = credits, 0
    else:
        raise ApplicationError(
            "Choose a package or a number of credits.",
            code=ErrorCode.VALIDATION_ERROR,
            errors={"package_id": ["Choose a package or a number of credits."]},
        )
    if currency not in provider.currencies:
        raise ApplicationError(
            f"{provider.name} takes {', '.join(provider.currencies)}, not {currency}.",
            code=ErrorCode.VALIDATION_ERROR,
            errors={priced_field: [f"This is priced in {currency}."]},
        )
    discount = (
        coupon_apply(code=coupon_code, price=amount, currency=currency, package=package)
        if coupon_code.strip()
        else None
    )
    with transaction.atomic():
        if discount is not None:
            coupon_use(coupon_id=discount.coupon.pk)
        payment = PaymentTransaction.objects.create(
            tenant=tenant,
            order_id=_new_order_id(),
            package=package,
            credits=bought,
            bonus_credits=bonus,
            amount=discount.amount if discount else amount,
            currency=currency,
            subscription=subscription,
            period_start=period[0],
            period_end=period[1],
            coupon=discount.coupon if discount else None,
            discount=discount.discount if discount else Decimal("0"),
            provider=provider.name,
            payment_method=payment_method,
            mobile_money_provider=mobile_money_provider,
            buyer_name=buyer.name[:150],
            buyer_email=buyer.email,
            buyer_phone=buyer.phone,
            created_by=created_by,
            expires_at=timezone.now() + timedelta(minutes=settings.PAYMENT_EXPIRY_MINUTES),
        )
    # Outside any transaction: the order is committed before the provider hears of it, so a
    # callback that arrives at once finds it.
    webhook_url = settings.PUBLIC_BASE_URL.rstrip("/") + WEBHOOK_PATHS.get(provider.name, "/")
    started = provider.payment_start(_order_of(payment), webhook_url=webhook_url)
    if started.accepted or started.transient:
        fields = {
            "payment_url": started.payment_url,
            "provider_reference": started.provider_reference,
        }
        PaymentTransaction.objects.filter(pk=payment.pk).update(**fields)
        for name, value in fields.items():
            setattr(payment, name, value)
        _verify_later(payment, provider.name)
        return payment
    with transaction.atomic():  # nothing was charged: the coupon's use goes back with it
        if payment_fail(transaction_id=payment.pk, reason=started.error) and payment.coupon_id:
            coupon_release(coupon_id=payment.coupon_id)
    raise ApplicationError(
        "The payment provider refused the payment; nothing was charged.",
        code=ErrorCode.PAYMENT_PROVIDER_ERROR,
        status_code=http_status.HTTP_502_BAD_GATEWAY,
        details={"transaction_id": str(payment.pk), "reason": started.error},
    )


def _verify_later(payment: PaymentTransaction, provider_name: str) -> None:
    """The sandbox never calls back: ask its status once it has completed."""
    from billing.tasks import payment_verify_task

    if provider_name == PaymentTransaction.Provider.SANDBOX:
        transaction.on_commit(
            lambda: payment_verify_task.apply_async(
                args=(str(payment.pk),), countdown=settings.SANDBOX_PAYMENT_DELAY_SECONDS
            )
        )


# The one move to completed (or to review): conditional on the row's state at the moment the
# UPDATE takes its lock, so of any number of confirmations exactly one returns a row.
# SET expressions read the row as locked, so the test (pending, in time, the amount and
# currency asked) is written out in each SET that needs it.
_CONFIRM_SQL = """
UPDATE billing_paymenttransaction AS t SET
    status = CASE WHEN t.status = %(pending)s AND t.expires_at > now()
            AND t.amount = %(amount)s AND t.currency = %(currency)s
        THEN %(completed)s ELSE %(review)s END,
    completed_at = CASE WHEN t.status = %(pending)s AND t.expires_at > now()
            AND t.amount = %(amount)s AND t.currency = %(currency)s
        THEN now() END,
    failure_reason = CASE WHEN t.status <> %(pending)s OR t.expires_at <= now() THEN %(late)s
        WHEN t.amount = %(amount)s AND t.currency = %(currency)s THEN ''
        ELSE %(mismatch)s END,
    paid_amount = %(amount)s, paid_currency = %(currency)s,
    provider_reference = COALESCE(NULLIF(%(reference)s, ''), t.provider_reference),
    provider_transid = %(transid)s, updated_at = now()
WHERE t.id = %(id)s AND t.status IN (%(pending)s, %(expired)s)
RETURNING t.status, t.tenant_id, t.credits, t.bonus_credits, t.order_id
"""


@transaction.atomic
def payment_confirm(
    *,
    transaction_id: uuid.UUID,
    paid_amount: Decimal,
    paid_currency: str,
    reference: str = "",
    transid: str = "",
) -> str | None:
    """Record that the provider says the order is paid: completed with its credits and bonus
    when it was pending, in time, for the amount and currency asked; review otherwise. Returns
    the new status, or None when the order had already left pending (nothing changes)."""
    params: dict[str, Any] = {
        "id": transaction_id,
        "amount": paid_amount,
        "currency": paid_currency,
        "reference": reference[:100],
        "transid": transid[:100],
        "pending": Status.PENDING,
        "expired": Status.EXPIRED,
        "completed": Status.COMPLETED,
        "review": Status.REVIEW,
        "mismatch": MISMATCH.format(paid=paid_amount, currency=paid_currency)[:255],
        "late": LATE,
    }
    with connection.cursor() as cursor:
        cursor.execute(_CONFIRM_SQL, params)
        row = cursor.fetchone()
    if row is None:
        return None
    new_status, tenant_id, credits, bonus, order_id = cast(
        tuple[str, uuid.UUID, int, int, str], row
    )
    if new_status != Status.COMPLETED:
        logger.warning("Payment %s needs review: %s %s", order_id, paid_amount, paid_currency)
        return new_status
    if credits:  # a plan's period may include no messages
        credit_add(
            tenant_id=tenant_id,
            credits=credits,
            kind=Kind.PURCHASE,
            reference=order_id,
            reason="Paid order",
            payment_id=transaction_id,
        )
    if bonus:
        credit_add(
            tenant_id=tenant_id,
            credits=bonus,
            kind=Kind.BONUS,
            reference=order_id,
            reason="Package bonus",
            payment_id=transaction_id,
        )
    invoice_create_for(payment_id=transaction_id)
    _completed_apply(transaction_id)
    return new_status


def _completed_apply(transaction_id: uuid.UUID) -> None:
    """What a completed order brings besides its credits: the period of a plan it paid for,
    or the lot its package's credits expire with."""
    payment = PaymentTransaction.objects.select_related("package").get(pk=transaction_id)
    if payment.subscription_id is not None:
        subscription_period_paid(payment=payment)
    elif payment.package is not None and payment.package.validity_days:
        credit_lot_open(
            payment_id=payment.pk,
            tenant_id=payment.tenant_id,
            credits=payment.credits + payment.bonus_credits,
            expires_at=timezone.now() + timedelta(days=payment.package.validity_days),
        )


def subscription_invoice_paid(
    *,
    subscription: Subscription,
    invoice_id: str,
    amount: Decimal,
    currency: str,
    period_start: datetime | None,
    period_end: datetime | None,
) -> PaymentTransaction | None:
    """A paid invoice of a Stripe subscription, as the order of its period: made once (its
    order_id is the invoice's id, whoever tells of it twice or at once) and completed through
    payment_confirm, so its credits, lot, invoice and period follow the one path of every
    order. None for an invoice of nothing (a trial's), or one already an order of another
    subscription."""
    if amount <= 0:
        return None
    currency = currency.upper()
    plan, tenant = subscription.plan, subscription.tenant
    with transaction.atomic():
        payment, _ = PaymentTransaction.objects.get_or_create(
            order_id=invoice_id[:64],
            defaults={
                "tenant": tenant,
                "subscription": subscription,
                "credits": plan_period_credits(plan=plan, billing_cycle=subscription.billing_cycle),
                "amount": amount,
                "currency": currency,
                "period_start": period_start,
                "period_end": period_end,
                "provider": PaymentTransaction.Provider.STRIPE,
                "payment_method": PaymentTransaction.Method.CARD,
                "provider_reference": invoice_id[:100],
                "buyer_name": tenant.business_name or tenant.name,
                "buyer_email": tenant.contact_email,
                "expires_at": timezone.now() + timedelta(minutes=settings.PAYMENT_EXPIRY_MINUTES),
            },
        )
        if payment.subscription_id != subscription.pk:
            logger.error("Stripe invoice %s is an order of another subscription", invoice_id)
            return None
        payment_confirm(
            transaction_id=payment.pk,
            paid_amount=amount,
            paid_currency=currency,
            reference=invoice_id,
        )
    payment.refresh_from_db()
    return payment


_FAIL_SQL = """
UPDATE billing_paymenttransaction SET status = %(status)s, failure_reason = %(reason)s,
    updated_at = now()
WHERE id = %(id)s AND status = %(pending)s
RETURNING id
"""


def payment_fail(*, transaction_id: uuid.UUID, reason: str, cancelled: bool = False) -> bool:
    """pending -> failed (or cancelled); False when the order had already left pending."""
    params = {
        "id": transaction_id,
        "status": Status.CANCELLED if cancelled else Status.FAILED,
        "reason": reason[:255],
        "pending": Status.PENDING,
    }
    with connection.cursor() as cursor:
        cursor.execute(_FAIL_SQL, params)
        return cursor.fetchone() is not None


def payments_expire(*, limit: int = 500) -> int:
    """pending -> expired for orders past their expires_at (up to `limit` a run); returns how
    many. Each provider is asked first, so one whose callback was lost but which was paid goes
    to review (money arrived, nothing granted) rather than silently expiring."""
    now = timezone.now()
    due = list(
        PaymentTransaction.objects.filter(status=Status.PENDING, expires_at__lte=now)[:limit]
    )
    for payment in due:
        provider = get_payment_provider(payment.provider)
        payment_status_apply(payment=payment, answer=provider.payment_status(_order_of(payment)))
    return PaymentTransaction.objects.filter(
        pk__in=[payment.pk for payment in due], status=Status.PENDING
    ).update(status=Status.EXPIRED, failure_reason="Not paid in time.", updated_at=now)


def payment_status_apply(*, payment: PaymentTransaction, answer: PaymentStatus) -> None:
    """Apply a provider's status answer: paid confirms, failed or cancelled fails, anything
    else (pending, unknown) changes nothing."""
    if answer.state == PaymentState.COMPLETED and answer.amount is not None:
        payment_confirm(
            transaction_id=payment.pk,
            paid_amount=answer.amount,
            paid_currency=answer.currency or payment.currency,
            reference=answer.reference,
            transid=answer.transid,
        )
    elif answer.state in (PaymentState.FAILED, PaymentState.CANCELLED):
        payment_fail(
            transaction_id=payment.pk,
            reason=answer.detail or f"The provider reports the payment {answer.state}.",
            cancelled=answer.state == PaymentState.CANCELLED,
        )


def payment_verify(*, payment: PaymentTransaction) -> PaymentTransaction:
    """Ask the provider about an order that is pending (or expired, where a late payment goes
    to review) and apply its answer; returns the order as it is now."""
    if payment.status in (Status.PENDING, Status.EXPIRED):
        provider = get_payment_provider(payment.provider)
        payment_status_apply(payment=payment, answer=provider.payment_status(_order_of(payment)))
        payment.refresh_from_db()
    return payment
