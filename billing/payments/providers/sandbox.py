"""The sandbox payment provider for development and tests: no money moves.

An order completes SANDBOX_PAYMENT_DELAY_SECONDS after it started, paid in full; one whose
phone number ends in 9999 fails instead, so both paths can be tried. It keeps no state: the
answer follows from the order itself. It sends no callbacks (the service asks its status).
"""

from collections.abc import Mapping
from datetime import timedelta

from django.conf import settings
from django.utils import timezone

from billing.payments.providers.base import (
    PaymentCallback,
    PaymentOrder,
    PaymentProvider,
    PaymentStarted,
    PaymentState,
    PaymentStatus,
)

FAILING_PHONE_SUFFIX = "9999"


class SandboxPaymentProvider(PaymentProvider):
    name = "sandbox"
    methods = ("mobile_money", "card")
    currencies = ("TZS", "USD", "KES")

    def payment_start(self, order: PaymentOrder, *, webhook_url: str) -> PaymentStarted:
        return PaymentStarted(accepted=True, provider_reference=f"sandbox-{order.order_id}")

    def payment_status(self, order: PaymentOrder) -> PaymentStatus:
        delay = timedelta(seconds=settings.SANDBOX_PAYMENT_DELAY_SECONDS)
        if timezone.now() < order.started_at + delay:
            return PaymentStatus(state=PaymentState.PENDING)
        if order.phone.endswith(FAILING_PHONE_SUFFIX):
            return PaymentStatus(
                state=PaymentState.FAILED, detail="The sandbox fails numbers ending in 9999."
            )
        return PaymentStatus(
            state=PaymentState.COMPLETED,
            amount=order.amount,
            currency=order.currency,
            reference=f"sandbox-{order.order_id}",
            transid=f"SBX{order.order_id[-10:].upper()}",
        )

    def callback_verified(self, headers: Mapping[str, str]) -> bool:
        return False  # the sandbox never calls back, so no callback is its

    def callback_parse(self, payload: object) -> PaymentCallback | None:
        return None
