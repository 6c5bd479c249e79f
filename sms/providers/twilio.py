"""Twilio Programmable Messaging through the official `twilio` package: sends, the account
balance, the connection check, status callbacks and their signatures.

Twilio takes one message per request, so a batch's requests are many in flight at once. Each
message asks for its status callbacks at /webhooks/twilio/status/?schema=<the send's schema,
from its SendContext>, and &channel=<the channel's id> when it went through a tenant's own
account; Twilio signs that URL with the auth token of the account that sent it, so the schema
(and channel) it names can be trusted once the signature is checked with that account's token.

Status callbacks are form posts: MessageSid, MessageStatus, To, From, AccountSid and, when the
message failed, ErrorCode.
"""

import functools
import logging
from collections.abc import Mapping
from functools import partial
from typing import Any, Self
from urllib.parse import urlencode

import requests
from django.conf import settings
from twilio.base.exceptions import TwilioRestException, TwilioServiceException
from twilio.http.http_client import TwilioHttpClient
from twilio.http.response import Response
from twilio.request_validator import RequestValidator
from twilio.rest import Client

from sms.providers.base import (
    ConnectionCheck,
    OutboundSms,
    SendContext,
    SendResult,
    SmsProvider,
    StatusReport,
    pooled_session,
)

logger = logging.getLogger(__name__)
# The package logs every request and its headers at INFO; a campaign would flood the log.
_http_logger = logging.getLogger(f"{__name__}.http")
_http_logger.setLevel(logging.WARNING)

TWILIO_API_URL = "https://api.twilio.com"
MESSAGE_STATUSES = {
    "queued": "sent",
    "accepted": "sent",
    "sending": "sent",
    "sent": "sent",
    "delivered": "delivered",
    "read": "delivered",
    "undelivered": "undelivered",
    "failed": "failed",
}
NOT_CONFIGURED = "TWILIO_ACCOUNT_SID and TWILIO_AUTH_TOKEN are not set."
_API_ERRORS = (TwilioRestException, TwilioServiceException)


class TwilioError(Exception):
    """Twilio could not be reached, or refused a request that is not a send."""


class _BaseUrlHttpClient(TwilioHttpClient):  # type: ignore[misc]
    """The package's client with a kept connection per request in flight, sending what the
    package addresses to api.twilio.com to TWILIO_API_BASE_URL instead (the fakes)."""

    def __init__(self, base_url: str, timeout: float) -> None:
        super().__init__(timeout=timeout, logger=_http_logger)
        self.base_url = base_url.rstrip("/")
        # The package sizes its pool by CPU count.
        self.session = pooled_session()

    def request(self, method: str, url: str, *args: Any, **kwargs: Any) -> Response:
        if url.startswith(TWILIO_API_URL):
            url = self.base_url + url.removeprefix(TWILIO_API_URL)
        return super().request(method, url, *args, **kwargs)


class TwilioProvider(SmsProvider):
    name = "twilio"
    required_credentials = ("account_sid", "auth_token")
    optional_credentials = ("messaging_service_sid",)

    def __init__(self) -> None:
        self.account_sid = settings.TWILIO_ACCOUNT_SID
        self.auth_token = settings.TWILIO_AUTH_TOKEN
        self.messaging_service_sid = settings.TWILIO_MESSAGING_SERVICE_SID
        self.configured = bool(self.account_sid and self.auth_token)

    @classmethod
    def with_credentials(cls, credentials: Mapping[str, str]) -> Self:
        provider = cls()
        provider.account_sid = credentials.get("account_sid", "")
        provider.auth_token = credentials.get("auth_token", "")
        # Another account's Messaging Service would not send for this one: only its own.
        provider.messaging_service_sid = credentials.get("messaging_service_sid", "")
        provider.configured = bool(provider.account_sid and provider.auth_token)
        return provider

    @functools.cached_property
    def client(self) -> Client:
        # Made on first use: checking a status callback's signature needs none.
        http_client = _BaseUrlHttpClient(
            settings.TWILIO_API_BASE_URL, timeout=settings.TWILIO_TIMEOUT_SECONDS
        )
        return Client(self.account_sid, self.auth_token, http_client=http_client)

    def send_batch(self, messages: list[OutboundSms], context: SendContext) -> list[SendResult]:
        if not self.configured:
            return [
                SendResult(
                    reference=m.reference,
                    accepted=False,
                    error_code="TWILIO_NOT_CONFIGURED",
                    error_message=NOT_CONFIGURED,
                )
                for m in messages
            ]
        query = {"schema": context.schema_name}
        if context.channel_id:
            query["channel"] = context.channel_id
        callback = (
            f"{settings.PUBLIC_BASE_URL.rstrip('/')}/webhooks/twilio/status/?{urlencode(query)}"
        )
        return self.in_flight(partial(self._send, callback=callback), messages)

    def _send(self, message: OutboundSms, callback: str) -> SendResult:
        if self.messaging_service_sid:
            sender = {"messaging_service_sid": self.messaging_service_sid}
        else:
            sender = {"from_": message.sender}
        try:
            sent = self.client.messages.create(
                to=message.to, body=message.text, status_callback=callback, **sender
            )
        except _API_ERRORS as exc:
            return SendResult(
                reference=message.reference,
                accepted=False,
                error_code=f"TWILIO_{exc.code or exc.status}",
                error_message=_error_message(exc),
                transient=exc.status >= 500 or exc.status == 429,
            )
        except requests.Timeout as exc:
            return _transient(message, "TWILIO_TIMEOUT", f"Twilio did not answer in time: {exc}")
        except requests.RequestException as exc:
            return _transient(message, "TWILIO_CONNECTION", f"Twilio could not be reached: {exc}")
        return SendResult(reference=message.reference, accepted=True, provider_message_id=sent.sid)

    def balance(self) -> dict[str, Any]:
        try:
            balance = self.client.api.v2010.accounts(self.account_sid).balance.fetch()
        except (*_API_ERRORS, requests.RequestException) as exc:
            raise TwilioError(f"Twilio refused the balance request: {_error_message(exc)}") from exc
        if balance.balance is None:
            raise TwilioError("Twilio keeps no balance for this account (is it a subaccount?).")
        return {"credits": float(balance.balance), "currency": balance.currency, "unlimited": False}

    def test_connection(self) -> ConnectionCheck:
        if not self.configured:
            return ConnectionCheck(ok=False, detail=NOT_CONFIGURED)
        try:
            account = self.client.api.v2010.accounts(self.account_sid).fetch()
        except (*_API_ERRORS, requests.RequestException) as exc:
            return ConnectionCheck(ok=False, detail=f"Twilio: {_error_message(exc)}")
        extra = {"account_sid": account.sid, "status": account.status}
        if account.status != "active":
            detail = f"Twilio account {account.friendly_name} is {account.status}."
            return ConnectionCheck(ok=False, detail=detail, extra=extra)
        detail = f"Connected to Twilio account {account.friendly_name}."
        return ConnectionCheck(ok=True, detail=detail, extra=extra)

    def status_reports(self, payload: dict[str, str]) -> list[StatusReport]:
        sid = payload.get("MessageSid") or ""
        raw_status = (payload.get("MessageStatus") or "").lower()
        status = MESSAGE_STATUSES.get(raw_status)
        if not sid or status is None:
            logger.warning("Skipped a Twilio status callback it could not read: %r", payload)
            return []
        error = payload.get("ErrorCode")
        return [
            StatusReport(
                event_id=f"twilio:{sid}:{raw_status}",
                status=status,
                provider_message_id=sid,
                error_code=f"TWILIO_{error}" if error else "",
            )
        ]

    def verify_callback(self, *, url: str, params: dict[str, str], signature: str) -> bool:
        """True when X-Twilio-Signature `signature` signs `url` and `params` with our token."""
        if not (self.auth_token and signature):
            return False
        return bool(RequestValidator(self.auth_token).validate(url, params, signature))


def _transient(message: OutboundSms, error_code: str, error_message: str) -> SendResult:
    return SendResult(
        reference=message.reference,
        accepted=False,
        error_code=error_code,
        error_message=error_message,
        transient=True,
    )


def _error_message(exc: Exception) -> str:
    if isinstance(exc, TwilioRestException):
        return f"HTTP {exc.status}: {exc.msg}"
    if isinstance(exc, TwilioServiceException):
        return f"HTTP {exc.status}: {exc.detail or exc.title}"
    return str(exc)
