"""The one interface every SMS channel provider implements (DESIGN section 5)."""

from abc import ABC, abstractmethod
from dataclasses import dataclass, field


@dataclass(frozen=True)
class OutboundSms:
    """One text to one recipient. `reference` is ours and comes back in the result."""

    reference: str
    to: str
    text: str
    sender: str


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
class ConnectionCheck:
    ok: bool
    detail: str = ""
    extra: dict = field(default_factory=dict)


class SmsProvider(ABC):
    name: str

    @abstractmethod
    def send_batch(self, messages: list[OutboundSms]) -> list[SendResult]:
        """Hand a batch to the provider; one result per message, in any order."""

    @abstractmethod
    def balance(self) -> dict:
        """The provider account's remaining balance, as the provider reports it."""

    @abstractmethod
    def test_connection(self) -> ConnectionCheck:
        """Check credentials and reachability without sending a message."""
