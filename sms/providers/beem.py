"""Beem Africa SMS: sends, the account balance, the connection check and delivery reports.

One send request carries one text from one sender to up to BEEM_MAX_RECIPIENTS_PER_REQUEST
recipients, and Beem answers for the request as a whole: every message in it shares the outcome,
and Beem's request_id becomes each one's provider_message_id. Our reference goes out as the
recipient's `recipient_id` and comes back in its delivery report.

Beem pushes delivery reports unsigned, one JSON object (or a list of them) per callback:

    {"request_id": 123, "recipient_id": "<our reference>", "dest_addr": "255712345678",
     "status": "DELIVERED", "timestamp": "2026-11-23T10:00:00Z"}

Key capitalisation varies (`status`, `Status`), so keys are matched ignoring case and `_`.
"""

import functools
import json
import logging
from collections import defaultdict
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any, Self

from django.conf import settings

from sms.providers.base import (
    ConnectionCheck,
    OutboundSms,
    SendContext,
    SendResult,
    SmsProvider,
    StatusReport,
    requests_in_flight,
)
from sms.providers.http_pool import (
    HttpAnswer,
    HttpFailure,
    HttpPool,
    HttpRequest,
    basic_authorization,
)
from sms.segments import UCS2, segment_info

logger = logging.getLogger(__name__)

SUBMITTED = 100
# Beem's other answer codes: (what it means, whether a retry may succeed).
ERROR_CODES = {
    101: ("Invalid phone number", False),
    # Our platform account can be topped up, after which the same request succeeds.
    102: ("Insufficient balance", True),
    103: ("Request timed out", True),
    104: ("Missing parameters", False),
    105: ("Account not found", False),
    106: ("No route for the destination", False),
    107: ("Authentication failed", False),
    108: ("Authentication failed", False),
}
DELIVERY_STATUSES = {
    "DELIVERED": "delivered",
    "UNDELIVERED": "undelivered",
    "EXPIRED": "undelivered",
    "REJECTED": "undelivered",
    "FAILED": "failed",
    "PENDING": "sent",
    "SENT": "sent",
    "ACCEPTED": "sent",
    "SUBMITTED": "sent",
    "ENROUTE": "sent",
}
NOT_CONFIGURED = "BEEM_API_KEY and BEEM_SECRET_KEY are not set."


class BeemError(Exception):
    """Beem could not be reached, or refused a request that is not a send."""


class BeemProvider(SmsProvider):
    name = "beem"
    # Delivery reports name no tenant, so the outbox records where each request_id belongs.
    routes_callbacks = True
    required_credentials = ("api_key", "secret_key")

    def __init__(self) -> None:
        self.send_url = settings.BEEM_SEND_URL
        self.balance_url = settings.BEEM_BALANCE_URL
        self.timeout = settings.BEEM_TIMEOUT_SECONDS
        self.max_recipients = settings.BEEM_MAX_RECIPIENTS_PER_REQUEST
        self._use_account(settings.BEEM_API_KEY, settings.BEEM_SECRET_KEY)

    @classmethod
    def with_credentials(cls, credentials: Mapping[str, str]) -> Self:
        provider = cls()
        provider._use_account(credentials.get("api_key", ""), credentials.get("secret_key", ""))
        return provider

    def _use_account(self, api_key: str, secret_key: str) -> None:
        self._auth = (api_key, secret_key)
        self.configured = bool(api_key and secret_key)

    @functools.cached_property
    def http(self) -> HttpPool:
        """Kept connections, one for each request in flight. Made on first use: reading a
        delivery report (thousands a second) needs none."""
        return HttpPool(
            size=requests_in_flight(),
            timeout=self.timeout,
            headers={
                "Authorization": basic_authorization(*self._auth),
                "Content-Type": "application/json",
            },
        )

    def send_batch(self, messages: list[OutboundSms], context: SendContext) -> list[SendResult]:
        if not self.configured:
            outcome = _failure("BEEM_NOT_CONFIGURED", NOT_CONFIGURED)
            return [SendResult(reference=m.reference, **outcome) for m in messages]
        groups: dict[tuple[str, str, str], list[OutboundSms]] = defaultdict(list)
        for message in messages:
            groups[(message.text, message.sender, message.encoding)].append(message)
        chunks = [
            group[start : start + self.max_recipients]
            for group in groups.values()
            for start in range(0, len(group), self.max_recipients)
        ]
        # A personalised batch is a request per recipient, many in flight at once.
        answers = self.http.run([self._send_request(chunk) for chunk in chunks])
        return [
            SendResult(reference=m.reference, **_send_outcome(answer))
            for chunk, answer in zip(chunks, answers, strict=True)
            for m in chunk
        ]

    def _send_request(self, chunk: list[OutboundSms]) -> HttpRequest:
        """One send request for messages that share text, sender and encoding."""
        first = chunk[0]
        body: dict[str, Any] = {
            "source_addr": first.sender,
            "encoding": _encoding(first),
            "schedule_time": "",
            "message": first.text,
            "recipients": [
                {"recipient_id": m.reference, "dest_addr": m.to.removeprefix("+")} for m in chunk
            ],
        }
        return HttpRequest("POST", self.send_url, json.dumps(body).encode())

    def balance(self) -> dict[str, Any]:
        (response,) = self.http.run([HttpRequest("GET", self.balance_url)])
        if isinstance(response, HttpFailure):
            raise BeemError(f"Beem could not be reached: {response.detail}")
        data = _answer(response)
        try:
            credits = float(data["credit_balance"])
        except (KeyError, TypeError, ValueError):
            detail = data.get("message") or response.reason
            raise BeemError(
                f"Beem refused the balance request: HTTP {response.status} {detail}"
            ) from None
        return {"credits": credits, "currency": None, "unlimited": False}

    def test_connection(self) -> ConnectionCheck:
        if not self.configured:
            return ConnectionCheck(ok=False, detail=NOT_CONFIGURED)
        try:
            balance = self.balance()
        except BeemError as exc:
            return ConnectionCheck(ok=False, detail=str(exc))
        return ConnectionCheck(
            ok=True,
            detail=f"Beem accepted the credentials; {balance['credits']:g} credits left.",
            extra=balance,
        )

    def status_reports(self, payload: Any) -> list[StatusReport]:
        reports = []
        for item in payload if isinstance(payload, list) else [payload]:
            report = _status_report(item)
            if report is None:
                logger.warning("Skipped a Beem delivery report it could not read: %r", item)
            else:
                reports.append(report)
        return reports


def _encoding(message: OutboundSms) -> int:
    """Beem's `encoding`: UCS-2 (8) when asked for or when the text needs it, else GSM-7 (0).

    The text decides too because a GSM-7 label on non-GSM text would garble it on the handset.
    """
    return 8 if message.encoding == UCS2 else segment_info(message.text).beem_encoding


def _failure(error_code: str, error_message: str, transient: bool = False) -> dict[str, Any]:
    return {
        "accepted": False,
        "error_code": error_code,
        "error_message": error_message,
        "transient": transient,
    }


def _answer(response: HttpAnswer) -> dict[str, Any]:
    """The fields of a Beem answer, which come either at the top level or under `data`."""
    try:
        body = json.loads(response.body)
    except ValueError:  # not JSON, or not UTF-8
        return {}
    if not isinstance(body, dict):
        return {}
    data = body.get("data")
    return {**body, **data} if isinstance(data, dict) else body


def _send_outcome(response: HttpAnswer | HttpFailure) -> dict[str, Any]:
    """SendResult fields for every message of one send request."""
    if isinstance(response, HttpFailure):
        if response.timed_out:
            return _failure("BEEM_TIMEOUT", f"Beem did not answer in time: {response.detail}", True)
        return _failure("BEEM_CONNECTION", f"Beem could not be reached: {response.detail}", True)
    answer = _answer(response)
    try:
        code: int | None = int(answer["code"])
    except (KeyError, TypeError, ValueError):
        code = None
    status = response.status
    ok = status < 400
    if ok and code == SUBMITTED:
        return {"accepted": True, "provider_message_id": str(answer.get("request_id", ""))}
    overloaded = status >= 500 or status == 429
    message = answer.get("message") or ""
    if code in ERROR_CODES and not overloaded:
        meaning, transient = ERROR_CODES[code]
        return _failure(f"BEEM_{code}", message or meaning, transient)
    if overloaded or not ok:
        return _failure(f"BEEM_HTTP_{status}", message or response.reason or "", overloaded)
    # A 2xx that is not a submission: we cannot tell what Beem did, so no retry may duplicate it.
    error_code = f"BEEM_{code}" if code is not None else "BEEM_BAD_RESPONSE"
    return _failure(error_code, message or "Beem's answer was not a submission.")


def _status_report(item: object) -> StatusReport | None:
    if not isinstance(item, dict):
        return None
    fields = {str(key).lower().replace("_", ""): value for key, value in item.items()}
    raw_status = str(fields.get("status") or "").strip().upper()
    status = DELIVERY_STATUSES.get(raw_status)
    request_id, recipient_id = fields.get("requestid"), fields.get("recipientid")
    if status is None or request_id in (None, "") or recipient_id in (None, ""):
        return None
    return StatusReport(
        event_id=f"beem:{request_id}:{recipient_id}:{raw_status}",
        status=status,
        provider_message_id=str(request_id),
        reference=str(recipient_id),
        occurred_at=_timestamp(fields.get("timestamp")),
    )


def _timestamp(value: object) -> datetime | None:
    try:
        moment = datetime.fromisoformat(str(value))
    except ValueError:
        return None
    # Beem's clock is UTC; a timestamp without an offset is read as such.
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)
