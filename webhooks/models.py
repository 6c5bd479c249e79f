"""Inbound provider callbacks (public schema): status reports as received. The routes that tell
which tenant a provider's message id belongs to are sms's (sms.models.CallbackRoute)."""

from django.db import models
from django.db.models import Q


class StatusEvent(models.Model):
    """One provider status report, stored before it is applied so none is lost.

    State: pending -> applied | unmatched. A pending event whose message is not found yet is
    tried again until STATUS_EVENT_MATCH_WINDOW_SECONDS have passed, then it is unmatched.
    The same report received twice is stored once (provider, event_id).
    """

    class State(models.TextChoices):
        PENDING = "pending", "Pending"
        APPLIED = "applied", "Applied"
        UNMATCHED = "unmatched", "Unmatched"

    id = models.BigAutoField(primary_key=True)
    provider = models.CharField(max_length=16)
    event_id = models.CharField(max_length=200)
    schema_name = models.CharField(max_length=63, blank=True)
    status = models.CharField(max_length=16)
    reference = models.CharField(max_length=64, blank=True)
    provider_message_id = models.CharField(max_length=64, blank=True)
    error_code = models.CharField(max_length=64, blank=True)
    occurred_at = models.DateTimeField(null=True, blank=True)
    payload = models.JSONField(default=dict)
    state = models.CharField(max_length=16, choices=State.choices, default=State.PENDING)
    attempts = models.PositiveSmallIntegerField(default=0)
    received_at = models.DateTimeField(auto_now_add=True)
    processed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-received_at"]
        constraints = [
            models.UniqueConstraint(fields=["provider", "event_id"], name="status_event_unique")
        ]
        indexes = [
            models.Index(fields=["id"], condition=Q(state="pending"), name="status_event_pending")
        ]

    def __str__(self):
        return f"{self.provider} {self.status} ({self.state})"


class PaymentCallback(models.Model):
    """One verified payment callback as received, stored once per (provider, order, status).

    State: pending -> applied | unmatched. Applying it asks the provider for the order's
    status (billing.payments.services.payment_verify): the callback itself grants nothing.
    """

    class State(models.TextChoices):
        PENDING = "pending", "Pending"
        APPLIED = "applied", "Applied"
        UNMATCHED = "unmatched", "Unmatched"

    id = models.BigAutoField(primary_key=True)
    provider = models.CharField(max_length=16)
    order_id = models.CharField(max_length=64)
    payment_status = models.CharField(max_length=32)
    reference = models.CharField(max_length=100, blank=True)
    payload = models.JSONField(default=dict)
    state = models.CharField(max_length=16, choices=State.choices, default=State.PENDING)
    received_at = models.DateTimeField(auto_now_add=True)
    processed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-received_at"]
        constraints = [
            models.UniqueConstraint(
                fields=["provider", "order_id", "payment_status"], name="payment_callback_unique"
            )
        ]

    def __str__(self) -> str:
        return f"{self.provider} {self.order_id} {self.payment_status} ({self.state})"


class StripeEvent(models.Model):
    """One verified Stripe webhook event, stored once by its id (Stripe retries and replays).

    State: pending -> applied | unmatched | ignored. A Checkout Session's events name the order
    (metadata order_id, else client_reference_id); applying a paid one asks Stripe for the
    session (billing.payments.services.payment_verify): the event itself grants nothing.
    Subscription and invoice events (webhooks.stripe_events) ask Stripe for the subscription or
    invoice and apply its answer; unmatched when it names nothing of ours. Other types are
    ignored.
    """

    class State(models.TextChoices):
        PENDING = "pending", "Pending"
        APPLIED = "applied", "Applied"
        UNMATCHED = "unmatched", "Unmatched"
        IGNORED = "ignored", "Ignored"

    id = models.BigAutoField(primary_key=True)
    event_id = models.CharField(max_length=255, unique=True)
    event_type = models.CharField(max_length=100)
    order_id = models.CharField(max_length=64, blank=True)
    object_id = models.CharField(max_length=255, blank=True)
    livemode = models.BooleanField(default=False)
    payload = models.JSONField(default=dict)
    state = models.CharField(max_length=16, choices=State.choices, default=State.PENDING)
    received_at = models.DateTimeField(auto_now_add=True)
    processed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-received_at"]

    def __str__(self) -> str:
        return f"{self.event_type} {self.event_id} ({self.state})"


class InboundMessage(models.Model):
    """One message a customer sent to one of our addresses, stored raw as the provider
    delivered it, once per (provider, provider_message_id), before anything else is done
    (webhooks.inbound). A task applies pending ones in batches: it finds the tenant by the
    receiving address (sms.models.ChannelAddress) and hands them to messaging.services.inbound.

    State: pending -> applied | unmatched (no tenant has the address) | failed (applying
    raised; `error` says why, the row stays for an operator).
    """

    class State(models.TextChoices):
        PENDING = "pending", "Pending"
        APPLIED = "applied", "Applied"
        UNMATCHED = "unmatched", "Unmatched"
        FAILED = "failed", "Failed"

    id = models.BigAutoField(primary_key=True)
    provider = models.CharField(max_length=16)
    provider_message_id = models.CharField(max_length=64)
    sender = models.CharField(max_length=32, help_text="Who wrote (E.164 for a number)")
    recipient = models.CharField(max_length=32, help_text="Our address it was sent to")
    text = models.TextField(blank=True)
    segments = models.PositiveSmallIntegerField(default=1)
    media_count = models.PositiveSmallIntegerField(default=0)
    payload = models.JSONField(default=dict)
    state = models.CharField(max_length=16, choices=State.choices, default=State.PENDING)
    schema_name = models.CharField(max_length=63, blank=True, help_text="The tenant it reached")
    error = models.CharField(max_length=500, blank=True)
    received_at = models.DateTimeField(auto_now_add=True)
    processed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-received_at"]
        constraints = [
            models.UniqueConstraint(
                fields=["provider", "provider_message_id"], name="inbound_message_once"
            )
        ]
        indexes = [
            models.Index(
                fields=["id"], condition=Q(state="pending"), name="inbound_message_pending"
            )
        ]

    def __str__(self) -> str:
        return f"{self.provider} {self.sender} -> {self.recipient} ({self.state})"
