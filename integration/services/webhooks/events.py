"""Domain events become webhook deliveries (DESIGN sections 6 and 8).

This app subscribes to messaging's events in IntegrationConfig.ready(): a `message.*` event
carries message ids, a `campaign.*` event the campaign's public fields. A subscriber only
publishes a task (queue `webhooks`) in the event's tenant; the task creates the deliveries in
a set, one per (message or campaign, target), the targets being the tenant's active
endpoints subscribed to the event and a send's own `webhook_url`, then starts their attempts
(integration.services.webhooks.deliveries).
"""

import uuid
from datetime import datetime

from django.db.models import F
from django.utils import timezone

from integration.models import WebhookDelivery, WebhookEndpoint
from integration.services.webhooks.deliveries import webhook_deliveries_schedule
from integration.services.webhooks.endpoints import CAMPAIGN_EVENT_TYPES, MESSAGE_EVENT_TYPES
from mifumo import events
from mifumo.events import Event, iso_utc
from mifumo.tenancy import current_tenant, task_headers

# The message's time and the statuses each event reports; a message that moved on since
# (sent, then delivered before the event went out) still reports the event's own status.
_OCCURRED_AT = {
    "message.sent": "sent_at",
    "message.delivered": "delivered_at",
    "message.failed": "failed_at",
    "message.received": "received_at",
}
_EVENT_STATUSES = {
    "message.sent": ("sent",),
    "message.delivered": ("delivered",),
    "message.failed": ("failed", "undelivered"),
    "message.received": ("received",),
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
    "received_at",
    "updated_at",
    "text",
    "conversation_id",
)
EMIT_BATCH_SIZE = 1000  # message ids per task


def subscribe() -> None:
    """Called by IntegrationConfig.ready()."""
    for event_type in MESSAGE_EVENT_TYPES:
        events.subscribe(event_type, message_event_received)
    for event_type in CAMPAIGN_EVENT_TYPES:
        events.subscribe(event_type, campaign_event_received)


def message_event_received(event: Event) -> None:
    """One delivery task per EMIT_BATCH_SIZE message ids, in the event's tenant."""
    from integration.tasks import message_events_deliver

    ids = event.payload["message_ids"]
    headers = task_headers(event.schema_name)
    for start in range(0, len(ids), EMIT_BATCH_SIZE):
        message_events_deliver.apply_async(
            kwargs={"event_type": event.type, "message_ids": ids[start : start + EMIT_BATCH_SIZE]},
            headers=headers,
        )


def campaign_event_received(event: Event) -> None:
    from integration.tasks import campaign_event_deliver

    campaign_event_deliver.apply_async(
        kwargs={"event_type": event.type, "campaign": event.payload},
        headers=task_headers(event.schema_name),
    )


def _message_payload(event_type: str, event_id: str, message: dict, now: datetime) -> dict:
    statuses = _EVENT_STATUSES[event_type]
    occurred_at = message[_OCCURRED_AT[event_type]] or message["updated_at"] or now
    # What a customer wrote: its text and conversation; `recipient` is our address on it.
    received = {}
    if event_type == "message.received":
        received = {
            "from": message["sender"],
            "text": message["text"],
            "conversation_id": str(message["conversation_id"] or "") or None,
        }
    return {
        "id": event_id,
        "type": event_type,
        "created_at": iso_utc(now),
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
            "occurred_at": iso_utc(occurred_at),
            **received,
        },
    }


def new_event_id() -> str:
    return f"msg_{uuid.uuid4().hex}"


def _subscribed(tenant_id, event_type: str) -> list[tuple[uuid.UUID, str]]:
    return list(
        WebhookEndpoint.objects.filter(
            tenant_id=tenant_id, is_active=True, events__contains=[event_type]
        ).values_list("id", "url")
    )


def message_events_deliver(*, event_type: str, message_ids: list[str]) -> int:
    """Create the deliveries of one event for each of these messages of the current tenant,
    then start their first attempts. Returns how many deliveries were created.

    Two queries when no target wants the event (the common case): the subscribed endpoints,
    and the messages whose send has its own webhook_url.
    """
    from messaging.models import Message

    tenant_id = current_tenant().pk
    endpoints = _subscribed(tenant_id, event_type)
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
        targets: list[tuple[uuid.UUID | None, str]] = list(endpoints)
        webhook_url = message["webhook_url"]
        if webhook_url and webhook_url not in endpoint_urls:
            targets.append((None, webhook_url))
        deliveries.extend(_deliveries(tenant_id, targets, event_type, payload, now))
    return _created_and_scheduled(deliveries)


def campaign_event_deliver(*, event_type: str, campaign: dict) -> int:
    """Deliver a campaign event (campaign.started, .completed, .failed; `campaign` is the
    event's payload) to the current tenant's subscribed endpoints."""
    tenant_id = current_tenant().pk
    now = timezone.now()
    event_id = new_event_id()
    payload = {"id": event_id, "type": event_type, "created_at": iso_utc(now), "data": campaign}
    targets = _subscribed(tenant_id, event_type)
    return _created_and_scheduled(_deliveries(tenant_id, targets, event_type, payload, now))


def _deliveries(tenant_id, targets, event_type: str, payload: dict, now: datetime) -> list:
    """One pending delivery of the event (its payload) to each (endpoint id, url) target."""
    return [
        WebhookDelivery(
            tenant_id=tenant_id,
            endpoint_id=endpoint_id,
            url=url,
            event_id=payload["id"],
            event_type=event_type,
            payload=payload,
            next_attempt_at=now,
        )
        for endpoint_id, url in targets
    ]


def _created_and_scheduled(deliveries: list) -> int:
    created = WebhookDelivery.objects.bulk_create(deliveries, batch_size=1000)
    webhook_deliveries_schedule([delivery.pk for delivery in created])
    return len(created)
