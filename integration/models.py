"""The developer platform: API keys, customer webhook endpoints, and outbound webhook
deliveries with every attempt.

All live in the public schema with their tenant: a key must find its tenant before any schema
is chosen, and django-tenants migrates an app into one schema set, so the endpoints and
deliveries sit beside the keys (operators see them in the admin). Every read goes through
integration.selectors, which scopes it to one tenant.
"""

import uuid

from django.conf import settings
from django.contrib.postgres.fields import ArrayField
from django.db import models
from django.db.models import Q

API_KEY_PREFIX = "mif_"


class ApiKey(models.Model):
    """A developer's key to /api/integration/v1/. Only hashes are stored; the key and secret
    are shown once, at creation and on regenerate.

    Status: active -> revoked. An active key past `expires_at` is expired. `permissions` are
    scopes such as `sms:send`; an empty list grants them all.
    """

    class Status(models.TextChoices):
        ACTIVE = "active", "Active"
        REVOKED = "revoked", "Revoked"

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    tenant = models.ForeignKey("tenants.Tenant", on_delete=models.CASCADE, related_name="api_keys")
    name = models.CharField(max_length=100)
    key_prefix = models.CharField(max_length=16, help_text="The key's first characters, to show")
    key_hash = models.CharField(max_length=64, unique=True)
    secret_hash = models.CharField(max_length=64)
    permissions = ArrayField(models.CharField(max_length=32), default=list, blank=True)
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.ACTIVE)
    expires_at = models.DateTimeField(null=True, blank=True)
    last_used_at = models.DateTimeField(null=True, blank=True)
    total_uses = models.PositiveBigIntegerField(default=0)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    revoked_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name = "API key"
        ordering = ["-created_at", "id"]
        indexes = [models.Index(fields=["tenant", "-created_at"], name="api_key_tenant")]

    def __str__(self):
        return f"{self.name} ({self.key_prefix}...)"

    @property
    def masked_key(self) -> str:
        return f"{self.key_prefix}{'*' * 8}"


class WebhookEndpoint(models.Model):
    """A customer URL that receives signed events (Standard Webhooks).

    Active endpoints get the events they subscribe to; an endpoint answering 410 Gone is
    disabled (is_active false, `disabled_reason` says why) and gets nothing more.
    """

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    tenant = models.ForeignKey(
        "tenants.Tenant", on_delete=models.CASCADE, related_name="webhook_endpoints"
    )
    url = models.URLField(max_length=500)
    events = ArrayField(models.CharField(max_length=64))
    secret = models.CharField(max_length=100, help_text="whsec_..., the signing secret")
    is_active = models.BooleanField(default=True)
    disabled_reason = models.CharField(max_length=255, blank=True)
    total_deliveries = models.PositiveBigIntegerField(default=0)
    failed_deliveries = models.PositiveBigIntegerField(default=0)
    last_delivery_at = models.DateTimeField(null=True, blank=True)
    last_error = models.CharField(max_length=500, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-created_at", "id"]
        indexes = [models.Index(fields=["tenant", "is_active"], name="webhook_endpoint_tenant")]

    def __str__(self):
        return self.url


class WebhookDelivery(models.Model):
    """One event on its way to one target: a subscribed endpoint, or a send's own
    `webhook_url` (no endpoint).

    State: pending -> succeeded | failed (attempts used up, or the target refused for good)
    | canceled (its endpoint was disabled or deleted). `next_attempt_at` says when a pending
    delivery is tried next; each try is a WebhookAttempt.
    """

    class State(models.TextChoices):
        PENDING = "pending", "Pending"
        SUCCEEDED = "succeeded", "Succeeded"
        FAILED = "failed", "Failed"
        CANCELED = "canceled", "Canceled"

    id = models.BigAutoField(primary_key=True)
    tenant = models.ForeignKey("tenants.Tenant", on_delete=models.CASCADE, related_name="+")
    endpoint = models.ForeignKey(
        WebhookEndpoint, null=True, blank=True, on_delete=models.CASCADE, related_name="deliveries"
    )
    url = models.URLField(max_length=500)
    event_id = models.CharField(max_length=64, help_text="webhook-id: msg_...")
    event_type = models.CharField(max_length=64)
    payload = models.JSONField()
    state = models.CharField(max_length=16, choices=State.choices, default=State.PENDING)
    attempts = models.PositiveSmallIntegerField(default=0)
    next_attempt_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name_plural = "webhook deliveries"
        ordering = ["-created_at", "-id"]
        indexes = [
            models.Index(fields=["endpoint", "-created_at"], name="webhook_delivery_endpoint"),
            models.Index(
                fields=["next_attempt_at"],
                condition=Q(state="pending"),
                name="webhook_delivery_due",
            ),
        ]

    def __str__(self):
        return f"{self.event_type} to {self.url} ({self.state})"


class WebhookAttempt(models.Model):
    """One HTTP try of a delivery: when, the answer's status code, how long, what went wrong."""

    id = models.BigAutoField(primary_key=True)
    delivery = models.ForeignKey(
        WebhookDelivery, on_delete=models.CASCADE, related_name="attempt_log"
    )
    attempted_at = models.DateTimeField(auto_now_add=True)
    status_code = models.PositiveSmallIntegerField(null=True, blank=True)
    duration_ms = models.PositiveIntegerField(default=0)
    error = models.CharField(max_length=500, blank=True)

    class Meta:
        ordering = ["-attempted_at", "-id"]

    def __str__(self):
        return f"{self.status_code or self.error} at {self.attempted_at}"
