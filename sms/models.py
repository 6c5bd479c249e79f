"""The sms app's tables (public schema): sender IDs, the alphanumeric names tenants ask to send
SMS from, which live here so operators can review every tenant's requests in one place;
callback routes, which must be found before any tenant's schema is chosen; and channels with
their addresses, the index an inbound message finds its tenant by.
"""

import uuid

from django.conf import settings
from django.db import models
from django.db.models import Q
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


class ChannelProvider(models.TextChoices):
    SANDBOX = "sandbox", "Sandbox"
    BEEM = "beem", "Beem Africa"
    TWILIO = "twilio", "Twilio"
    WHATSAPP = "whatsapp", "WhatsApp Cloud"


class Channel(models.Model):
    """One way a tenant reaches its customers and is reached by them: a provider account and
    the addresses (numbers, sender IDs, shortcodes) it sends from and receives on.

    Two kinds, told apart by `is_platform`:
    - the tenant's own account (is_platform false): made by the tenant's owners and admins
      through the API, with the account's `credentials`, checked against the provider when
      saved, and the addresses of that account;
    - the platform's (is_platform true): at most one per (tenant, provider), with no
      credentials, working through the platform's account (the settings). Its addresses are
      platform-owned numbers an operator attached to the tenant (admin, or `manage.py
      assign_number`) and, for the sandbox, the tenant's fake number. The tenant sees it and
      may rename it or make it its default, but neither deletes it nor changes its addresses.

    `credentials` is a Fernet token (sms.credentials) of the account's {name: value}; readers
    get `credentials_hint`, the masked values written beside it, and never the token.
    `is_default` marks at most one channel per (tenant, provider): the account that provider's
    sends use; a default is active. A deleted channel keeps its row for the history that
    names it (`deleted_at` set, inactive, no default), loses its credentials and gives up
    its addresses. Changed only by sms.channels.
    """

    Provider = ChannelProvider

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    tenant = models.ForeignKey("tenants.Tenant", on_delete=models.CASCADE, related_name="channels")
    name = models.CharField(max_length=100)
    provider = models.CharField(max_length=16, choices=Provider.choices)
    is_platform = models.BooleanField(
        default=False, help_text="Works through the platform's account, with its numbers"
    )
    is_default = models.BooleanField(default=False)
    is_active = models.BooleanField(default=True)
    credentials = models.TextField(blank=True, help_text="Fernet token; never shown")
    credentials_hint = models.JSONField(
        default=dict, blank=True, help_text="The credentials masked, as readers see them"
    )
    verified_at = models.DateTimeField(
        null=True, blank=True, help_text="When the provider last accepted the credentials"
    )
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)
    deleted_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["provider", "-is_default", "created_at", "id"]
        constraints = [
            models.UniqueConstraint(
                fields=["tenant", "provider"],
                condition=Q(is_default=True),
                name="channel_one_default_per_provider",
            ),
            models.UniqueConstraint(
                fields=["tenant", "provider"],
                condition=Q(is_platform=True),
                name="channel_one_platform_per_provider",
            ),
            models.CheckConstraint(
                condition=Q(is_default=False) | Q(is_active=True), name="channel_default_is_active"
            ),
            models.CheckConstraint(
                condition=Q(provider__in=ChannelProvider.values), name="channel_provider_known"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.name} ({self.provider})"


class ChannelAddress(models.Model):
    """An address a channel sends from and receives on, and the public index from it to the
    tenant: an inbound message to `address` at `provider` belongs to `tenant`, on `channel`.

    One row per (provider, address) across all tenants, so an address has one owner: a number
    in E.164, a sender ID as typed, a shortcode as its digits. `tenant` and `provider` repeat
    the channel's, so that the lookup is one index read. A platform-owned number is an
    address of the tenant's platform channel for its provider, with the operator who attached
    it in `assigned_by`; the addresses of a tenant's own account have none. Written only by
    sms.channels.
    """

    class Kind(models.TextChoices):
        NUMBER = "number", "Phone number"
        SENDER_ID = "sender_id", "Sender ID"
        SHORTCODE = "shortcode", "Shortcode"

    channel = models.ForeignKey(Channel, on_delete=models.CASCADE, related_name="addresses")
    tenant = models.ForeignKey("tenants.Tenant", on_delete=models.CASCADE, related_name="+")
    provider = models.CharField(max_length=16, choices=ChannelProvider.choices)
    kind = models.CharField(max_length=16, choices=Kind.choices)
    address = models.CharField(max_length=32)
    assigned_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        help_text="The operator who attached this platform-owned address",
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["created_at", "id"]
        constraints = [
            # Also the index an inbound message's tenant is found by.
            models.UniqueConstraint(
                fields=["provider", "address"], name="channel_address_unique_per_provider"
            ),
        ]
        verbose_name_plural = "channel addresses"

    def __str__(self) -> str:
        return f"{self.address} ({self.provider})"
