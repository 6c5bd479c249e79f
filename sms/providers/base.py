"""The one interface every SMS channel provider implements (DESIGN section 5)."""

from abc import ABC, abstractmethod
from dataclasses import dataclass, field
from datetime import datetime

from sms.segments import GSM7


@dataclass(frozen=True)
class OutboundSms:
    """One text to one recipient. `reference` is ours (the Message id) and comes back in the
    result and, where the provider echoes it, in status callbacks."""

    reference: str
    to: str
    text: str
    sender: str
    encoding: str = GSM7


@dataclass(frozen=True)
class SendResult:
    reference: str
    accepted: bool
    provider_message_id: str = ""
    error_code: str = ""
    error_message: str = ""
    # A transient failure may succeed if retried (timeouts, 5xx); a permanent one never will.
    transient: bool = False


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


@dataclass(frozen=True)
class ConnectionCheck:
    ok: bool
    detail: str = ""
    extra: dict = field(default_factory=dict)


class SmsProvider(ABC):
    name: str
    # True when its status callbacks do not say which tenant they are for (Beem's): the
    # pipeline then records a CallbackRoute for every provider message id it is given.
    routes_callbacks: bool = False

    @abstractmethod
    def send_batch(self, messages: list[OutboundSms]) -> list[SendResult]:
        """Hand a batch to the provider; one result per message, in any order.

        Never raises for provider or network failures: they are results (transient or not).
        """

    @abstractmethod
    def balance(self) -> dict:
        """The provider account's remaining balance, as the provider reports it."""

    @abstractmethod
    def test_connection(self) -> ConnectionCheck:
        """Check credentials and reachability without sending a message."""

    def status_reports(self, payload: dict) -> list[StatusReport]:
        """The status reports in one callback body (parsed JSON or form fields)."""
        raise NotImplementedError(f"{self.name} does not send status callbacks.")
