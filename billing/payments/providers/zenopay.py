"""ZenoPay: Tanzanian mobile money (M-Pesa, Tigo Pesa, Airtel Money, Halopesa), from its
published API. Every call carries `x-api-key: ZENOPAY_API_KEY`; the base is ZENOPAY_BASE_URL.

    POST {base}/mobile_money_tanzania  {order_id, buyer_email, buyer_name,
        buyer_phone: "07XXXXXXXX", amount: <integer TZS>, webhook_url}
        -> {"status": "success", "order_id": ..., "message": ...}
    GET {base}/order-status?order_id=...
        -> {"result": "SUCCESS", "data": [{order_id, payment_status: COMPLETED | PENDING |
            FAILED | CANCELLED, amount, reference, transid, channel, msisdn}]}

Its callback carries {order_id, payment_status, reference} and the same x-api-key header.
"""

import functools
import hmac
import logging
from collections.abc import Mapping
from decimal import Decimal, InvalidOperation
from typing import Any

import requests
from django.conf import settings

from billing.payments.providers.base import (
    PaymentCallback,
    PaymentOrder,
    PaymentProvider,
    PaymentStarted,
    PaymentState,
    PaymentStatus,
)

logger = logging.getLogger(__name__)

API_KEY_HEADER = "x-api-key"
CURRENCY = "TZS"
STATES = {
    "COMPLETED": PaymentState.COMPLETED,
    "SUCCESS": PaymentState.COMPLETED,
    "PENDING": PaymentState.PENDING,
    "FAILED": PaymentState.FAILED,
    "CANCELLED": PaymentState.CANCELLED,
}


def local_phone(e164: str) -> str:
    """+255712345678 as ZenoPay takes it: 0712345678."""
    return "0" + e164.removeprefix("+")[-9:]


class ZenoPayProvider(PaymentProvider):
    name = "zenopay"
    methods = ("mobile_money",)
    currencies = (CURRENCY,)

    def __init__(self) -> None:
        self.base_url = settings.ZENOPAY_BASE_URL.rstrip("/")
        self.api_key = settings.ZENOPAY_API_KEY
        self.timeout = settings.ZENOPAY_TIMEOUT_SECONDS

    @functools.cached_property
    def session(self) -> requests.Session:
        session = requests.Session()
        session.headers[API_KEY_HEADER] = self.api_key
        return session

    def payment_start(self, order: PaymentOrder, *, webhook_url: str) -> PaymentStarted:
        if not self.api_key:
            return PaymentStarted(accepted=False, error="ZENOPAY_API_KEY is not set.")
        body: dict[str, Any] = {
            "order_id": order.order_id,
            "buyer_email": order.buyer_email,
            "buyer_name": order.buyer_name,
            "buyer_phone": local_phone(order.phone),
            "amount": int(order.amount),
            "webhook_url": webhook_url,
        }
        url = f"{self.base_url}/mobile_money_tanzania"
        try:
            response = self.session.post(url, json=body, timeout=self.timeout)
        except requests.RequestException as exc:
            # It may have the order: its status, asked later, tells.
            return PaymentStarted(accepted=False, transient=True, error=f"ZenoPay: {exc}"[:255])
        answer = _json(response)
        if response.ok and str(answer.get("status", "")).lower() == "success":
            return PaymentStarted(accepted=True)
        message = str(answer.get("message") or response.reason or "refused")
        error = f"ZenoPay: HTTP {response.status_code} {message}"[:255]
        return PaymentStarted(accepted=False, transient=response.status_code >= 500, error=error)

    def payment_status(self, order: PaymentOrder) -> PaymentStatus:
        url = f"{self.base_url}/order-status"
        try:
            response = self.session.get(
                url, params={"order_id": order.order_id}, timeout=self.timeout
            )
        except requests.RequestException as exc:
            return PaymentStatus(state=PaymentState.UNKNOWN, detail=f"ZenoPay: {exc}"[:255])
        rows = _json(response).get("data")
        row = next(
            (
                r
                for r in (rows if isinstance(rows, list) else [])
                if isinstance(r, dict) and str(r.get("order_id")) == order.order_id
            ),
            None,
        )
        if not response.ok or row is None:
            detail = f"ZenoPay: HTTP {response.status_code}, no status for the order"
            return PaymentStatus(state=PaymentState.UNKNOWN, detail=detail)
        state = STATES.get(str(row.get("payment_status", "")).upper(), PaymentState.UNKNOWN)
        amount = _decimal(row.get("amount"))
        if state == PaymentState.COMPLETED and amount is None:
            return PaymentStatus(state=PaymentState.UNKNOWN, detail="ZenoPay: paid, no amount")
        return PaymentStatus(
            state=state,
            amount=amount,
            currency=CURRENCY,
            reference=str(row.get("reference") or "")[:100],
            transid=str(row.get("transid") or "")[:100],
            detail=f"ZenoPay: {row.get('payment_status')}",
        )

    def callback_verified(self, headers: Mapping[str, str]) -> bool:
        given = headers.get(API_KEY_HEADER, "")
        return bool(self.api_key) and hmac.compare_digest(given.encode(), self.api_key.encode())

    def callback_parse(self, payload: object) -> PaymentCallback | None:
        if not isinstance(payload, dict):
            return None
        order_id = payload.get("order_id")
        if not isinstance(order_id, str) or not order_id or len(order_id) > 64:
            return None
        return PaymentCallback(
            order_id=order_id,
            payment_status=str(payload.get("payment_status") or "")[:32].upper(),
            reference=str(payload.get("reference") or "")[:100],
        )


def _json(response: requests.Response) -> dict[str, Any]:
    try:
        body = response.json()
    except ValueError:
        return {}
    return body if isinstance(body, dict) else {}


def _decimal(value: object) -> Decimal | None:
    try:
        amount = Decimal(str(value))
    except (InvalidOperation, ValueError):
        return None
    return amount if amount.is_finite() else None
