"""Stripe: card payments through the official `stripe` package, one Checkout Session per order
(one-off purchases; subscriptions are not taken here yet).

    POST /v1/checkout/sessions  mode=payment, one line item of the order's amount in the
        currency's minor units, metadata[order_id], client_reference_id = order_id,
        success_url / cancel_url on FRONTEND_URL  -> {id: "cs_...", url, status: "open", ...}
    GET /v1/checkout/sessions/{id}  -> {status: open | complete | expired,
        payment_status: paid | unpaid | no_payment_required, amount_total, currency, ...}

Amounts go to Stripe in minor units: every currency taken here (TZS included) is a two-decimal
currency in Stripe, so 110,000 TZS is sent as 11000000. STRIPE_API_BASE points the client at a
fake; STRIPE_SECRET_KEY authenticates. Webhook events are verified with STRIPE_WEBHOOK_SECRET
(event_verified): the package checks every `v1` signature in Stripe-Signature, so events signed
during a secret's rotation verify, and refuses timestamps older than WEBHOOK_TOLERANCE_SECONDS.
"""

import functools
import logging
from collections.abc import Mapping
from decimal import Decimal

import stripe
from django.conf import settings
from stripe.params.checkout import SessionCreateParams

from billing.payments.providers.base import (
    PaymentCallback,
    PaymentOrder,
    PaymentProvider,
    PaymentStarted,
    PaymentState,
    PaymentStatus,
)

logger = logging.getLogger(__name__)

SIGNATURE_HEADER = "Stripe-Signature"
WEBHOOK_TOLERANCE_SECONDS = 300
# Minor units per major unit, as Stripe counts them for the currencies we sell in.
MINOR_UNITS = {"TZS": 100, "USD": 100, "KES": 100}


@functools.lru_cache(maxsize=4)
def _client(secret_key: str, api_base: str, timeout: float) -> stripe.StripeClient:
    # One client (and its connection pool) per configuration, not one per request.
    return stripe.StripeClient(
        secret_key,
        base_addresses={"api": api_base} if api_base else None,
        http_client=stripe.RequestsClient(timeout=timeout),
        max_network_retries=0,
    )


def minor_units(amount: Decimal, currency: str) -> int:
    """110000 TZS -> 11000000: Stripe's integer amount for `amount` in `currency`."""
    return int((amount * MINOR_UNITS[currency]).to_integral_value())


class StripeProvider(PaymentProvider):
    name = "stripe"
    methods = ("card",)
    currencies = tuple(MINOR_UNITS)

    def __init__(self) -> None:
        self.secret_key = settings.STRIPE_SECRET_KEY
        self.webhook_secret = settings.STRIPE_WEBHOOK_SECRET

    @property
    def client(self) -> stripe.StripeClient:
        return _client(self.secret_key, settings.STRIPE_API_BASE, settings.STRIPE_TIMEOUT_SECONDS)

    def payment_start(self, order: PaymentOrder, *, webhook_url: str) -> PaymentStarted:
        if not self.secret_key:
            return PaymentStarted(accepted=False, error="STRIPE_SECRET_KEY is not set.")
        frontend = settings.FRONTEND_URL.rstrip("/")
        params: SessionCreateParams = {
            "mode": "payment",
            "line_items": [
                {
                    "quantity": 1,
                    "price_data": {
                        "currency": order.currency.lower(),
                        "unit_amount": minor_units(order.amount, order.currency),
                        "product_data": {"name": f"SMS credits, order {order.order_id}"},
                    },
                }
            ],
            "metadata": {"order_id": order.order_id},
            "client_reference_id": order.order_id,
            "success_url": f"{frontend}/billing/payments/{order.order_id}?status=success",
            "cancel_url": f"{frontend}/billing/payments/{order.order_id}?status=cancelled",
        }
        if order.buyer_email:
            params["customer_email"] = order.buyer_email
        try:
            # The order id as idempotency key: a retried start gets the same session back.
            session = self.client.v1.checkout.sessions.create(
                params=params,
                options={"idempotency_key": f"checkout-{order.order_id}"},
            )
        except stripe.StripeError as exc:
            status = exc.http_status or 0
            transient = isinstance(exc, stripe.APIConnectionError) or status >= 500
            error = f"Stripe: HTTP {status} {exc.user_message or exc}"[:255]
            return PaymentStarted(accepted=False, transient=transient, error=error)
        return PaymentStarted(
            accepted=True, payment_url=session.url or "", provider_reference=session.id
        )

    def payment_status(self, order: PaymentOrder) -> PaymentStatus:
        if not order.provider_reference:
            return PaymentStatus(state=PaymentState.UNKNOWN, detail="Stripe: no session")
        try:
            session = self.client.v1.checkout.sessions.retrieve(order.provider_reference)
        except stripe.StripeError as exc:
            return PaymentStatus(state=PaymentState.UNKNOWN, detail=f"Stripe: {exc}"[:255])
        if session.client_reference_id != order.order_id:
            # A session of another order must never pay for this one.
            return PaymentStatus(state=PaymentState.UNKNOWN, detail="Stripe: another order")
        detail = f"Stripe: {session.status} / {session.payment_status}"
        if session.payment_status == "paid":
            currency = (session.currency or "").upper()
            if session.amount_total is None or currency not in MINOR_UNITS:
                return PaymentStatus(state=PaymentState.UNKNOWN, detail=f"{detail}, no amount")
            return PaymentStatus(
                state=PaymentState.COMPLETED,
                amount=Decimal(session.amount_total) / MINOR_UNITS[currency],
                currency=currency,
                reference=session.id,
                transid=_id_of(session.payment_intent),
                detail=detail,
            )
        if session.status == "expired":
            return PaymentStatus(state=PaymentState.FAILED, detail="Stripe: the checkout expired")
        return PaymentStatus(state=PaymentState.PENDING, detail=detail)

    def callback_verified(self, headers: Mapping[str, str]) -> bool:
        return False  # Stripe signs the body as well: event_verified checks both

    def callback_parse(self, payload: object) -> PaymentCallback | None:
        """The order a verified event's Checkout Session is about (its metadata, else its
        client_reference_id), or None for an event about no Checkout Session."""
        if not isinstance(payload, dict):
            return None
        event_type = payload.get("type")
        data = payload.get("data")
        session = data.get("object") if isinstance(data, dict) else None
        if not isinstance(event_type, str) or not isinstance(session, dict):
            return None
        if session.get("object") != "checkout.session":
            return None
        metadata = session.get("metadata")
        order_id = (
            metadata.get("order_id") if isinstance(metadata, dict) else None
        ) or session.get("client_reference_id")
        if not isinstance(order_id, str) or not order_id or len(order_id) > 64:
            return None
        return PaymentCallback(
            order_id=order_id,
            payment_status=event_type[:32],
            reference=str(session.get("id") or "")[:100],
        )

    def event_verified(self, payload: bytes, signature: str) -> bool:
        """Whether Stripe-Signature proves a webhook body is Stripe's, fresh (at most
        WEBHOOK_TOLERANCE_SECONDS old) and signed with STRIPE_WEBHOOK_SECRET."""
        if not self.webhook_secret or not signature:
            return False
        try:
            stripe.Webhook.construct_event(
                payload,
                signature,
                self.webhook_secret,
                tolerance=WEBHOOK_TOLERANCE_SECONDS,
                api_key=self.secret_key or None,
            )
        except (stripe.SignatureVerificationError, ValueError) as exc:
            logger.info("Refused a Stripe webhook: %s", exc)
            return False
        return True


def _id_of(value: object) -> str:
    """An expandable field's id, whether Stripe sent the id or the object."""
    if isinstance(value, str):
        return value[:100]
    found = getattr(value, "id", "") or ""
    return str(found)[:100]
