"""Storing provider status reports as they arrive, and applying them in batches; storing
payment callbacks (and Stripe events) once each, and applying each by asking the provider
(billing.payments; Stripe's subscription events through webhooks.stripe_events).

Callbacks answer as soon as their reports are stored (one INSERT); a task applies pending
reports a moment later, grouped by tenant, through messaging.status_reports (one set-based
UPDATE per tenant, DESIGN section 6). A report that names no tenant finds its schema through
the route the outbox recorded when the provider accepted the message (sms.models.CallbackRoute).
"""

import time
from collections import defaultdict
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from django.conf import settings
from django.db import connection, transaction
from django.db.models import F
from django.utils import timezone
from django_redis import get_redis_connection
from django_tenants.utils import get_tenant_model, tenant_context

from billing.payments.providers.base import PaymentCallback as ParsedPaymentCallback
from billing.payments.services import payment_fail, payment_verify
from billing.selectors import payment_for_callback
from messaging.status_reports import message_status_reports_apply
from mifumo.prepared import PreparedStatement
from mifumo.principals import shared_key
from sms.models import CallbackRoute
from sms.providers.base import StatusReport
from webhooks import stripe_events
from webhooks.models import PaymentCallback, StatusEvent, StripeEvent

_KICK_KEY = shared_key("webhooks", "status-events", "kick")


# One statement for any number of reports; a repeated (provider, event_id) is dropped.
# Prepared: callbacks run it thousands of times a second, and planning it cost Postgres as
# much as running it.
_STORE = PreparedStatement(
    "webhooks_statusevent_store",
    """
INSERT INTO webhooks_statusevent (provider, event_id, schema_name, status, reference,
    provider_message_id, error_code, occurred_at, payload, state, attempts, received_at)
SELECT %s::text, e.event_id, %s::text, e.status, e.reference, e.provider_message_id,
    e.error_code, e.occurred_at, %s::jsonb, %s::text, 0, now()
FROM unnest(%s::text[], %s::text[], %s::text[], %s::text[], %s::text[], %s::timestamptz[])
    AS e(event_id, status, reference, provider_message_id, error_code, occurred_at)
ON CONFLICT (provider, event_id) DO NOTHING
""",
)


def status_events_store(
    *, provider: str, reports: list[StatusReport], payload: str, schema_name: str = ""
) -> None:
    """Keep each report once, with the callback's body (`payload`, JSON text), and have them
    applied soon. Callbacks arrive by the thousand a second: this is one INSERT."""
    if not reports:
        return
    columns: list[list[Any]] = [  # one array per unnest() column: text, then timestamptz
        [r.event_id[:200] for r in reports],
        [r.status for r in reports],
        [r.reference[:64] for r in reports],
        [r.provider_message_id[:64] for r in reports],
        [r.error_code[:64] for r in reports],
        [r.occurred_at for r in reports],
    ]
    before = ""
    if not connection.in_atomic_block:
        # Sent as one query string, so this applies to this INSERT's own commit only: it does
        # not wait for the WAL flush. A database server crash can lose the last fraction of a
        # second of acknowledged reports (their messages stay `sent`); no credit or send ever
        # depends on them, and it is what lets callbacks keep up with a provider's bursts.
        before = "SET LOCAL synchronous_commit TO off; "
    _STORE.execute(
        [provider, schema_name, payload, StatusEvent.State.PENDING, *columns], before=before
    )
    transaction.on_commit(_kick)


_last_kick = 0.0


def _kick() -> None:
    """At most one processing task a second, however many callbacks arrive: this process
    asks Redis at most every half second, and Redis lets one ask through per second."""
    global _last_kick
    from webhooks.tasks import status_events_process

    now = time.monotonic()
    if now - _last_kick < 0.5:
        return
    _last_kick = now
    if get_redis_connection("default").set(_KICK_KEY, 1, nx=True, ex=1):
        status_events_process.apply_async(countdown=settings.STATUS_EVENT_PROCESS_DELAY_SECONDS)


@dataclass(frozen=True, slots=True)
class _Pending:
    """A pending event as the processor reads it (without its stored body)."""

    pk: int
    provider: str
    schema_name: str
    report: StatusReport


# Marks a batch applied as it takes it (the transaction undoes that if applying fails);
# concurrent runs skip each other's rows.
_TAKE_SQL = """
UPDATE webhooks_statusevent SET state = %s, processed_at = now()
WHERE id IN (
    SELECT id FROM webhooks_statusevent WHERE state = %s ORDER BY id LIMIT %s
    FOR UPDATE SKIP LOCKED
)
RETURNING id, provider, schema_name, event_id, status, provider_message_id, reference,
    error_code, occurred_at
"""


def _take_pending(limit: int) -> list[_Pending]:
    with connection.cursor() as cursor:
        cursor.execute(_TAKE_SQL, [StatusEvent.State.APPLIED, StatusEvent.State.PENDING, limit])
        rows = cursor.fetchall()
    return [
        _Pending(pk, provider, schema, StatusReport(*rest)) for pk, provider, schema, *rest in rows
    ]


def _schemas_of(events: list[_Pending]) -> dict[int, str]:
    unrouted = {(e.provider, e.report.provider_message_id) for e in events if not e.schema_name}
    routes = {}
    if unrouted:
        rows = CallbackRoute.objects.filter(
            provider__in={p for p, _ in unrouted},
            provider_message_id__in={pid for _, pid in unrouted},
        ).values_list("provider", "provider_message_id", "schema_name")
        routes = {(p, pid): schema for p, pid, schema in rows}
    return {
        e.pk: e.schema_name or routes.get((e.provider, e.report.provider_message_id), "")
        for e in events
    }


@transaction.atomic
def status_events_process(*, limit: int = 5000) -> dict[str, int]:
    """Apply up to `limit` pending events; returns counts. An event whose message is not found
    goes back to pending for another try, or to unmatched once its window has passed."""
    events = _take_pending(limit)
    schemas = _schemas_of(events)
    by_schema: dict[str, list[_Pending]] = defaultdict(list)
    for event in events:
        by_schema[schemas[event.pk]].append(event)
    tenants = get_tenant_model().objects.in_bulk(
        [schema for schema in by_schema if schema], field_name="schema_name"
    )
    unmatched_ids: set[int] = set()
    for schema, group in by_schema.items():
        tenant = tenants.get(schema)
        if tenant is None:
            unmatched_ids.update(e.pk for e in group)
            continue
        with tenant_context(tenant):
            missing = message_status_reports_apply(reports=[e.report for e in group])
        missing_ids = {r.event_id for r in missing}
        unmatched_ids.update(e.pk for e in group if e.report.event_id in missing_ids)

    if unmatched_ids:
        window = timezone.now() - timedelta(seconds=settings.STATUS_EVENT_MATCH_WINDOW_SECONDS)
        retry = StatusEvent.objects.filter(pk__in=unmatched_ids)
        retry.filter(received_at__lt=window).update(state=StatusEvent.State.UNMATCHED)
        retry.filter(received_at__gte=window).update(
            state=StatusEvent.State.PENDING, processed_at=None, attempts=F("attempts") + 1
        )
    return {"applied": len(events) - len(unmatched_ids), "unmatched": len(unmatched_ids)}


_STORE_PAYMENT_SQL = """
INSERT INTO webhooks_paymentcallback (provider, order_id, payment_status, reference, payload,
    state, received_at)
VALUES (%s, %s, %s, %s, %s::jsonb, %s, now())
ON CONFLICT (provider, order_id, payment_status) DO NOTHING
RETURNING id
"""


def payment_callback_store(*, provider: str, callback: ParsedPaymentCallback, payload: str) -> None:
    """Keep a verified callback once (a replay stores nothing and starts nothing) and have it
    applied in a task, so the provider is answered at once."""
    from webhooks.tasks import payment_callback_apply_task

    params = [
        provider,
        callback.order_id,
        callback.payment_status,
        callback.reference,
        payload,
        PaymentCallback.State.PENDING,
    ]
    with connection.cursor() as cursor:
        cursor.execute(_STORE_PAYMENT_SQL, params)
        row = cursor.fetchone()
    if row is not None:
        callback_id = row[0]
        transaction.on_commit(lambda: payment_callback_apply_task.delay(callback_id))


def payment_callback_apply(*, callback_id: int) -> str | None:
    """Ask the provider about the order the callback names and apply its answer; returns the
    callback's state (None when it was already processed)."""
    callback = PaymentCallback.objects.filter(
        pk=callback_id, state=PaymentCallback.State.PENDING
    ).first()
    if callback is None:
        return None
    payment = payment_for_callback(provider=callback.provider, order_id=callback.order_id)
    state = PaymentCallback.State.UNMATCHED
    if payment is not None:
        payment_verify(payment=payment)
        state = PaymentCallback.State.APPLIED
    PaymentCallback.objects.filter(pk=callback_id).update(state=state, processed_at=timezone.now())
    return state


# Stripe events that settle a one-off Checkout Session, and those that end it unpaid.
STRIPE_PAID_EVENTS = frozenset(
    {"checkout.session.completed", "checkout.session.async_payment_succeeded"}
)
STRIPE_UNPAID_EVENTS = frozenset(
    {"checkout.session.expired", "checkout.session.async_payment_failed"}
)

_STORE_STRIPE_SQL = """
INSERT INTO webhooks_stripeevent (event_id, event_type, order_id, object_id, livemode, payload,
    state, received_at)
VALUES (%s, %s, %s, %s, %s, %s::jsonb, %s, now())
ON CONFLICT (event_id) DO NOTHING
RETURNING id
"""


def stripe_event_store(
    *, event: dict[str, Any], callback: ParsedPaymentCallback | None, payload: str
) -> None:
    """Keep a verified Stripe event once by its id (a replay stores nothing and starts nothing)
    and have it applied in a task, so Stripe is answered at once. `callback` is the order its
    one-off Checkout Session names, if any; the object it is about (session, subscription or
    invoice) is kept by its id, which is all applying it reads; `payload` is the body as JSON
    text."""
    from webhooks.tasks import stripe_event_apply_task

    data = event.get("data")
    event_object = data.get("object") if isinstance(data, dict) else None
    object_id = event_object.get("id") if isinstance(event_object, dict) else None
    params: list[Any] = [
        str(event["id"])[:255],
        str(event.get("type") or "")[:100],
        callback.order_id if callback else "",
        str(object_id or "")[:255],
        event.get("livemode") is True,
        payload,
        StripeEvent.State.PENDING,
    ]
    with connection.cursor() as cursor:
        cursor.execute(_STORE_STRIPE_SQL, params)
        row = cursor.fetchone()
    if row is not None:
        stored_id = row[0]
        transaction.on_commit(lambda: stripe_event_apply_task.delay(stored_id))


def stripe_event_apply(*, stored_id: int) -> str | None:
    """Apply a stored Stripe event; returns its state (None when it was already processed).

    Nothing in the event is taken on its word: a one-off checkout is confirmed only by Stripe's
    answer about the session (payment_verify), and one that ended unpaid fails its order, which
    grants nothing; subscription, invoice and subscription-mode checkout events move ours as
    Stripe answers about the subscription and invoice (webhooks.stripe_events). Other events
    are ignored."""
    event = StripeEvent.objects.filter(pk=stored_id, state=StripeEvent.State.PENDING).first()
    if event is None:
        return None
    state = _stripe_event_state(event)
    StripeEvent.objects.filter(pk=stored_id).update(state=state, processed_at=timezone.now())
    return state


def _stripe_event_state(event: StripeEvent) -> str:
    kind, object_id = event.event_type, event.object_id
    if kind in stripe_events.SUBSCRIPTION_EVENTS:
        found = stripe_events.stripe_subscription_event_apply(stripe_subscription_id=object_id)
    elif kind in stripe_events.INVOICE_EVENTS:
        paid = kind in stripe_events.INVOICE_PAID_EVENTS
        found = stripe_events.stripe_invoice_event_apply(invoice_id=object_id, paid_event=paid)
    elif kind == stripe_events.CHECKOUT_COMPLETED and not event.order_id:
        # A session that names no order may be a subscription's: Stripe's session says.
        found = stripe_events.stripe_checkout_subscription_apply(session_id=object_id)
    elif kind in STRIPE_PAID_EVENTS | STRIPE_UNPAID_EVENTS:
        found = _stripe_checkout_payment_apply(event)
    else:
        return StripeEvent.State.IGNORED
    return StripeEvent.State.APPLIED if found else StripeEvent.State.UNMATCHED


def _stripe_checkout_payment_apply(event: StripeEvent) -> bool:
    payment = (
        payment_for_callback(provider="stripe", order_id=event.order_id) if event.order_id else None
    )
    if payment is None:
        return False
    if event.event_type in STRIPE_PAID_EVENTS:
        payment_verify(payment=payment)
    else:
        payment_fail(transaction_id=payment.pk, reason=f"Stripe: {event.event_type}")
    return True
