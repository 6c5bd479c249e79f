"""The one interface every SMS channel provider implements (DESIGN section 5).

Providers are leaves: they import nothing above `mifumo/` and use neither Celery nor the
database. What a send needs beyond its messages comes in a SendContext; what a provider wants
done later (the sandbox's delivery reports) comes back in its results for the caller to do.
"""

import functools
import math
from abc import ABC, abstractmethod
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Self, TypeVar

import requests
from django.conf import settings
from requests.adapters import HTTPAdapter

from sms.segments import GSM7

_Item = TypeVar("_Item")
_Result = TypeVar("_Result")


def requests_in_flight() -> int:
    """This process's share of SMS_PROVIDER_MAX_IN_FLIGHT: the bound is per channel, and the
    SMS_SEND_CONCURRENCY send workers each send for it at once."""
    in_flight: int = settings.SMS_PROVIDER_MAX_IN_FLIGHT
    workers: int = settings.SMS_SEND_CONCURRENCY
    return max(1, math.ceil(in_flight / max(1, workers)))


def pooled_session() -> requests.Session:
    """A requests session keeping a connection for each request in flight (requests keeps 10
    by default and opens a new one for each request beyond them)."""
    session = requests.Session()
    adapter = HTTPAdapter(pool_connections=1, pool_maxsize=requests_in_flight())
    session.mount("https://", adapter)
    session.mount("http://", adapter)
    return session


@dataclass(frozen=True)
class OutboundSms:
    """One text to one recipient. `reference` is ours (the Message id) and comes back in the
    result and, where the provider echoes it, in status callbacks."""

    reference: str
    to: str
    text: str
    sender: str
    encoding: str = GSM7


@dataclass(frozen=True, slots=True)
class SendContext:
    """Where a batch is sent from: the schema its messages live in and, when it goes through a
    tenant's own account, that account's channel. Status callback URLs name both, so that a
    callback finds its tenant and is checked with the credentials of the account that sent."""

    schema_name: str
    channel_id: str = ""


@dataclass(frozen=True)
class StatusReport:
    """One status change a provider reported for one message.

    `status` is a Message status: sent, delivered, undelivered or failed. `reference` is our
    Message id when the provider echoes it, else empty (then `provider_message_id` finds it).
    `event_id` is the same for a repeated report, so duplicates are dropped.
    """

    event_id: str
    status: str
    provider_message_id: str = ""
    reference: str = ""
    error_code: str = ""
    occurred_at: datetime | None = None

    def as_json(self) -> dict[str, str | None]:
        """The report as a task argument (JSON)."""
        occurred_at = self.occurred_at.isoformat() if self.occurred_at else None
        return {
            "event_id": self.event_id,
            "status": self.status,
            "provider_message_id": self.provider_message_id,
            "reference": self.reference,
            "error_code": self.error_code,
            "occurred_at": occurred_at,
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> "StatusReport":
        occurred_at = data.get("occurred_at")
        return cls(
            event_id=data["event_id"],
            status=data["status"],
            provider_message_id=data.get("provider_message_id") or "",
            reference=data.get("reference") or "",
            error_code=data.get("error_code") or "",
            occurred_at=datetime.fromisoformat(occurred_at) if occurred_at else None,
        )


@dataclass(frozen=True, slots=True)
class ScheduledReport:
    """A status report a provider makes itself rather than calling back (the sandbox's
    delivery reports): the caller applies it `delay` seconds after the send."""

    report: StatusReport
    delay: float


@dataclass(frozen=True)
class SendResult:
    reference: str
    accepted: bool
    provider_message_id: str = ""
    error_code: str = ""
    error_message: str = ""
    # A transient failure may succeed if retried (timeouts, 5xx); a permanent one never will.
    transient: bool = False
    scheduled_reports: tuple[ScheduledReport, ...] = ()


@dataclass(frozen=True)
class ConnectionCheck:
    ok: bool
    detail: str = ""
    extra: dict[str, Any] = field(default_factory=dict)


class SmsProvider(ABC):
    name: str
    # True when its status callbacks do not say which tenant they are for (Beem's): the
    # outbox then records a CallbackRoute for every provider message id it is given.
    routes_callbacks: bool = False
    # The credentials of an account of this provider (a tenant's own, sms.channels), by the
    # names `with_credentials` takes: those it cannot work without, then those it may use.
    required_credentials: tuple[str, ...] = ()
    optional_credentials: tuple[str, ...] = ()

    @classmethod
    def with_credentials(cls, credentials: Mapping[str, str]) -> Self:
        """The provider working with the account these credentials name instead of the
        platform's (the settings); a provider that needs none ignores them."""
        return cls()

    @abstractmethod
    def send_batch(self, messages: list[OutboundSms], context: SendContext) -> list[SendResult]:
        """Hand a batch to the provider; one result per message, in any order.

        Never raises for provider or network failures: they are results (transient or not).
        """

    @abstractmethod
    def balance(self) -> dict[str, Any]:
        """The provider account's remaining balance, as the provider reports it."""

    @abstractmethod
    def test_connection(self) -> ConnectionCheck:
        """Check credentials and reachability without sending a message."""

    def in_flight(self, send: Callable[[_Item], _Result], items: Sequence[_Item]) -> list[_Result]:
        """`send(item)` for every item, as many at once as requests_in_flight allows, on
        threads the provider keeps; the results in the items' order.

        Each thread takes the next item until none is left: one task per thread rather than
        a future per item, which cost the worker 6 ms of CPU per 1,000 items."""
        if len(items) <= 1:
            return [send(item) for item in items]
        results: list[Any] = [None] * len(items)
        positions = iter(range(len(items)))  # shared: next() on it is atomic under the GIL

        def take_until_done() -> None:
            for position in positions:
                results[position] = send(items[position])

        threads = min(requests_in_flight(), len(items))
        for task in [self._senders.submit(take_until_done) for _ in range(threads)]:
            task.result()
        return results

    @functools.cached_property
    def _senders(self) -> ThreadPoolExecutor:
        # Made on first send, so in the worker process that sends (never before a fork).
        return ThreadPoolExecutor(requests_in_flight(), thread_name_prefix=f"{self.name}-send")

    def status_reports(self, payload: Any) -> list[StatusReport]:
        """The status reports in one callback body (parsed JSON or form fields)."""
        raise NotImplementedError(f"{self.name} does not send status callbacks.")
