"""Refunds of paid orders: an operator gives a completed payment's money back, in full or in
part (in the admin), and the credits it bought that are still in the balance are taken back.

    completed -> refunded   payment_refund, once: the payment's row is locked, its status
                            checked (409 INVALID_STATUS otherwise), the money sent back, then
                            one conditional UPDATE records refunded_amount, refunded_at and
                            refund_reason, and one reversal entry takes the credits back, all
                            in one transaction

The credits taken back (the reversal entry; none when the result is 0):
    wanted = credits + bonus_credits                              a full refund
             floor((credits + bonus_credits) * amount / paid)     a partial one, pro rata
    taken  = min(wanted, what the payment's lot has left when its credits expire, the balance)
What expired was already taken by the lot's expiry entry, and what was spent cannot be taken
back. The lot's `remaining` goes down by `taken` (billing.services.credit_reverse).

The money: a Stripe payment is refunded through Stripe (its payment intent is
provider_transid) while the payment's row is locked and before anything is written, so a
refusal changes nothing and a second refund waits, then finds the payment refunded. Mobile
money is sent back by hand by the operator; refund_reason says which it was.
"""

import uuid
from decimal import ROUND_FLOOR, Decimal
from typing import TYPE_CHECKING

from django.db import transaction
from django.utils import timezone
from rest_framework import status

from billing.models import PaymentTransaction
from billing.payments.providers.stripe import StripeProvider
from billing.services import credit_reverse
from mifumo.errors import ApplicationError, ErrorCode, field_error

if TYPE_CHECKING:
    from accounts.models import User

Status = PaymentTransaction.Status
CENT = Decimal("0.01")


def payment_amount_paid(payment: PaymentTransaction) -> Decimal:
    """What the payer paid: the provider's confirmed amount, else the order's."""
    return payment.paid_amount if payment.paid_amount is not None else payment.amount


def payment_currency_paid(payment: PaymentTransaction) -> str:
    return payment.paid_currency or payment.currency


def refund_credits_wanted(*, payment: PaymentTransaction, amount: Decimal) -> int:
    """The credits a refund of `amount` takes back before the lot and the balance bound it:
    all the payment's credits and bonus for the full amount, else their share, rounded down."""
    granted = payment.credits + payment.bonus_credits
    paid = payment_amount_paid(payment)
    if amount >= paid:
        return granted
    return int((granted * amount / paid).to_integral_value(rounding=ROUND_FLOOR))


def _status_refused(payment: PaymentTransaction) -> ApplicationError:
    return ApplicationError(
        f"Cannot refund payment {payment.order_id}: it is {payment.status}.",
        code=ErrorCode.INVALID_STATUS,
        status_code=status.HTTP_409_CONFLICT,
        details={"current_status": payment.status, "allowed_statuses": [Status.COMPLETED]},
    )


def _money_back(payment: PaymentTransaction, amount: Decimal) -> str:
    """Send `amount` back where the provider can, and say how it went back."""
    if payment.provider != PaymentTransaction.Provider.STRIPE:
        return f"{payment.get_provider_display()}: sent back by hand by the operator"
    if not payment.provider_transid:
        raise ApplicationError(
            f"Payment {payment.order_id} has no Stripe payment intent recorded; refund it in "
            "Stripe's dashboard.",
            code=ErrorCode.PAYMENT_PROVIDER_ERROR,
            status_code=status.HTTP_409_CONFLICT,
        )
    done, answer = StripeProvider().refund(
        payment_intent=payment.provider_transid,
        amount=amount,
        currency=payment_currency_paid(payment),
    )
    if not done:
        raise ApplicationError(
            f"Stripe did not refund payment {payment.order_id}: {answer}",
            code=ErrorCode.PAYMENT_PROVIDER_ERROR,
            status_code=status.HTTP_502_BAD_GATEWAY,
        )
    return f"Stripe refund {answer}"


@transaction.atomic
def payment_refund(
    *,
    payment_id: uuid.UUID,
    amount: Decimal | None = None,
    reason: str,
    created_by: "User | None",
) -> PaymentTransaction:
    """Refund a completed payment: `amount` (default everything paid; more than 0, at most what
    was paid, in cents) goes back to the payer and the credits it bought that are left are
    taken back, as the module docstring says. 400 for a bad amount or an empty reason, 404 for
    no such payment, 409 INVALID_STATUS unless it is completed, 502 when Stripe refuses."""
    reason = reason.strip()
    if not reason:
        raise field_error("reason", "A refund says why it is made.")
    # The row lock makes a second refund wait here until the first commits or rolls back.
    payment = PaymentTransaction.objects.select_for_update().filter(pk=payment_id).first()
    if payment is None:
        raise ApplicationError(
            "Transaction not found.",
            code=ErrorCode.NOT_FOUND,
            status_code=status.HTTP_404_NOT_FOUND,
        )
    if payment.status != Status.COMPLETED:
        raise _status_refused(payment)
    paid = payment_amount_paid(payment)
    amount = paid if amount is None else amount
    if not Decimal(0) < amount <= paid or amount != amount.quantize(CENT):
        raise field_error(
            "amount",
            f"Refund more than 0 and at most the {paid} {payment_currency_paid(payment)} paid, "
            "in cents.",
        )
    how = _money_back(payment, amount)
    now = timezone.now()
    moved = PaymentTransaction.objects.filter(pk=payment.pk, status=Status.COMPLETED).update(
        status=Status.REFUNDED,
        refunded_amount=amount,
        refunded_at=now,
        refund_reason=f"{reason} ({how})"[:255],
        updated_at=now,
    )
    if not moved:  # cannot happen while the row is locked; never reverse twice if it does
        raise _status_refused(payment)
    credit_reverse(
        tenant_id=payment.tenant_id,
        payment_id=payment.pk,
        credits=refund_credits_wanted(payment=payment, amount=amount),
        reason=f"Payment {payment.order_id} refunded: {reason}"[:255],
        created_by=created_by,
    )
    payment.refresh_from_db()
    return payment
