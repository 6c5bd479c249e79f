"""Customer webhooks: endpoints, the events that become deliveries, and the signed attempts."""

from integration.services.webhooks.deliveries import (
    SECRET_PREFIX,
    signed_headers,
    webhook_deliveries_due_send,
    webhook_deliveries_schedule,
    webhook_delivery_attempt,
    webhook_delivery_retry,
    webhook_url_secret,
)
from integration.services.webhooks.endpoints import (
    CAMPAIGN_EVENT_TYPES,
    EVENT_TYPES,
    MESSAGE_EVENT_TYPES,
    URL_MAX_LENGTH,
    webhook_endpoint_create,
    webhook_endpoint_delete,
    webhook_endpoint_toggle,
)
from integration.services.webhooks.events import (
    campaign_event_deliver,
    message_events_deliver,
    new_event_id,
)

__all__ = [
    "CAMPAIGN_EVENT_TYPES",
    "EVENT_TYPES",
    "MESSAGE_EVENT_TYPES",
    "SECRET_PREFIX",
    "URL_MAX_LENGTH",
    "campaign_event_deliver",
    "message_events_deliver",
    "new_event_id",
    "signed_headers",
    "webhook_deliveries_due_send",
    "webhook_deliveries_schedule",
    "webhook_delivery_attempt",
    "webhook_delivery_retry",
    "webhook_endpoint_create",
    "webhook_endpoint_delete",
    "webhook_endpoint_toggle",
    "webhook_url_secret",
]


# Transitional (removed when messaging publishes its own events): the old entry points.
def message_events_emit(*, event_type, message_ids):
    from mifumo.events import publish

    publish(event_type, {"message_ids": [str(pk) for pk in message_ids]})


def campaign_event_emit(*, event_type, campaign):
    from integration.services.webhooks.deliveries import _iso
    from mifumo.events import publish

    publish(
        event_type,
        {
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
    )
