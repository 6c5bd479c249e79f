"""Signed outbound deliveries and their attempts (DESIGN section 6):

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
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.db import transaction
from django.db.models import F, Q
from django.db.models.functions import Greatest
from django.utils import timezone
from django_tenants.utils import get_public_schema_name
from standardwebhooks.webhooks import Webhook

from integration.models import WebhookAttempt, WebhookDelivery, WebhookEndpoint
from mifumo.errors import ApplicationError, ErrorCode
from mifumo.events import iso_utc
from mifumo.outbound_http import OutboundResponse, post_json
from mifumo.tenancy import task_headers

logger = logging.getLogger(__name__)

State = WebhookDelivery.State
SECRET_PREFIX = "whsec_"  # noqa: S105 - the Standard Webhooks prefix, not a secret
ERROR_MAX_LENGTH = 500
# A delivery due this long without its countdown task having claimed it lost that task.
LOST_TASK_GRACE_SECONDS = 120
DUE_BATCH_SIZE = 1000  # deliveries the beat task starts per run


def webhook_url_secret(*, tenant_id) -> str:
    """The secret that signs deliveries to a send's own `webhook_url` (no endpoint, so no
    secret of its own): derived per tenant from SECRET_KEY, the same for every send."""
    digest = hmac.new(
        settings.SECRET_KEY.encode(), f"webhook-url-secret:{tenant_id}".encode(), hashlib.sha256
    ).digest()
    return SECRET_PREFIX + base64.b64encode(digest).decode()


def deliveries_cancel(deliveries) -> int:
    """Cancel the pending ones of these deliveries (an endpoint turned off or gone)."""
    now = timezone.now()
    return deliveries.filter(state=State.PENDING).update(
        state=State.CANCELED, next_attempt_at=None, finished_at=now
    )


def webhook_deliveries_schedule(delivery_ids: list[int], *, countdown: float | None = None):
    """Start attempt tasks for these deliveries once the current transaction commits."""
    from integration.tasks import webhook_delivery_attempt

    # Deliveries are public rows: the attempt runs in the public schema, whoever sends it.
    headers = task_headers(get_public_schema_name())

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
        deliveries_cancel(WebhookDelivery.objects.filter(pk=delivery.pk))
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
    finished = state != State.PENDING  # so `delay` is None exactly when finished
    WebhookDelivery.objects.filter(pk=delivery.pk).update(
        state=state,
        next_attempt_at=None if delay is None else now + timedelta(seconds=delay),
        finished_at=now if finished else None,
    )
    if delivery.endpoint_id is not None:
        _endpoint_record(delivery.endpoint_id, state, response, now)
        if gone:
            _endpoint_disable(delivery.endpoint_id, now)
    if delay is not None and delay < settings.WEBHOOK_COUNTDOWN_MAX_SECONDS:
        webhook_deliveries_schedule([delivery.pk], countdown=delay)
    # Longer delays are started by webhook_deliveries_due_send from next_attempt_at.
    return state


def _endpoint_record(endpoint_id, state: str, response: OutboundResponse, now: datetime):
    """One UPDATE: the attempt's time and error; a finished delivery is counted."""
    changes: dict[str, Any] = {"last_delivery_at": now}
    if not response.ok:
        changes["last_error"] = response.error[:ERROR_MAX_LENGTH]
    if state != State.PENDING:
        changes["total_deliveries"] = F("total_deliveries") + 1
    if state == State.FAILED:
        changes["failed_deliveries"] = F("failed_deliveries") + 1
    WebhookEndpoint.objects.filter(pk=endpoint_id).update(**changes)


def _endpoint_disable(endpoint_id, now: datetime) -> None:
    """410 Gone: the receiver says the endpoint is no more; stop sending to it."""
    reason = f"The URL answered 410 Gone at {iso_utc(now)}."
    WebhookEndpoint.objects.filter(pk=endpoint_id).update(
        is_active=False, disabled_reason=reason, updated_at=now
    )
    deliveries_cancel(WebhookDelivery.objects.filter(endpoint_id=endpoint_id))
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
