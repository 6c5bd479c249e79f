"""Stripe: card payments through the official `stripe` package. A one-off purchase is one
Checkout Session per order; a plan paid by card is a Stripe subscription started through a
Checkout Session in subscription mode, whose periods Stripe charges and invoices itself.

    POST /v1/checkout/sessions  mode=payment, one line item of the order's amount in the
        currency's minor units, metadata[order_id], client_reference_id = order_id,
        success_url / cancel_url on FRONTEND_URL  -> {id: "cs_...", url, status: "open", ...}
    POST /v1/checkout/sessions  mode=subscription, one line item whose price_data recurs
        (recurring[interval] = month | year), metadata[subscription_id] and
        subscription_data[metadata][subscription_id] (our Subscription's id, which the Stripe
        subscription then carries), client_reference_id = our subscription id
    GET /v1/checkout/sessions/{id}  -> {status: open | complete | expired, mode,
        payment_status: paid | unpaid | no_payment_required, amount_total, currency,
        subscription: "sub_..." (subscription mode, once complete), ...}
    GET /v1/subscriptions/{id}  -> {customer, status, cancel_at_period_end, metadata,
        items: {data: [{current_period_start, current_period_end}]}}; API versions before
        2025-03-31 have the period on the subscription itself, which is read as well
    POST /v1/subscriptions/{id}  cancel_at_period_end=true: it ends when its period does
    GET /v1/invoices/{id}  -> {status: draft | open | paid | uncollectible | void, amount_paid,
        currency, parent: {subscription_details: {subscription}} (before 2025-03-31 a top-level
        `subscription`), lines: {data: [{period: {start, end}}]}}

Amounts go to Stripe in minor units: every currency taken here (TZS included) is a two-decimal
currency in Stripe, so 110,000 TZS is sent as 11000000. STRIPE_API_BASE points the client at a
fake; STRIPE_SECRET_KEY authenticates. Webhook events are verified with STRIPE_WEBHOOK_SECRET
(event_verified): the package checks every `v1` signature in Stripe-Signature, so events signed
during a secret's rotation verify, and refuses timestamps older than WEBHOOK_TOLERANCE_SECONDS.
An event is a hint to ask: what Stripe answers about the session, subscription or invoice
(the `*_retrieve` methods) is what is applied.
"""

import functools
import logging
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

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
INTERVALS = ("month", "year")


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


@dataclass(frozen=True, slots=True)
class StripeSubscription:
    """A Stripe subscription as Stripe answers for it. `subscription_id` is ours, from the
    metadata we gave it at checkout ("" if it carries none); the period is None when Stripe
    gave none."""

    id: str
    customer: str
    status: str
    current_period_start: datetime | None
    current_period_end: datetime | None
    cancel_at_period_end: bool
    subscription_id: str


@dataclass(frozen=True, slots=True)
class StripeInvoice:
    """A Stripe invoice as Stripe answers for it: what was paid (major units, in `currency`,
    upper case), for which Stripe subscription ("" for none) and which period (its first
    line's)."""

    id: str
    status: str
    amount_paid: Decimal
    currency: str
    subscription: str
    period_start: datetime | None
    period_end: datetime | None

    @property
    def paid(self) -> bool:
        return self.status == "paid"


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
        # The order id as idempotency key: a retried start gets the same session back.
        return self._checkout_start(params, idempotency_key=f"checkout-{order.order_id}")

    def subscription_checkout_start(
        self,
        *,
        subscription_id: str,
        plan_name: str,
        amount: Decimal,
        currency: str,
        interval: str,
        customer_email: str,
        attempt: int = 1,
    ) -> PaymentStarted:
        """A Checkout Session that starts a Stripe subscription of `amount` every `interval`
        ("month" or "year") for our subscription `subscription_id`. The same subscription and
        `attempt` get the same session back."""
        if not self.secret_key:
            return PaymentStarted(accepted=False, error="STRIPE_SECRET_KEY is not set.")
        if interval not in INTERVALS or currency not in MINOR_UNITS:
            return PaymentStarted(accepted=False, error=f"Stripe: no {interval} {currency} price")
        frontend = settings.FRONTEND_URL.rstrip("/")
        metadata = {"subscription_id": subscription_id}
        params: SessionCreateParams = {
            "mode": "subscription",
            "line_items": [
                {
                    "quantity": 1,
                    "price_data": {
                        "currency": currency.lower(),
                        "unit_amount": minor_units(amount, currency),
                        "recurring": {"interval": interval},
                        "product_data": {"name": f"Mifumo {plan_name}"},
                    },
                }
            ],
            "metadata": metadata,
            "subscription_data": {"metadata": metadata},
            "client_reference_id": subscription_id,
            "success_url": f"{frontend}/billing/subscription?status=success",
            "cancel_url": f"{frontend}/billing/subscription?status=cancelled",
        }
        if customer_email:
            params["customer_email"] = customer_email
        key = f"subscription-checkout-{subscription_id}-{attempt}"
        return self._checkout_start(params, idempotency_key=key)

    def _checkout_start(
        self, params: SessionCreateParams, *, idempotency_key: str
    ) -> PaymentStarted:
        try:
            session = self.client.v1.checkout.sessions.create(
                params=params, options={"idempotency_key": idempotency_key}
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

    def checkout_subscription_id(self, session_id: str) -> str | None:
        """The Stripe subscription a completed subscription-mode Checkout Session started, as
        Stripe answers for the session; None for any other session, or when it cannot say."""
        try:
            session = self.client.v1.checkout.sessions.retrieve(session_id)
        except stripe.StripeError as exc:
            logger.info("Stripe did not answer for session %s: %s", session_id, exc)
            return None
        if session.mode != "subscription" or session.status != "complete":
            return None
        return _id_of(session.subscription) or None

    def subscription_retrieve(self, stripe_subscription_id: str) -> StripeSubscription | None:
        """The Stripe subscription as Stripe answers for it now, or None when it cannot say."""
        try:
            found = self.client.v1.subscriptions.retrieve(stripe_subscription_id)
        except stripe.StripeError as exc:
            logger.info("Stripe did not answer for %s: %s", stripe_subscription_id, exc)
            return None
        return subscription_parse(found.to_dict())

    def invoice_retrieve(self, invoice_id: str) -> StripeInvoice | None:
        """The invoice as Stripe answers for it now, or None when it cannot say."""
        try:
            found = self.client.v1.invoices.retrieve(invoice_id)
        except stripe.StripeError as exc:
            logger.info("Stripe did not answer for %s: %s", invoice_id, exc)
            return None
        return invoice_parse(found.to_dict())

    def subscription_cancel_at_period_end(self, stripe_subscription_id: str) -> bool:
        """Ask Stripe to end the subscription when its period does; whether Stripe says so."""
        try:
            found = self.client.v1.subscriptions.update(
                stripe_subscription_id, params={"cancel_at_period_end": True}
            )
        except stripe.StripeError as exc:
            logger.warning("Stripe did not cancel %s: %s", stripe_subscription_id, exc)
            return False
        return found.cancel_at_period_end is True

    def callback_verified(self, headers: Mapping[str, str]) -> bool:
        return False  # Stripe signs the body as well: event_verified checks both

    def callback_parse(self, payload: object) -> PaymentCallback | None:
        """The order a verified event's one-off Checkout Session is about (its metadata, else
        its client_reference_id), or None for an event about no such session (a subscription's
        session names our subscription, not an order)."""
        if not isinstance(payload, dict):
            return None
        event_type = payload.get("type")
        data = payload.get("data")
        session = data.get("object") if isinstance(data, dict) else None
        if not isinstance(event_type, str) or not isinstance(session, dict):
            return None
        if session.get("object") != "checkout.session" or session.get("mode") == "subscription":
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

    def refund(self, *, payment_intent: str, amount: Decimal, currency: str) -> tuple[bool, str]:
        """Give `amount` of a card payment back (POST /v1/refunds on its payment intent):
        (True, the refund's id) or (False, why not). The same refund asked again is answered
        with the first one (the idempotency key), so a retry never refunds twice."""
        if not self.secret_key:
            return False, "STRIPE_SECRET_KEY is not set."
        minor = minor_units(amount, currency)
        try:
            refund = self.client.v1.refunds.create(
                params={"payment_intent": payment_intent, "amount": minor},
                options={"idempotency_key": f"refund-{payment_intent}-{minor}"},
            )
        except stripe.StripeError as exc:
            return False, f"Stripe: HTTP {exc.http_status or 0} {exc.user_message or exc}"[:255]
        if refund.status in ("failed", "canceled"):
            return False, f"Stripe: refund {refund.id} is {refund.status}"[:255]
        return True, refund.id


def subscription_parse(data: Mapping[str, Any]) -> StripeSubscription | None:
    """A subscription object (as JSON) read, the period from its first item (API versions
    from 2025-03-31) or from the subscription itself (before); None without an id or status."""
    sub_id, status = data.get("id"), data.get("status")
    if not isinstance(sub_id, str) or not sub_id or not isinstance(status, str):
        return None
    items = _dict(data.get("items")).get("data")
    item = _dict(items[0]) if isinstance(items, list) and items else {}
    start = item.get("current_period_start", data.get("current_period_start"))
    end = item.get("current_period_end", data.get("current_period_end"))
    our_id = _dict(data.get("metadata")).get("subscription_id")
    return StripeSubscription(
        id=sub_id,
        customer=_id_of(data.get("customer")),
        status=status,
        current_period_start=_moment(start),
        current_period_end=_moment(end),
        cancel_at_period_end=data.get("cancel_at_period_end") is True,
        subscription_id=our_id if isinstance(our_id, str) else "",
    )


def invoice_parse(data: Mapping[str, Any]) -> StripeInvoice | None:
    """An invoice object (as JSON) read; None without an id or status, or in a currency not
    sold here. Its subscription is at parent.subscription_details (API versions from
    2025-03-31) or at the top (before)."""
    invoice_id, status = data.get("id"), data.get("status")
    currency = str(data.get("currency") or "").upper()
    paid = data.get("amount_paid")
    if not isinstance(invoice_id, str) or not invoice_id or not isinstance(status, str):
        return None
    if currency not in MINOR_UNITS or not isinstance(paid, int):
        return None
    details = _dict(_dict(data.get("parent")).get("subscription_details"))
    lines = _dict(data.get("lines")).get("data")
    period = _dict(_dict(lines[0]).get("period")) if isinstance(lines, list) and lines else {}
    return StripeInvoice(
        id=invoice_id,
        status=status,
        amount_paid=Decimal(paid) / MINOR_UNITS[currency],
        currency=currency,
        subscription=_id_of(details.get("subscription") or data.get("subscription")),
        period_start=_moment(period.get("start")),
        period_end=_moment(period.get("end")),
    )


def _dict(value: object) -> Mapping[str, Any]:
    return value if isinstance(value, Mapping) else {}


def _moment(value: object) -> datetime | None:
    """A Unix timestamp as an aware datetime (UTC), or None."""
    if not isinstance(value, int) or isinstance(value, bool):
        return None
    return datetime.fromtimestamp(value, tz=UTC)


def _id_of(value: object) -> str:
    """An expandable field's id, whether Stripe sent the id or the object."""
    if isinstance(value, str):
        return value[:100]
    if isinstance(value, Mapping):
        value = value.get("id")
        return value[:100] if isinstance(value, str) else ""
    found = getattr(value, "id", "") or ""
    return str(found)[:100]
