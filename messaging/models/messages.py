"""Sends and their messages: a SendRequest is one accepted send, each recipient a Message (the
outbox row of DESIGN section 5); a HandOver names the messages of a chunk the outbox has put in
the provider's hands and not yet recorded."""

import uuid

from django.contrib.postgres.fields import ArrayField
from django.contrib.postgres.indexes import GinIndex, OpClass
from django.db import models
from django.db.models import Q
from django.db.models.functions import Upper

from messaging.models.audience import Contact, Template
from messaging.models.base import Channel, created_by_field


class SendRequest(models.Model):
    """One accepted send: a text (or a template) to one or more recipients.

    Its id is the `message_id` the send API answers with; each recipient is a Message.
    """

    class Source(models.TextChoices):
        DASHBOARD = "dashboard", "Dashboard"
        API = "api", "Integration API"
        CAMPAIGN = "campaign", "Campaign"
        KEYWORD = "keyword", "Keyword reply"

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    channel = models.CharField(max_length=16, choices=Channel.choices, default=Channel.SMS)
    source = models.CharField(max_length=16, choices=Source.choices, default=Source.DASHBOARD)
    text = models.TextField()
    # A sender ID (11 at most), or our number on a channel for a conversation's reply.
    sender_id = models.CharField(max_length=20)
    template = models.ForeignKey(
        Template, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    encoding = models.CharField(max_length=8)
    segments = models.PositiveIntegerField(help_text="SMS parts of the longest recipient's text")
    recipient_count = models.PositiveIntegerField()
    credits = models.PositiveIntegerField(help_text="Credits reserved for every recipient")
    scheduled_at = models.DateTimeField(null=True, blank=True)
    webhook_url = models.URLField(
        max_length=500, blank=True, help_text="Also gets this send's message events"
    )
    created_by = created_by_field()
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at", "id"]
        indexes = [models.Index(fields=["-created_at", "id"], name="send_request_created")]

    def __str__(self):
        return f"send {self.id} to {self.recipient_count}"


class Message(models.Model):
    """One message on one channel, outbound or inbound. For an outbound message it is the
    outbox row of the delivery pipeline (DESIGN section 5):

        scheduled -> queued -> sending -> sent -> delivered | undelivered | failed
        scheduled | queued -> canceled;  sending -> queued (a transient error, retried)

    Inbound messages are `received` (messaging.services.inbound writes them, in their
    conversation). Apart from a retry, a status never moves backwards
    (see STATUS_RANK); each status has its own timestamp. Each move is made by one function,
    and nothing else writes `status`:

        (created) queued | scheduled     messaging.services.messages.send_create
        scheduled -> queued              messaging.outbox._release_due (the sweep)
        queued -> sending                messaging.outbox._claim
        sending -> sent                  messaging.outbox._record
        sending -> queued                messaging.outbox._requeue (retry),
                                         _requeue_unclaimed (sender's rate spent),
                                         _recover_lost (the sweep: never handed over)
        sending -> failed (refunded)     messaging.outbox.messages_fail
        scheduled | queued -> canceled   messaging.outbox.outbox_cancel_send (refunded)
        -> sent | delivered | undelivered | failed, by a provider's report (forward only)
                                         messaging.status_reports.message_status_reports_apply
    """

    class Direction(models.TextChoices):
        OUTBOUND = "outbound", "Outbound"
        INBOUND = "inbound", "Inbound"

    class Status(models.TextChoices):
        SCHEDULED = "scheduled", "Scheduled"
        QUEUED = "queued", "Queued"
        SENDING = "sending", "Sending"
        SENT = "sent", "Sent"
        DELIVERED = "delivered", "Delivered"
        UNDELIVERED = "undelivered", "Undelivered"
        FAILED = "failed", "Failed"
        CANCELED = "canceled", "Canceled"
        RECEIVED = "received", "Received"

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    # Indexed by message_send_status, which leads with it: one index less to write per row.
    send_request = models.ForeignKey(
        SendRequest,
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="messages",
        db_index=False,
    )
    contact = models.ForeignKey(
        Contact, null=True, blank=True, on_delete=models.SET_NULL, related_name="messages"
    )
    conversation = models.ForeignKey(
        "messaging.Conversation",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="messages",
        db_index=False,
    )
    direction = models.CharField(
        max_length=8, choices=Direction.choices, default=Direction.OUTBOUND
    )
    channel = models.CharField(max_length=16, choices=Channel.choices, default=Channel.SMS)
    status = models.CharField(max_length=16, choices=Status.choices)
    # 32: an inbound message's recipient is our address on a channel (ChannelAddress.address).
    recipient = models.CharField(max_length=32, help_text="E.164 number the message goes to")
    sender = models.CharField(max_length=32, help_text="Sender id or number it comes from")
    text = models.TextField()
    encoding = models.CharField(max_length=8)
    segments = models.PositiveSmallIntegerField()
    credits = models.PositiveIntegerField(default=0, help_text="Credits reserved for it")
    provider = models.CharField(max_length=16, blank=True)
    provider_message_id = models.CharField(max_length=64, blank=True)
    error_code = models.CharField(max_length=64, blank=True)
    error_message = models.CharField(max_length=500, blank=True)
    attempts = models.PositiveSmallIntegerField(default=0)
    next_attempt_at = models.DateTimeField(null=True, blank=True)
    scheduled_at = models.DateTimeField(null=True, blank=True)
    queued_at = models.DateTimeField(null=True, blank=True)
    sending_at = models.DateTimeField(null=True, blank=True)
    # The batch that claimed it while `sending`; a claim whose lease ended was a dead worker's.
    claim_id = models.UUIDField(null=True, blank=True)
    sent_at = models.DateTimeField(null=True, blank=True)
    delivered_at = models.DateTimeField(null=True, blank=True)
    failed_at = models.DateTimeField(null=True, blank=True)
    canceled_at = models.DateTimeField(null=True, blank=True)
    received_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-created_at", "id"]
        indexes = [
            models.Index(fields=["-created_at", "id"], name="message_created"),
            models.Index(fields=["send_request", "status"], name="message_send_status"),
            models.Index(
                fields=["conversation", "-created_at"],
                condition=Q(conversation__isnull=False),
                name="message_conversation",
            ),
            # Conversation search looks in the text of conversations' messages only, so
            # campaign rows pay nothing for it.
            GinIndex(
                OpClass(Upper("text"), name="gin_trgm_ops"),
                condition=Q(conversation__isnull=False),
                name="message_conversation_text",
            ),
            # Status callbacks that carry only the provider's id (Twilio) find messages here.
            models.Index(
                fields=["provider_message_id"],
                condition=~Q(provider_message_id=""),
                name="message_provider_id",
            ),
            # The pipeline's sweeps look only at unfinished outbound rows.
            models.Index(
                fields=["status", "next_attempt_at"],
                condition=Q(status__in=["scheduled", "queued", "sending"]),
                name="message_unfinished",
            ),
        ]

    def __str__(self):
        return f"{self.direction} {self.channel} to {self.recipient} ({self.status})"


class HandOver(models.Model):
    """One chunk of a claim's messages handed to the provider, written just before the call
    and deleted once its results are recorded; the outbox (messaging.outbox) owns it.

    A message `sending` that no hand-over of its claim names was never handed over and may be
    queued again; one that is named has an unknown outcome and must not be resent.
    """

    id = models.BigAutoField(primary_key=True)
    claim_id = models.UUIDField()
    message_ids = ArrayField(models.UUIDField())
    created_at = models.DateTimeField(auto_now_add=True)

    def __str__(self):
        return f"hand-over {self.id} of claim {self.claim_id} ({len(self.message_ids)})"


# A status report may only move a message to a higher rank (DESIGN section 5).
STATUS_RANK: dict[str, int] = {
    Message.Status.SCHEDULED: 0,
    Message.Status.QUEUED: 1,
    Message.Status.SENDING: 2,
    Message.Status.SENT: 3,
    Message.Status.DELIVERED: 4,
    Message.Status.UNDELIVERED: 4,
    Message.Status.FAILED: 4,
    Message.Status.CANCELED: 4,
    Message.Status.RECEIVED: 4,
}
