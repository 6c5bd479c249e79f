"""The one interface every payment provider implements (DESIGN section 9).

Providers are leaves, like sms.providers: they import nothing above `mifumo/` and use neither
Celery nor the database. They never raise into their callers: what went wrong comes back in
the answer, marked transient when asking again later may succeed.
"""

from abc import ABC, abstractmethod
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from enum import StrEnum


class PaymentState(StrEnum):
    """What a provider says of an order. UNKNOWN: it could not say (unreachable, an answer it
    could not read, no such order yet): nothing is changed on it."""

    PENDING = "pending"
    COMPLETED = "completed"
    FAILED = "failed"
    CANCELLED = "cancelled"
    UNKNOWN = "unknown"


@dataclass(frozen=True, slots=True)
class PaymentOrder:
    """An order as a provider needs it. `started_at` is when it was made; `phone` is E.164;
    `provider_reference` is what the provider named it when it was started (Stripe's session)."""

    order_id: str
    amount: Decimal
    currency: str
    buyer_name: str
    buyer_email: str
    phone: str
    started_at: datetime
    provider_reference: str = ""


@dataclass(frozen=True, slots=True)
class PaymentStarted:
    """The provider's answer to a new payment. Not accepted and not transient: it refused the
    order for good. Transient: it may or may not have it (timeout); its status will tell."""

    accepted: bool
    transient: bool = False
    error: str = ""
    payment_url: str = ""
    provider_reference: str = ""


@dataclass(frozen=True, slots=True)
class PaymentStatus:
    """The provider's status of an order; amount and currency as it reports them paid."""

    state: PaymentState
    amount: Decimal | None = None
    currency: str = ""
    reference: str = ""
    transid: str = ""
    detail: str = ""


@dataclass(frozen=True, slots=True)
class PaymentCallback:
    """What a verified callback names. It is a hint to ask the provider, never proof of
    payment: only payment_status() answers are applied."""

    order_id: str
    payment_status: str
    reference: str = ""


class PaymentProvider(ABC):
    name: str
    methods: tuple[str, ...]  # PaymentTransaction.Method values it takes
    currencies: tuple[str, ...]

    @abstractmethod
    def payment_start(self, order: PaymentOrder, *, webhook_url: str) -> PaymentStarted:
        """Ask the provider to collect the order's amount."""

    @abstractmethod
    def payment_status(self, order: PaymentOrder) -> PaymentStatus:
        """The order's status as the provider knows it now."""

    @abstractmethod
    def callback_verified(self, headers: Mapping[str, str]) -> bool:
        """Whether a callback comes from the provider (compared in constant time)."""

    @abstractmethod
    def callback_parse(self, payload: object) -> PaymentCallback | None:
        """The order a verified callback is about, or None for a body it cannot read."""
