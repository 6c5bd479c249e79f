"""Customer webhook endpoints and the signed outbound deliveries of events (DESIGN section 6).

Code that changes message statuses calls message_events_emit, which only publishes one task
(on commit) with the ids. That task turns the events into WebhookDelivery rows in a set: one
per (message, target), the targets being the tenant's active endpoints subscribed to the event
and the send's own `webhook_url`. Each delivery is then attempted by its own task:

    pending -> succeeded (2xx) | failed (attempts used up; 410 Gone) | canceled (endpoint off)

An attempt claims its delivery with one conditional UPDATE (pending and due -> attempts + 1,
next_attempt_at pushed past the attempt's longest duration), so two tasks for one delivery
send it once; a worker that dies mid-attempt leaves it due again after that lease. Retries
wait WEBHOOK_RETRY_DELAYS: delays under WEBHOOK_COUNTDOWN_MAX_SECONDS are Celery countdowns,
longer ones wait in next_attempt_at for the beat task, which also restarts lost tasks.

Bodies are signed with the Standard Webhooks scheme (webhook-id, webhook-timestamp,
webhook-signature): an endpoint with its own whsec_ secret; a send's webhook_url with the
tenant's (webhook_url_secret). Receivers dedupe on webhook-id, the same across retries.
"""

import base64
import hashlib
import hmac
import json
import logging
import secrets
import uuid
from datetime import UTC, datetime, timedelta

from django.conf import settings
from django.db import connection, transaction
from django.db.models import F, Q
from django.db.models.functions import Greatest
from django.utils import timezone
from django_tenants.utils import get_public_schema_name
from standardwebhooks.webhooks import Webhook

from integration.models import WebhookAttempt, WebhookDelivery, WebhookEndpoint
from mifumo.errors import ApplicationError, ErrorCode
from mifumo.outbound_http import OutboundResponse, TargetRefused, check_target, post_json

logger = logging.getLogger(__name__)

EVENT_TYPES = (
    "message.sent",
    "message.delivered",
    "message.failed",
    "campaign.started",
    "campaign.completed",
    "campaign.failed",
)
MESSAGE_EVENT_TYPES = EVENT_TYPES[:3]
SECRET_PREFIX = "whsec_"  # noqa: S105 - the Standard Webhooks prefix, not a secret
URL_MAX_LENGTH = 500

# The message's time and the statuses each event reports; a message that moved on since
# (sent, then delivered before the event went out) still reports the event's own status.
_OCCURRED_AT = {
    "message.sent": "sent_at",
    "message.delivered": "delivered_at",
    "message.failed": "failed_at",
}
_EVENT_STATUSES = {
    "message.sent": ("sent",),
    "message.delivered": ("delivered",),
    "message.failed": ("failed", "undelivered"),
}
_MESSAGE_FIELDS = (
    "id",
    "send_request_id",
    "recipient",
    "sender",
    "status",
    "error_code",
    "error_message",
    "segments",
    "provider",
    "sent_at",
    "delivered_at",
    "failed_at",
    "updated_at",
)
EMIT_BATCH_SIZE = 1000  # message ids per task
DUE_BATCH_SIZE = 1000  # deliveries the beat task starts per run
# A delivery due this long without its countdown task having claimed it lost that task.
LOST_TASK_GRACE_SECONDS = 120
ERROR_MAX_LENGTH = 500

State = WebhookDelivery.State


# --- Endpoints


def _validation_error(field: str, message: str) -> ApplicationError:
    return ApplicationError(message, code=ErrorCode.VALIDATION_ERROR, errors={field: [message]})


def _check_url(url: str) -> str:
    url = (url or "").strip()
    if not url:
        raise _validation_error("url", "Enter the URL that receives the events.")
    if len(url) > URL_MAX_LENGTH:
        raise _validation_error("url", f"The URL must be at most {URL_MAX_LENGTH} characters.")
    try:
        check_target(url)
    except TargetRefused as exc:
        raise _validation_error("url", str(exc)) from exc
    return url


def _check_events(events) -> list[str]:
    chosen = set(events or [])
    unknown = sorted(chosen - set(EVENT_TYPES))
    if not chosen or unknown:
        named = f"Unknown events: {', '.join(unknown)}. " if unknown else ""
        raise _validation_error(
            "events", f"{named}Choose one or more of: {', '.join(EVENT_TYPES)}."
        )
    return [event for event in EVENT_TYPES if event in chosen]


def _new_secret() -> str:
    """A Standard Webhooks secret: the prefix and 32 random bytes in base64."""
    return SECRET_PREFIX + base64.b64encode(secrets.token_bytes(32)).decode()


def webhook_url_secret(*, tenant_id) -> str:
    """The secret that signs deliveries to a send's own `webhook_url` (no endpoint, so no
    secret of its own): derived per tenant from SECRET_KEY, the same for every send."""
    digest = hmac.new(
        settings.SECRET_KEY.encode(), f"webhook-url-secret:{tenant_id}".encode(), hashlib.sha256
    ).digest()
    return SECRET_PREFIX + base64.b64encode(digest).decode()


def webhook_endpoint_create(
    *, tenant, url: str, events: list[str], is_active: bool = True, created_by=None
) -> WebhookEndpoint:
    """A new endpoint with a fresh signing secret. The URL must be http(s) and not point at a
    loopback, private, link-local or metadata address (a 400 on `url`); `events` must be
    one or more of EVENT_TYPES (a 400 on `events`)."""
    return WebhookEndpoint.objects.create(
        tenant=tenant,
        url=_check_url(url),
        events=_check_events(events),
        secret=_new_secret(),
        is_active=is_active,
        created_by=created_by,
    )


def _deliveries_cancel(deliveries) -> int:
    now = timezone.now()
    return deliveries.filter(state=State.PENDING).update(
        state=State.CANCELED, next_attempt_at=None, finished_at=now
    )


@transaction.atomic
def webhook_endpoint_toggle(*, endpoint: WebhookEndpoint, is_active: bool | None = None):
    """Turn an endpoint on or off (the opposite of now when `is_active` is None). Turning it
    off cancels its pending deliveries; turning it on clears why it was off."""
    endpoint = WebhookEndpoint.objects.select_for_update().get(pk=endpoint.pk)
    endpoint.is_active = (not endpoint.is_active) if is_active is None else is_active
    if endpoint.is_active:
        endpoint.disabled_reason = ""
    elif not endpoint.disabled_reason:
        endpoint.disabled_reason = "Turned off by a user."
    endpoint.save(update_fields=["is_active", "disabled_reason", "updated_at"])
    if not endpoint.is_active:
        _deliveries_cancel(WebhookDelivery.objects.filter(endpoint=endpoint))
    return endpoint


def webhook_endpoint_delete(*, endpoint: WebhookEndpoint) -> None:
    """Delete an endpoint with its deliveries and their attempts (so nothing is pending); an
    attempt in flight finds its delivery gone and records nothing."""
    endpoint.delete()


# --- Message events


def message_events_emit(*, event_type: str, message_ids) -> None:
    """Tell the current tenant's webhooks that these messages reached `event_type`.

    Cheap on the hot path: once the current transaction commits, one task per
    EMIT_BATCH_SIZE ids (queue `webhooks`) does the rest. Call it in the tenant's schema,
    after the statuses changed.
    """
    if event_type not in MESSAGE_EVENT_TYPES:
        raise ValueError(f"{event_type!r} is not a message event: {MESSAGE_EVENT_TYPES}")
    schema = connection.schema_name
    if schema == get_public_schema_name():
        raise RuntimeError("Message events are emitted in a tenant's schema.")
    ids = [str(message_id) for message_id in message_ids]
    if not ids:
        return
    from integration.tasks import message_events_deliver

    # The schema travels explicitly: on_commit may run after the caller left the tenant.
    headers = {"_schema_name": schema}
    for start in range(0, len(ids), EMIT_BATCH_SIZE):
        batch = ids[start : start + EMIT_BATCH_SIZE]
        transaction.on_commit(
            lambda batch=batch: message_events_deliver.apply_async(
                kwargs={"event_type": event_type, "message_ids": batch}, headers=headers
            )
        )


def _iso(moment: datetime | None) -> str | None:
    if moment is None:
        return None
    return moment.astimezone(UTC).isoformat().replace("+00:00", "Z")


def _message_payload(event_type: str, event_id: str, message: dict, now: datetime) -> dict:
    statuses = _EVENT_STATUSES[event_type]
    occurred_at = message[_OCCURRED_AT[event_type]] or message["updated_at"] or now
    return {
        "id": event_id,
        "type": event_type,
        "created_at": _iso(now),
        "data": {
            "message_id": str(message["send_request_id"] or message["id"]),
            "recipient_message_id": str(message["id"]),
            "recipient": message["recipient"],
            "status": message["status"] if message["status"] in statuses else statuses[0],
            "error_code": message["error_code"] or None,
            "error_message": message["error_message"] or None,
            "sender_id": message["sender"],
            "segments": message["segments"],
            "provider": message["provider"] or None,
            "occurred_at": _iso(occurred_at),
        },
    }


def new_event_id() -> str:
    return f"msg_{uuid.uuid4().hex}"


def message_events_deliver(*, event_type: str, message_ids: list[str]) -> int:
    """Create the deliveries of one event for each of these messages of the current tenant,
    then start their first attempts. Returns how many deliveries were created.

    Two queries when no target wants the event (the common case): the subscribed endpoints,
    and the messages whose send has its own webhook_url.
    """
    from messaging.models import Message

    tenant_id = connection.tenant.pk
    endpoints = list(
        WebhookEndpoint.objects.filter(
            tenant_id=tenant_id, is_active=True, events__contains=[event_type]
        ).values_list("id", "url")
    )
    messages = Message.objects.filter(pk__in=message_ids)
    if not endpoints:
        messages = messages.filter(send_request__webhook_url__gt="")
    rows = list(messages.values(*_MESSAGE_FIELDS, webhook_url=F("send_request__webhook_url")))
    if not rows:
        return 0
    endpoint_urls = {url for _, url in endpoints}
    now = timezone.now()
    deliveries = []
    for message in rows:
        event_id = new_event_id()
        payload = _message_payload(event_type, event_id, message, now)
        targets = list(endpoints)
        webhook_url = message["webhook_url"]
        if webhook_url and webhook_url not in endpoint_urls:
            targets.append((None, webhook_url))
        deliveries.extend(
            WebhookDelivery(
                tenant_id=tenant_id,
                endpoint_id=endpoint_id,
                url=url,
                event_id=event_id,
                event_type=event_type,
                payload=payload,
                next_attempt_at=now,
            )
            for endpoint_id, url in targets
        )
    created = WebhookDelivery.objects.bulk_create(deliveries, batch_size=1000)
    webhook_deliveries_schedule([delivery.pk for delivery in created])
    return len(created)


def campaign_event_emit(*, event_type: str, campaign) -> int:
    """Deliver a campaign event (campaign.started, .completed, .failed) to the current
    tenant's subscribed endpoints; a handful of rows, so made at once, sent after commit."""
    if event_type not in EVENT_TYPES[3:]:
        raise ValueError(f"{event_type!r} is not a campaign event: {EVENT_TYPES[3:]}")
    tenant_id = connection.tenant.pk
    endpoints = WebhookEndpoint.objects.filter(
        tenant_id=tenant_id, is_active=True, events__contains=[event_type]
    ).values_list("id", "url")
    now = timezone.now()
    event_id = new_event_id()
    payload = {
        "id": event_id,
        "type": event_type,
        "created_at": _iso(now),
        "data": {
            "campaign_id": str(campaign.pk),
            "name": campaign.name,
            "status": campaign.status,
            "total_recipients": campaign.total_recipients,
            "sent_count": campaign.sent_count,
            "delivered_count": campaign.delivered_count,
            "failed_count": campaign.failed_count,
            "started_at": _iso(campaign.started_at),
            "completed_at": _iso(campaign.completed_at),
            "failure_reason": campaign.failure_reason or None,
        },
    }
    created = WebhookDelivery.objects.bulk_create(
        WebhookDelivery(
            tenant_id=tenant_id,
            endpoint_id=endpoint_id,
            url=url,
            event_id=event_id,
            event_type=event_type,
            payload=payload,
            next_attempt_at=now,
        )
        for endpoint_id, url in endpoints
    )
    webhook_deliveries_schedule([delivery.pk for delivery in created])
    return len(created)


# --- Attempts


def webhook_deliveries_schedule(delivery_ids: list[int], *, countdown: float | None = None):
    """Start attempt tasks for these deliveries once the current transaction commits."""
    from integration.tasks import webhook_delivery_attempt

    # Deliveries are public rows: the attempt runs in the public schema, whoever sends it.
    headers = {"_schema_name": get_public_schema_name()}

    def publish():
        for delivery_id in delivery_ids:
            webhook_delivery_attempt.apply_async(
                kwargs={"delivery_id": delivery_id}, countdown=countdown, headers=headers
            )

    if delivery_ids:
        transaction.on_commit(publish)


def _attempt_lease() -> timedelta:
    """Longer than any attempt can take (DNS, connect and read, each bounded by the timeout)."""
    return timedelta(seconds=5 * settings.WEBHOOK_TIMEOUT_SECONDS + 60)


def _claim(delivery_id: int) -> WebhookDelivery | None:
    now = timezone.now()
    claimed = (
        WebhookDelivery.objects.filter(pk=delivery_id, state=State.PENDING)
        .filter(Q(next_attempt_at__isnull=True) | Q(next_attempt_at__lte=now))
        .update(attempts=F("attempts") + 1, next_attempt_at=now + _attempt_lease())
    )
    if not claimed:
        return None
    return WebhookDelivery.objects.select_related("endpoint").filter(pk=delivery_id).first()


def signed_headers(*, secret: str, event_id: str, body: str, at: datetime) -> dict[str, str]:
    """The Standard Webhooks headers of one attempt: the timestamp and signature are the
    attempt's own, the id is the event's (the same across retries)."""
    return {
        "webhook-id": event_id,
        "webhook-timestamp": str(int(at.timestamp())),
        "webhook-signature": Webhook(secret).sign(event_id, at, body),
    }


def webhook_delivery_attempt(*, delivery_id: int) -> str | None:
    """Try one delivery once, if it is pending and due and no other task is trying it; returns
    its state afterwards (None when there was nothing to do)."""
    delivery = _claim(delivery_id)
    if delivery is None:
        return None
    endpoint = delivery.endpoint
    if endpoint is not None and not endpoint.is_active:
        _deliveries_cancel(WebhookDelivery.objects.filter(pk=delivery.pk))
        return State.CANCELED
    secret = endpoint.secret if endpoint else webhook_url_secret(tenant_id=delivery.tenant_id)
    body = json.dumps(delivery.payload, separators=(",", ":"))
    headers = signed_headers(
        secret=secret, event_id=delivery.event_id, body=body, at=timezone.now()
    )
    response = post_json(delivery.url, body.encode(), headers)
    return _attempt_record(delivery, response)


def _retry_delay(attempts: int) -> float | None:
    """Seconds before the attempt after attempt number `attempts`; None when none is left."""
    delays = settings.WEBHOOK_RETRY_DELAYS
    return float(delays[attempts - 1]) if attempts <= len(delays) else None


@transaction.atomic
def _attempt_record(delivery: WebhookDelivery, response: OutboundResponse) -> str | None:
    """Keep the attempt and move the delivery and its endpoint on, all in one transaction."""
    now = timezone.now()
    current = WebhookDelivery.objects.select_for_update().filter(pk=delivery.pk).first()
    if current is None:  # deleted with its endpoint while the request was in flight
        return None
    WebhookAttempt.objects.create(
        delivery_id=delivery.pk,
        status_code=response.status_code,
        duration_ms=response.duration_ms,
        error=response.error[:ERROR_MAX_LENGTH],
    )
    if current.state != State.PENDING:  # canceled while the request was in flight
        return current.state
    gone = response.status_code == 410
    delay = None if response.ok or gone else _retry_delay(current.attempts)
    if response.ok:
        state = State.SUCCEEDED
    elif delay is None:
        state = State.FAILED
    else:
        state = State.PENDING
    finished = state != State.PENDING
    WebhookDelivery.objects.filter(pk=delivery.pk).update(
        state=state,
        next_attempt_at=None if finished else now + timedelta(seconds=delay),
        finished_at=now if finished else None,
    )
    if delivery.endpoint_id is not None:
        _endpoint_record(delivery.endpoint_id, state, response, now)
        if gone:
            _endpoint_disable(delivery.endpoint_id, now)
    if not finished and delay < settings.WEBHOOK_COUNTDOWN_MAX_SECONDS:
        webhook_deliveries_schedule([delivery.pk], countdown=delay)
    # Longer delays are started by webhook_deliveries_due_send from next_attempt_at.
    return state


def _endpoint_record(endpoint_id, state: str, response: OutboundResponse, now: datetime):
    """One UPDATE: the attempt's time and error; a finished delivery is counted."""
    changes = {"last_delivery_at": now}
    if not response.ok:
        changes["last_error"] = response.error[:ERROR_MAX_LENGTH]
    if state != State.PENDING:
        changes["total_deliveries"] = F("total_deliveries") + 1
    if state == State.FAILED:
        changes["failed_deliveries"] = F("failed_deliveries") + 1
    WebhookEndpoint.objects.filter(pk=endpoint_id).update(**changes)


def _endpoint_disable(endpoint_id, now: datetime) -> None:
    """410 Gone: the receiver says the endpoint is no more; stop sending to it."""
    reason = f"The URL answered 410 Gone at {_iso(now)}."
    WebhookEndpoint.objects.filter(pk=endpoint_id).update(
        is_active=False, disabled_reason=reason, updated_at=now
    )
    _deliveries_cancel(WebhookDelivery.objects.filter(endpoint_id=endpoint_id))
    logger.info("Webhook endpoint %s disabled: %s", endpoint_id, reason)


def webhook_deliveries_due_send() -> int:
    """Beat: start the deliveries whose next attempt is due: retries that waited longer than a
    countdown would, and any whose task was lost. Returns how many were started."""
    now = timezone.now()
    delays = settings.WEBHOOK_RETRY_DELAYS
    # After attempt n the wait is delays[n - 1]; these waits are left to beat, not countdowns.
    waited_for_beat = [
        n for n, delay in enumerate(delays, 1) if delay >= settings.WEBHOOK_COUNTDOWN_MAX_SECONDS
    ]
    lost = now - timedelta(seconds=LOST_TASK_GRACE_SECONDS)
    due = (
        WebhookDelivery.objects.filter(state=State.PENDING)
        .filter(
            Q(next_attempt_at__lte=now, attempts__in=waited_for_beat) | Q(next_attempt_at__lte=lost)
        )
        .order_by("next_attempt_at")
        .values_list("id", flat=True)[:DUE_BATCH_SIZE]
    )
    ids = list(due)
    # A task already on its way finds the delivery claimed and does nothing.
    webhook_deliveries_schedule(ids)
    return len(ids)


RETRYABLE_STATES = (State.FAILED, State.CANCELED)


@transaction.atomic
def webhook_delivery_retry(*, delivery: WebhookDelivery) -> WebhookDelivery:
    """An operator's "try it again": a failed or canceled delivery is pending and due again,
    and its attempt is started on commit (the same task and claim as any attempt).

    It gets one more attempt: the attempts it used still count against WEBHOOK_RETRY_DELAYS.
    A failed one is taken off its endpoint's counters until it finishes again. A 409 for a
    succeeded or pending delivery (a pending one is still being tried, and may be in flight)
    and for one whose endpoint is off.
    """
    delivery = WebhookDelivery.objects.select_for_update().get(pk=delivery.pk)
    if delivery.state not in RETRYABLE_STATES:
        raise _retry_refused(
            delivery,
            f"Only a failed or canceled delivery is retried; this one is {delivery.state}.",
        )
    endpoint = delivery.endpoint
    if endpoint is not None and not endpoint.is_active:
        raise _retry_refused(delivery, "Its endpoint is turned off; turn it on first.")
    if endpoint is not None and delivery.state == State.FAILED:
        # _endpoint_record counted it when it failed; it is counted again when it finishes.
        WebhookEndpoint.objects.filter(pk=endpoint.pk).update(
            total_deliveries=Greatest(F("total_deliveries") - 1, 0),
            failed_deliveries=Greatest(F("failed_deliveries") - 1, 0),
        )
    delivery.state = State.PENDING
    delivery.next_attempt_at = timezone.now()
    delivery.finished_at = None
    delivery.save(update_fields=["state", "next_attempt_at", "finished_at"])
    webhook_deliveries_schedule([delivery.pk])
    return delivery


def _retry_refused(delivery: WebhookDelivery, message: str) -> ApplicationError:
    return ApplicationError(
        message,
        code=ErrorCode.INVALID_STATUS,
        status_code=409,
        details={"current_state": delivery.state, "allowed_states": list(RETRYABLE_STATES)},
    )
