"""The sms app's tables (public schema): sender IDs, the alphanumeric names tenants ask to send
SMS from, which live here so operators can review every tenant's requests in one place; and
callback routes, which must be found before any tenant's schema is chosen.
"""

import uuid

from django.conf import settings
from django.db import models
from django.db.models.functions import Lower


class SenderId(models.Model):
    """A sender name a tenant asked for. Only an approved one may be sent from.

    Status (changed only by sms.services, which check the current status first):
        pending -> approved | rejected   an operator reviews the request
        rejected -> pending              the tenant asks for the same name again
        approved -> revoked              an operator withdraws it (e.g. the carrier did)
    A revoked sender ID stays revoked; the tenant asks an operator to reinstate it.
    The platform sender (settings.PLATFORM_SMS_SENDER) has no row: every tenant may use it.
    """

    MAX_LENGTH = 11

    class Status(models.TextChoices):
        PENDING = "pending", "Pending"
        APPROVED = "approved", "Approved"
        REJECTED = "rejected", "Rejected"
        REVOKED = "revoked", "Revoked"

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    tenant = models.ForeignKey(
        "tenants.Tenant", on_delete=models.CASCADE, related_name="sender_ids"
    )
    name = models.CharField(max_length=MAX_LENGTH)
    purpose = models.TextField(blank=True)
    sample_message = models.TextField(blank=True)
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.PENDING)
    rejection_reason = models.TextField(
        blank=True, help_text="Why it was rejected or revoked; shown to the tenant"
    )
    reviewed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    reviewed_at = models.DateTimeField(null=True, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-created_at", "id"]
        constraints = [
            # Also the index sms.selectors.sender_id_check looks names up by, once per send.
            models.UniqueConstraint("tenant", Lower("name"), name="sender_id_unique_per_tenant"),
        ]
        verbose_name = "sender ID"
        verbose_name_plural = "sender IDs"

    def __str__(self) -> str:
        return f"{self.name} ({self.status})"


class CallbackRoute(models.Model):
    """Which schema a provider's message id belongs to, for providers whose status callbacks
    name no tenant (Beem). Recorded by the outbox when such a provider accepts messages
    (sms.services.callback_routes_record), read when their callbacks are applied."""

    provider = models.CharField(max_length=16)
    provider_message_id = models.CharField(max_length=64)
    schema_name = models.CharField(max_length=63)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["provider", "provider_message_id"], name="callback_route_unique"
            )
        ]

    def __str__(self) -> str:
        return f"{self.provider}:{self.provider_message_id} -> {self.schema_name}"
