"""Reads of the integration app, each scoped to one tenant (the rows live in the public
schema with their tenant)."""

from django.db.models import Q
from django.utils import timezone

from integration.models import ApiKey, WebhookDelivery, WebhookEndpoint
from integration.services.keys import key_hash
from mifumo.selectors import get_or_404


def api_keys_of(*, tenant_id):
    return ApiKey.objects.filter(tenant_id=tenant_id)


def api_key_get(*, tenant_id, key_id) -> ApiKey:
    return get_or_404(api_keys_of(tenant_id=tenant_id), key_id, "API key")


def api_key_usable(raw: str) -> ApiKey | None:
    """The active, unexpired key `raw` is, with its tenant; None for anything else."""
    now = timezone.now()
    return (
        ApiKey.objects.select_related("tenant")
        .filter(key_hash=key_hash(raw), status=ApiKey.Status.ACTIVE, tenant__is_active=True)
        .filter(Q(expires_at__isnull=True) | Q(expires_at__gt=now))
        .first()
    )


def webhook_endpoints_of(*, tenant_id):
    return WebhookEndpoint.objects.filter(tenant_id=tenant_id)


def webhook_endpoint_get(*, tenant_id, endpoint_id) -> WebhookEndpoint:
    return get_or_404(webhook_endpoints_of(tenant_id=tenant_id), endpoint_id, "Webhook")


def webhook_deliveries_of(*, endpoint: WebhookEndpoint):
    return WebhookDelivery.objects.filter(endpoint=endpoint).prefetch_related("attempt_log")
