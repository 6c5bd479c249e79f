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
