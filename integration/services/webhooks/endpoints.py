"""Customer webhook endpoints: creating them with a Standard Webhooks secret, turning them on
and off, deleting them, and the per-tenant secret that signs deliveries to a send's own
`webhook_url`. The events an endpoint may subscribe to are EVENT_TYPES."""

import base64
import secrets

from django.db import transaction

from integration.models import WebhookDelivery, WebhookEndpoint
from integration.services.webhooks.deliveries import SECRET_PREFIX, deliveries_cancel
from mifumo.errors import field_error
from mifumo.outbound_http import TargetRefused, check_target

EVENT_TYPES = (
    "message.sent",
    "message.delivered",
    "message.failed",
    "message.received",
    "campaign.started",
    "campaign.completed",
    "campaign.failed",
)
MESSAGE_EVENT_TYPES = EVENT_TYPES[:4]
CAMPAIGN_EVENT_TYPES = EVENT_TYPES[4:]
URL_MAX_LENGTH = 500

State = WebhookDelivery.State


def _check_url(url: str) -> str:
    url = (url or "").strip()
    if not url:
        raise field_error("url", "Enter the URL that receives the events.")
    if len(url) > URL_MAX_LENGTH:
        raise field_error("url", f"The URL must be at most {URL_MAX_LENGTH} characters.")
    try:
        check_target(url)
    except TargetRefused as exc:
        raise field_error("url", str(exc)) from exc
    return url


def _check_events(events) -> list[str]:
    chosen = set(events or [])
    unknown = sorted(chosen - set(EVENT_TYPES))
    if not chosen or unknown:
        named = f"Unknown events: {', '.join(unknown)}. " if unknown else ""
        raise field_error("events", f"{named}Choose one or more of: {', '.join(EVENT_TYPES)}.")
    return [event for event in EVENT_TYPES if event in chosen]


def _new_secret() -> str:
    """A Standard Webhooks secret: the prefix and 32 random bytes in base64."""
    return SECRET_PREFIX + base64.b64encode(secrets.token_bytes(32)).decode()


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
        deliveries_cancel(WebhookDelivery.objects.filter(endpoint=endpoint))
    return endpoint


def webhook_endpoint_delete(*, endpoint: WebhookEndpoint) -> None:
    """Delete an endpoint with its deliveries and their attempts (so nothing is pending); an
    attempt in flight finds its delivery gone and records nothing."""
    endpoint.delete()
