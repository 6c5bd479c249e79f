"""Domain events: publish and subscribe (DESIGN section 8).

A producer publishes what happened, `publish("message.sent", {"message_ids": [...]})`, and
never imports who cares. Consumers subscribe in their `AppConfig.ready()` to an event type or
to a family (`"message.*"`). Subscribers run once the current transaction commits (at once
outside one), each on its own: one that raises is logged and the others still run, and the
producer's work stands. Payloads are JSON (ids and plain values, never model instances); they
go through a JSON round trip on publish, so a payload that a broker could not carry fails in
the producer, where the mistake is, and every subscriber sees what a task would.

Every event carries the schema it was published in, so a subscriber that hands the work to a
task can send the task to that tenant.
"""

import functools
import json
import logging
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from django.db import transaction

from mifumo.tenancy import current_schema_name

logger = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class Event:
    type: str
    schema_name: str
    payload: dict[str, Any]


Subscriber = Callable[[Event], None]

_subscribers: dict[str, list[Subscriber]] = defaultdict(list)


def subscribe(event_type: str, subscriber: Subscriber) -> None:
    """Call `subscriber` for every `event_type` event; `"family.*"` matches the whole family.
    Subscribing the same function twice (a second `ready()`) is one subscription."""
    if subscriber not in _subscribers[event_type]:
        _subscribers[event_type].append(subscriber)


def subscribers_of(event_type: str) -> list[Subscriber]:
    family = event_type.split(".", 1)[0] + ".*"
    return [*_subscribers.get(event_type, ()), *_subscribers.get(family, ())]


def publish(event_type: str, payload: dict[str, Any]) -> None:
    """Have the subscribers of `event_type` receive it after the current transaction commits."""
    carried = json.loads(json.dumps(payload))  # TypeError here for what a broker cannot carry
    subscribers = subscribers_of(event_type)
    if not subscribers:
        return
    event = Event(type=event_type, schema_name=current_schema_name(), payload=carried)
    for subscriber in subscribers:
        transaction.on_commit(functools.partial(_deliver, subscriber, event))


def iso_utc(moment: datetime | None) -> str | None:
    """A time as payloads carry it: ISO 8601 in UTC, ending in Z (None stays None)."""
    if moment is None:
        return None
    return moment.astimezone(UTC).isoformat().replace("+00:00", "Z")


def _deliver(subscriber: Subscriber, event: Event) -> None:
    try:
        subscriber(event)
    except Exception:  # one consumer's failure is not the producer's
        logger.exception("Subscriber %s failed on %s", subscriber.__qualname__, event.type)
