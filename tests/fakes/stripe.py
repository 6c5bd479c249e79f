"""A fake Stripe API (Checkout Sessions) on a real socket, for the test suite and manual runs,
from Stripe's published formats:

    python -m tests.fakes.stripe --port 9004 [--secret-key KEY]

Every request must carry `Authorization: Bearer <secret key>`; a wrong one is HTTP 401
{"error": {"type": "invalid_request_error", "message": ...}}.

    POST /v1/checkout/sessions  (form-encoded, brackets for nesting: mode=payment,
        line_items[0][price_data][currency]=tzs, line_items[0][price_data][unit_amount]=...,
        line_items[0][quantity]=1, metadata[order_id]=..., client_reference_id, success_url,
        cancel_url, customer_email)  -> a Checkout Session object
    GET /v1/checkout/sessions/{id}  -> the Checkout Session object

A session is open and unpaid until the payer acts: `complete(session_id)` (optionally paying
another `amount_total`) or `expire(session_id)`. `event(session_id, type)` builds the Event
Stripe would POST, and `sign(payload, secret)` its Stripe-Signature header
(t=<unix time>,v1=<hex HMAC-SHA256 of "t.payload" keyed with the endpoint secret>).
"""

import hashlib
import hmac
import json
import re
import secrets
import threading
import time
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


class FakeStripe(FakeServer):
    def __init__(self, *, secret_key: str = SECRET_KEY, **options) -> None:
        super().__init__(**options)
        self.secret_key = secret_key
        self.sessions: dict[str, dict[str, Any]] = {}
        self._sessions_lock = threading.Lock()
        self._by_idempotency_key: dict[str, str] = {}

    def handle(self, request: FakeRequest) -> Answer:
        if request.headers.get("Authorization") != f"Bearer {self.secret_key}":
            return 401, self.error_body(401, None)
        if (request.method, request.path) == ("POST", SESSIONS_PATH):
            return self.send_fault() or self._create(request)
        found = SESSION_PATH.match(request.path)
        if request.method == "GET" and found:
            session = self.sessions.get(found.group(1))
            if session is None:
                return 404, _error(
                    f"No such checkout.session: '{found.group(1)}'", "resource_missing"
                )
            return 200, session
        return 404, _error(f"Unrecognized request URL ({request.method}: {request.path}).")

    def _create(self, request: FakeRequest) -> Answer:
        form = request.form()
        key = request.headers.get("Idempotency-Key") or ""
        with self._sessions_lock:
            if key and key in self._by_idempotency_key:
                return 200, self.sessions[self._by_idempotency_key[key]]
        if form.get("mode") != "payment":
            return 400, _error("This fake takes mode=payment only.", "parameter_invalid", "mode")
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
            "livemode": False,
            "metadata": {
                name[len("metadata[") : -1]: value
                for name, value in form.items()
                if name.startswith("metadata[")
            },
            "mode": "payment",
            "payment_intent": None,
            "payment_status": "unpaid",
            "status": "open",
            "success_url": form["success_url"],
            "url": f"https://checkout.stripe.com/c/pay/{session_id}",
        }
        with self._sessions_lock:
            self.sessions[session_id] = session
            if key:
                self._by_idempotency_key[key] = session_id
        return 200, session

    def complete(self, session_id: str, *, amount_total: int | None = None) -> None:
        """The payer paid by card: the session is complete and paid (for `amount_total` if
        given, a mismatch)."""
        session = self.sessions[session_id]
        session.update(status="complete", payment_status="paid", payment_intent=_id("pi"))
        if amount_total is not None:
            session["amount_total"] = amount_total

    def expire(self, session_id: str) -> None:
        self.sessions[session_id].update(status="expired", url=None)

    def event(self, session_id: str, event_type: str = "checkout.session.completed") -> str:
        """The Event Stripe POSTs about a session, as JSON text."""
        return event_json(event_type, dict(self.sessions[session_id]))

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


def _error(message: str, code: str | None = None, param: str | None = None) -> dict[str, Any]:
    error: dict[str, Any] = {"type": "invalid_request_error", "message": message}
    if code:
        error["code"] = code
    if param:
        error["param"] = param
    return {"error": error}


def main() -> None:
    parser = command_line("A fake Stripe Checkout API.")
    parser.add_argument("--secret-key", default=SECRET_KEY)
    options = vars(parser.parse_args())
    serve_until_interrupted(FakeStripe(**options))


if __name__ == "__main__":
    main()
