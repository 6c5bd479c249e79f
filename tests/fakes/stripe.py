"""A fake Stripe API (Checkout Sessions, subscriptions and their invoices) on a real socket, for
the test suite and manual runs, from Stripe's published formats (API version 2025-06-30.basil):

    python -m tests.fakes.stripe --port 9004 [--secret-key KEY]

Every request must carry `Authorization: Bearer <secret key>`; a wrong one is HTTP 401
{"error": {"type": "invalid_request_error", "message": ...}}.

    POST /v1/checkout/sessions  (form-encoded, brackets for nesting: mode=payment|subscription,
        line_items[0][price_data][currency]=tzs, line_items[0][price_data][unit_amount]=...,
        line_items[0][price_data][recurring][interval]=month|year (subscription mode),
        line_items[0][quantity]=1, metadata[...], subscription_data[metadata][...],
        client_reference_id, success_url, cancel_url, customer_email)  -> a Checkout Session
    GET /v1/checkout/sessions/{id}  -> the Checkout Session object
    POST /v1/refunds  payment_intent, amount (minor units)  -> a Refund of a paid session
    GET /v1/subscriptions/{id}  -> the Subscription (its period on items.data[0])
    POST /v1/subscriptions/{id}  cancel_at_period_end=true|false  -> the Subscription
    GET /v1/invoices/{id}  -> the Invoice (its subscription at parent.subscription_details,
        its period on lines.data[0].period)

A session is open and unpaid until the payer acts: `complete(session_id)` (optionally paying
another `amount_total`) or `expire(session_id)`. Completing a subscription-mode session makes
a customer, an active subscription (one item, the first period) and its paid invoice, as
Stripe does. Then `renew(sub_id)` bills the next period (a new paid invoice),
`fail_renewal(sub_id)` moves to the next period unpaid (an open invoice, the subscription
past_due) and `delete_subscription(sub_id)` ends it (canceled). `event(object_id, type)`
builds the Event Stripe would POST about any of these objects, `event_json(type, object)` one
about any body, and `sign(payload, secret)` its Stripe-Signature header
(t=<unix time>,v1=<hex HMAC-SHA256 of "t.payload" keyed with the endpoint secret>).
"""

import calendar
import hashlib
import hmac
import json
import re
import secrets
import threading
import time
from datetime import UTC, datetime
from typing import Any

from tests.fakes.server import (
    Answer,
    FakeRequest,
    FakeServer,
    command_line,
    serve_until_interrupted,
)

SECRET_KEY = "sk_test_fake_stripe"
WEBHOOK_SECRET = "whsec_test_fake_stripe"
API_VERSION = "2025-06-30.basil"
SESSIONS_PATH = "/v1/checkout/sessions"
SESSION_PATH = re.compile(r"^/v1/checkout/sessions/(cs_test_\w+)$")
SUBSCRIPTION_PATH = re.compile(r"^/v1/subscriptions/(sub_test_\w+)$")
INVOICE_PATH = re.compile(r"^/v1/invoices/(in_test_\w+)$")
INTERVALS = ("day", "week", "month", "year")
REFUNDS_PATH = "/v1/refunds"


def _id(prefix: str) -> str:
    return f"{prefix}_test_{secrets.token_hex(12)}"


def sign(
    payload: str | bytes, secret: str = WEBHOOK_SECRET, *, timestamp: int | None = None
) -> str:
    """The Stripe-Signature header for `payload`: what Stripe sends with each event."""
    text = payload.decode() if isinstance(payload, bytes) else payload
    at = int(time.time()) if timestamp is None else timestamp
    digest = hmac.new(secret.encode(), f"{at}.{text}".encode(), hashlib.sha256).hexdigest()
    return f"t={at},v1={digest}"


def sign_rotating(payload: str | bytes, secrets_in_use: list[str]) -> str:
    """One header with a v1 signature per secret, as Stripe sends while a secret is rolled."""
    at = int(time.time())
    signatures = [sign(payload, secret, timestamp=at).split(",", 1)[1] for secret in secrets_in_use]
    return ",".join([f"t={at}", *signatures])


def period_end(start: int, interval: str) -> int:
    """One `interval` after `start` (Unix time), by the calendar as Stripe bills: a month
    from 31 January is the last day of February."""
    moment = datetime.fromtimestamp(start, tz=UTC)
    if interval in ("day", "week"):
        return start + (86400 if interval == "day" else 7 * 86400)
    months = 1 if interval == "month" else 12
    year, month = divmod(moment.month - 1 + months, 12)
    year, month = moment.year + year, month + 1
    day = min(moment.day, calendar.monthrange(year, month)[1])
    return int(moment.replace(year=year, month=month, day=day).timestamp())


class FakeStripe(FakeServer):
    def __init__(self, *, secret_key: str = SECRET_KEY, **options) -> None:
        super().__init__(**options)
        self.secret_key = secret_key
        self.sessions: dict[str, dict[str, Any]] = {}
        self.subscriptions: dict[str, dict[str, Any]] = {}
        self.invoices: dict[str, dict[str, Any]] = {}
        self.customers: dict[str, dict[str, Any]] = {}
        # What a subscription-mode session bills (Stripe keeps it as the session's line items).
        self._prices: dict[str, dict[str, Any]] = {}
        self._objects_lock = threading.Lock()
        self._by_idempotency_key: dict[str, str] = {}
        self.refunds: dict[str, dict[str, Any]] = {}

    def handle(self, request: FakeRequest) -> Answer:
        if request.headers.get("Authorization") != f"Bearer {self.secret_key}":
            return 401, self.error_body(401, None)
        if (request.method, request.path) == ("POST", SESSIONS_PATH):
            return self.send_fault() or self._create(request)
        if (request.method, request.path) == ("POST", REFUNDS_PATH):
            return self.send_fault() or self._refund(request.form(), request.headers)
        for pattern, objects, kind in (
            (SESSION_PATH, self.sessions, "checkout.session"),
            (SUBSCRIPTION_PATH, self.subscriptions, "subscription"),
            (INVOICE_PATH, self.invoices, "invoice"),
        ):
            found = pattern.match(request.path)
            if found is None:
                continue
            answer = objects.get(found.group(1))
            if answer is None:
                return 404, _error(f"No such {kind}: '{found.group(1)}'", "resource_missing")
            if request.method == "POST" and kind == "subscription":
                return self._update_subscription(answer, request.form())
            if request.method == "GET":
                return 200, answer
        return 404, _error(f"Unrecognized request URL ({request.method}: {request.path}).")

    def _create(self, request: FakeRequest) -> Answer:
        form = request.form()
        key = request.headers.get("Idempotency-Key") or ""
        with self._objects_lock:
            if key and key in self._by_idempotency_key:
                return 200, self.sessions[self._by_idempotency_key[key]]
        mode = form.get("mode")
        interval = form.get("line_items[0][price_data][recurring][interval]")
        if mode not in ("payment", "subscription"):
            return 400, _error("This fake takes mode=payment|subscription.", "parameter_invalid")
        if mode == "subscription" and interval not in INTERVALS:
            return 400, _error(
                "A subscription's price needs recurring[interval].", "parameter_missing"
            )
        try:
            unit_amount = int(form["line_items[0][price_data][unit_amount]"])
            quantity = int(form.get("line_items[0][quantity]", "1"))
            currency = form["line_items[0][price_data][currency]"]
        except (KeyError, ValueError):
            return 400, _error("Missing line_items[0][price_data].", "parameter_missing")
        if currency != currency.lower() or unit_amount <= 0:
            return 400, _error("Invalid currency or amount.", "parameter_invalid")
        for required in ("success_url", "cancel_url"):
            if not form.get(required):
                return 400, _error(f"Missing required param: {required}.", "parameter_missing")
        session_id = _id("cs")
        now = int(time.time())
        session = {
            "id": session_id,
            "object": "checkout.session",
            "amount_subtotal": unit_amount * quantity,
            "amount_total": unit_amount * quantity,
            "cancel_url": form["cancel_url"],
            "client_reference_id": form.get("client_reference_id"),
            "created": now,
            "currency": currency,
            "customer": None,
            "customer_email": form.get("customer_email"),
            "expires_at": now + 24 * 3600,
            "invoice": None,
            "livemode": False,
            "metadata": _nested(form, "metadata"),
            "mode": mode,
            "payment_intent": None,
            "payment_status": "unpaid",
            "status": "open",
            "subscription": None,
            "success_url": form["success_url"],
            "url": f"https://checkout.stripe.com/c/pay/{session_id}",
        }
        price = {
            "currency": currency,
            "unit_amount": unit_amount * quantity,
            "interval": interval,
            "product_name": form.get("line_items[0][price_data][product_data][name]", ""),
            "metadata": _nested(form, "subscription_data[metadata]"),
        }
        with self._objects_lock:
            self.sessions[session_id] = session
            self._prices[session_id] = price
            if key:
                self._by_idempotency_key[key] = session_id
        return 200, session

    def complete(self, session_id: str, *, amount_total: int | None = None) -> None:
        """The payer paid by card: the session is complete and paid (for `amount_total` if
        given, a mismatch). In subscription mode this starts the subscription."""
        session = self.sessions[session_id]
        if session["mode"] == "subscription":
            self._subscribe(session, self._prices[session_id])
            return
        session.update(status="complete", payment_status="paid", payment_intent=_id("pi"))
        if amount_total is not None:
            session["amount_total"] = amount_total

    def _subscribe(self, session: dict[str, Any], price: dict[str, Any]) -> None:
        now = int(time.time())
        customer = {"id": _id("cus"), "object": "customer", "email": session["customer_email"]}
        sub_id = _id("sub")
        item = {
            "id": _id("si"),
            "object": "subscription_item",
            "created": now,
            "current_period_start": now,
            "current_period_end": period_end(now, price["interval"]),
            "metadata": {},
            "price": {
                "id": _id("price"),
                "object": "price",
                "active": True,
                "currency": price["currency"],
                "product": _id("prod"),
                "recurring": {"interval": price["interval"], "interval_count": 1},
                "type": "recurring",
                "unit_amount": price["unit_amount"],
            },
            "quantity": 1,
            "subscription": sub_id,
        }
        subscription = {
            "id": sub_id,
            "object": "subscription",
            "billing_cycle_anchor": now,
            "cancel_at": None,
            "cancel_at_period_end": False,
            "canceled_at": None,
            "collection_method": "charge_automatically",
            "created": now,
            "currency": price["currency"],
            "customer": customer["id"],
            "ended_at": None,
            "items": {
                "object": "list",
                "data": [item],
                "has_more": False,
                "total_count": 1,
                "url": f"/v1/subscription_items?subscription={sub_id}",
            },
            "latest_invoice": None,
            "livemode": False,
            "metadata": dict(price["metadata"]),
            "start_date": now,
            "status": "active",
        }
        with self._objects_lock:
            self.customers[customer["id"]] = customer
            self.subscriptions[sub_id] = subscription
        invoice = self._bill(subscription, paid=True, reason="subscription_create")
        session.update(
            status="complete",
            payment_status="paid",
            customer=customer["id"],
            subscription=sub_id,
            invoice=invoice["id"],
        )

    def _bill(self, subscription: dict[str, Any], *, paid: bool, reason: str) -> dict[str, Any]:
        """The invoice of the subscription's current period, paid or left open."""
        item = subscription["items"]["data"][0]
        amount = item["price"]["unit_amount"]
        start, end = item["current_period_start"], item["current_period_end"]
        invoice_id = _id("in")
        invoice = {
            "id": invoice_id,
            "object": "invoice",
            "amount_due": amount,
            "amount_paid": amount if paid else 0,
            "amount_remaining": 0 if paid else amount,
            "attempt_count": 1,
            "attempted": True,
            "billing_reason": reason,
            "collection_method": "charge_automatically",
            "created": start,
            "currency": subscription["currency"],
            "customer": subscription["customer"],
            "lines": {
                "object": "list",
                "data": [
                    {
                        "id": _id("il"),
                        "object": "line_item",
                        "amount": amount,
                        "currency": subscription["currency"],
                        "invoice": invoice_id,
                        "parent": {
                            "type": "subscription_item_details",
                            "subscription_item_details": {
                                "subscription": subscription["id"],
                                "subscription_item": item["id"],
                            },
                        },
                        "period": {"start": start, "end": end},
                        "quantity": 1,
                    }
                ],
                "has_more": False,
                "total_count": 1,
                "url": f"/v1/invoices/{invoice_id}/lines",
            },
            "livemode": False,
            "parent": {
                "type": "subscription_details",
                "quote_details": None,
                "subscription_details": {
                    "metadata": dict(subscription["metadata"]),
                    "subscription": subscription["id"],
                },
            },
            # An invoice's own period ends where the one it bills starts: its line says which.
            "period_end": start,
            "period_start": start,
            "status": "paid" if paid else "open",
            "status_transitions": {"finalized_at": start, "paid_at": start if paid else None},
            "subtotal": amount,
            "total": amount,
        }
        with self._objects_lock:
            self.invoices[invoice_id] = invoice
        subscription["latest_invoice"] = invoice_id
        return invoice

    def _next_period(self, subscription: dict[str, Any]) -> None:
        item = subscription["items"]["data"][0]
        start = item["current_period_end"]
        interval = item["price"]["recurring"]["interval"]
        item.update(current_period_start=start, current_period_end=period_end(start, interval))

    def renew(self, subscription_id: str) -> str:
        """The next period is billed and paid; returns its invoice's id."""
        subscription = self.subscriptions[subscription_id]
        self._next_period(subscription)
        subscription["status"] = "active"
        return str(self._bill(subscription, paid=True, reason="subscription_cycle")["id"])

    def fail_renewal(self, subscription_id: str) -> str:
        """The next period is billed and the card declined: its invoice stays open and the
        subscription is past_due; returns the invoice's id."""
        subscription = self.subscriptions[subscription_id]
        self._next_period(subscription)
        subscription["status"] = "past_due"
        return str(self._bill(subscription, paid=False, reason="subscription_cycle")["id"])

    def delete_subscription(self, subscription_id: str) -> None:
        """The subscription ends now (canceled in the Dashboard, or after failed retries)."""
        now = int(time.time())
        self.subscriptions[subscription_id].update(status="canceled", canceled_at=now, ended_at=now)

    def _update_subscription(self, subscription: dict[str, Any], form: dict[str, str]) -> Answer:
        if subscription["status"] == "canceled":
            return 400, _error(
                "A canceled subscription can only update its cancellation_details and metadata."
            )
        if "cancel_at_period_end" in form:
            cancel = form["cancel_at_period_end"] == "true"
            end = subscription["items"]["data"][0]["current_period_end"]
            subscription.update(
                cancel_at_period_end=cancel,
                cancel_at=end if cancel else None,
                canceled_at=int(time.time()) if cancel else None,
            )
        return 200, subscription

    def _refund(self, form: dict[str, str], headers) -> Answer:
        """POST /v1/refunds payment_intent=pi_... [amount=minor units, default what is left]:
        a succeeded refund of a paid session's payment, never more than is left of it; the same
        Idempotency-Key answers the first refund again."""
        key = headers.get("Idempotency-Key") or ""
        intent = form.get("payment_intent") or ""
        with self._objects_lock:
            if key and key in self._by_idempotency_key:
                return 200, self.refunds[self._by_idempotency_key[key]]
            paid = [
                s for s in self.sessions.values() if intent and s.get("payment_intent") == intent
            ]
            if not paid:
                message = f"No such payment_intent: '{intent}'"
                return 400, _error(message, "resource_missing", "payment_intent")
            done = sum(r["amount"] for r in self.refunds.values() if r["payment_intent"] == intent)
            left = paid[0]["amount_total"] - done
            if left <= 0:
                message = f"Charge for {intent} has already been refunded."
                return 400, _error(message, "charge_already_refunded")
            amount = int(form.get("amount") or left)
            if not 0 < amount <= left:
                message = f"Refund amount ({amount}) is greater than unrefunded amount ({left})."
                return 400, _error(message, "amount_too_large", "amount")
            refund = {
                "id": _id("re"),
                "object": "refund",
                "amount": amount,
                "currency": paid[0]["currency"],
                "payment_intent": intent,
                "status": "succeeded",
                "created": int(time.time()),
                "metadata": {},
            }
            self.refunds[refund["id"]] = refund
            if key:
                self._by_idempotency_key[key] = refund["id"]
        return 200, refund

    def expire(self, session_id: str) -> None:
        self.sessions[session_id].update(status="expired", url=None)

    def event(self, object_id: str, event_type: str = "checkout.session.completed") -> str:
        """The Event Stripe POSTs about a session, subscription or invoice, as JSON text."""
        for objects in (self.sessions, self.subscriptions, self.invoices):
            if object_id in objects:
                return event_json(event_type, json.loads(json.dumps(objects[object_id])))
        raise KeyError(object_id)

    def error_body(self, status: int, code: int | None) -> object:
        if status == 401:
            return _error("Invalid API Key provided: sk_test_****", None)
        return {"error": {"type": "api_error", "message": "An unknown error occurred"}}


def event_json(event_type: str, data_object: dict[str, Any]) -> str:
    """An Event as Stripe sends it to a webhook endpoint."""
    return json.dumps(
        {
            "id": _id("evt"),
            "object": "event",
            "api_version": API_VERSION,
            "created": int(time.time()),
            "data": {"object": data_object},
            "livemode": False,
            "pending_webhooks": 1,
            "request": {"id": None, "idempotency_key": None},
            "type": event_type,
        }
    )


def _nested(form: dict[str, str], prefix: str) -> dict[str, str]:
    """`prefix[key]=value` fields of a form as {key: value}."""
    start = f"{prefix}["
    return {
        name[len(start) : -1]: value
        for name, value in form.items()
        if name.startswith(start) and name.endswith("]") and "[" not in name[len(start) :]
    }


def _error(message: str, code: str | None = None, param: str | None = None) -> dict[str, Any]:
    error: dict[str, Any] = {"type": "invalid_request_error", "message": message}
    if code:
        error["code"] = code
    if param:
        error["param"] = param
    return {"error": error}


def main() -> None:
    parser = command_line("A fake Stripe Checkout and Billing API.")
    parser.add_argument("--secret-key", default=SECRET_KEY)
    options = vars(parser.parse_args())
    serve_until_interrupted(FakeStripe(**options))


if __name__ == "__main__":
    main()
