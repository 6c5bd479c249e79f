"""The audience of a tenant: contacts, the segments that select them, message templates, and
contact import jobs. All live in the tenant's schema."""

import uuid

from django.conf import settings
from django.contrib.postgres.fields import ArrayField
from django.contrib.postgres.indexes import GinIndex, OpClass
from django.db import models
from django.db.models import Q, Value
from django.db.models.functions import Concat, Upper


def _created_by():
    # Users live in the public schema. No database constraint and DO_NOTHING, so deleting a
    # user from the public schema never makes Django look for this tenant-only table.
    return models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.DO_NOTHING,
        db_constraint=False,
        db_index=False,
        related_name="+",
    )


# What contact search matches against; the same expression is indexed (contact_search_trgm).
# Fields are joined with the ASCII unit separator, which no search term holds, so a term never
# matches across two fields.
SEARCH_FIELD_SEPARATOR = "\x1f"
CONTACT_SEARCH_TEXT = Upper(
    Concat(
        "name",
        Value(SEARCH_FIELD_SEPARATOR),
        "phone_e164",
        Value(SEARCH_FIELD_SEPARATOR),
        "email",
        output_field=models.TextField(),
    )
)


class Contact(models.Model):
    """A person a tenant messages, unique by E.164 phone and, when given, by email.

    Deleting is soft (`deleted_at`); a deleted contact is gone from every read and comes back
    if it is created or imported again.
    """

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    name = models.CharField(max_length=200, blank=True)
    phone_e164 = models.CharField(max_length=20)
    email = models.EmailField(blank=True, default="")
    attributes = models.JSONField(default=dict, blank=True)
    tags = ArrayField(models.CharField(max_length=64), default=list, blank=True)
    is_active = models.BooleanField(default=True)
    is_opted_in = models.BooleanField(default=False)
    opt_in_at = models.DateTimeField(null=True, blank=True)
    opt_out_at = models.DateTimeField(null=True, blank=True)
    opt_out_reason = models.CharField(max_length=255, blank=True)
    last_contacted_at = models.DateTimeField(null=True, blank=True)
    created_by = _created_by()
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)
    deleted_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "id"]
        constraints = [
            models.UniqueConstraint(fields=["phone_e164"], name="contact_unique_phone"),
            models.UniqueConstraint(
                fields=["email"], condition=~Q(email=""), name="contact_unique_email"
            ),
        ]
        indexes = [
            models.Index(fields=["-created_at", "id"], name="contact_created"),
            GinIndex(fields=["tags"], name="contact_tags"),
            # One trigram index over name, phone and email: a third of the write cost of three.
            GinIndex(OpClass(CONTACT_SEARCH_TEXT, name="gin_trgm_ops"), name="contact_search_trgm"),
        ]

    def __str__(self):
        return f"{self.name or self.phone_e164}"


class Segment(models.Model):
    """A saved filter over contacts (messaging.segment_filters); `contact_count` is stored."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    name = models.CharField(max_length=200)
    description = models.TextField(blank=True)
    filter_json = models.JSONField(default=dict, blank=True)
    contact_count = models.PositiveIntegerField(default=0)
    counted_at = models.DateTimeField(null=True, blank=True)
    created_by = _created_by()
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["name", "id"]

    def __str__(self):
        return self.name


class Template(models.Model):
    """Message text with {{variable}} placeholders.

    approval_status: SMS templates are approved on creation; WhatsApp templates start pending
    (Meta reviews them): pending -> approved | rejected.
    """

    class Channel(models.TextChoices):
        SMS = "sms", "SMS"
        WHATSAPP = "whatsapp", "WhatsApp"

    class Language(models.TextChoices):
        ENGLISH = "en", "English"
        SWAHILI = "sw", "Swahili"
        FRENCH = "fr", "French"
        ARABIC = "ar", "Arabic"

    class ApprovalStatus(models.TextChoices):
        PENDING = "pending", "Pending"
        APPROVED = "approved", "Approved"
        REJECTED = "rejected", "Rejected"

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    name = models.CharField(max_length=200)
    category = models.CharField(max_length=64, blank=True)
    language = models.CharField(max_length=2, choices=Language.choices, default=Language.ENGLISH)
    channel = models.CharField(max_length=16, choices=Channel.choices, default=Channel.SMS)
    content = models.TextField()
    variables = ArrayField(models.CharField(max_length=64), default=list, blank=True)
    is_active = models.BooleanField(default=True)
    approval_status = models.CharField(
        max_length=16, choices=ApprovalStatus.choices, default=ApprovalStatus.APPROVED
    )
    usage_count = models.PositiveIntegerField(default=0)
    is_favorite = models.BooleanField(default=False)
    created_by = _created_by()
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["name", "id"]

    def __str__(self):
        return self.name


class ContactImport(models.Model):
    """A contact file too large to import within the request, run by a worker.

    Status: queued -> running -> completed | failed. Rows are merged in chunks, each committed
    with the counts so far, so a job that stops part-way is explained by its counts and resumes
    after `rows_done`.
    """

    class Status(models.TextChoices):
        QUEUED = "queued", "Queued"
        RUNNING = "running", "Running"
        COMPLETED = "completed", "Completed"
        FAILED = "failed", "Failed"

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.QUEUED)
    file = models.FileField(upload_to="contact-imports/")
    file_format = models.CharField(max_length=8)
    skip_duplicates = models.BooleanField(default=True)
    update_existing = models.BooleanField(default=False)
    total_rows = models.PositiveIntegerField(default=0)
    rows_done = models.PositiveIntegerField(default=0)
    imported_count = models.PositiveIntegerField(default=0)
    updated_count = models.PositiveIntegerField(default=0)
    skipped_count = models.PositiveIntegerField(default=0)
    errors = models.JSONField(default=list, blank=True)
    failure = models.TextField(blank=True)
    created_by = _created_by()
    created_at = models.DateTimeField(auto_now_add=True)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "id"]

    def __str__(self):
        return f"import {self.id} ({self.status})"

    @property
    def progress_percentage(self) -> int:
        if self.status == self.Status.COMPLETED:
            return 100
        return int(self.rows_done * 100 / self.total_rows) if self.total_rows else 0


class SendRequest(models.Model):
    """One accepted send: a text (or a template) to one or more recipients.

    Its id is the `message_id` the send API answers with; each recipient is a Message.
    """

    class Source(models.TextChoices):
        DASHBOARD = "dashboard", "Dashboard"
        API = "api", "Integration API"
        CAMPAIGN = "campaign", "Campaign"

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    channel = models.CharField(max_length=16, default="sms")
    source = models.CharField(max_length=16, choices=Source.choices, default=Source.DASHBOARD)
    text = models.TextField()
    sender_id = models.CharField(max_length=11)
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
    created_by = _created_by()
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

    Inbound messages are `received`. Apart from a retry, a status never moves backwards
    (see STATUS_RANK); each status has its own timestamp.
    """

    class Direction(models.TextChoices):
        OUTBOUND = "outbound", "Outbound"
        INBOUND = "inbound", "Inbound"

    class Channel(models.TextChoices):
        SMS = "sms", "SMS"
        WHATSAPP = "whatsapp", "WhatsApp"

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
    direction = models.CharField(
        max_length=8, choices=Direction.choices, default=Direction.OUTBOUND
    )
    channel = models.CharField(max_length=16, choices=Channel.choices, default=Channel.SMS)
    status = models.CharField(max_length=16, choices=Status.choices)
    recipient = models.CharField(max_length=20, help_text="E.164 number the message goes to")
    sender = models.CharField(max_length=20, help_text="Sender id or number it comes from")
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
    # Set just before the provider is called: a message `sending` without it was never handed
    # over and may be queued again; with it, the outcome is unknown and it must not be resent.
    handed_at = models.DateTimeField(null=True, blank=True)
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


# A status report may only move a message to a higher rank (DESIGN section 5).
STATUS_RANK = {
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
FINAL_STATUSES = frozenset(status for status, rank in STATUS_RANK.items() if rank == 4)


class Campaign(models.Model):
    """A message to a targeted audience, sent now, at `scheduled_at`, or on a recurring schedule.

        draft -> scheduled -> running <-> paused -> completed | cancelled | failed
        draft -> running;  draft | scheduled | paused -> cancelled

    Recipients are the union of `target_contact_ids`, the contacts of `target_segment_ids` and
    those matching `target_criteria` (messaging.services.campaigns). Each start creates one
    SendRequest whose messages carry the campaign; the counters are kept as they change, so a
    list of large campaigns never counts messages. Delivery reports arrive after the last
    message is sent, so the counters keep refreshing past the end of a send, up to
    `counters_open_until` (messaging.services.campaigns.campaign_counters_refresh).

    A recurring campaign (`recurring_schedule`, messaging.recurrence) is `scheduled` between
    runs, with `next_run_at` the next occurrence; beat starts each run (a CampaignRun) for the
    audience of that moment:

        scheduled -> running (the run's messages are pending) -> scheduled | completed
        scheduled -> scheduled (a run that could not start is a failed CampaignRun)

    It is never started by hand; pause and resume act on the current run, cancel also ends
    the schedule. Its counters and `send_request` are those of the latest run. It completes
    when the schedule has no occurrence left.
    """

    class Status(models.TextChoices):
        DRAFT = "draft", "Draft"
        SCHEDULED = "scheduled", "Scheduled"
        RUNNING = "running", "Running"
        PAUSED = "paused", "Paused"
        COMPLETED = "completed", "Completed"
        CANCELLED = "cancelled", "Cancelled"
        FAILED = "failed", "Failed"

    class Type(models.TextChoices):
        SMS = "sms", "SMS"

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    name = models.CharField(max_length=200)
    description = models.TextField(blank=True)
    campaign_type = models.CharField(max_length=16, choices=Type.choices, default=Type.SMS)
    message_text = models.TextField(blank=True)
    template = models.ForeignKey(
        Template, null=True, blank=True, on_delete=models.PROTECT, related_name="campaigns"
    )
    sender_id = models.CharField(max_length=11, blank=True)
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.DRAFT)
    target_contact_ids = ArrayField(models.UUIDField(), default=list, blank=True)
    target_segment_ids = ArrayField(models.UUIDField(), default=list, blank=True)
    target_criteria = models.JSONField(default=dict, blank=True)
    settings = models.JSONField(default=dict, blank=True)
    is_recurring = models.BooleanField(default=False)
    recurring_schedule = models.JSONField(default=dict, blank=True)
    scheduled_at = models.DateTimeField(null=True, blank=True)
    started_at = models.DateTimeField(null=True, blank=True)
    completed_at = models.DateTimeField(null=True, blank=True)
    send_request = models.ForeignKey(
        SendRequest, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    total_recipients = models.PositiveIntegerField(default=0)
    sent_count = models.PositiveIntegerField(default=0)
    delivered_count = models.PositiveIntegerField(default=0)
    read_count = models.PositiveIntegerField(default=0)
    failed_count = models.PositiveIntegerField(default=0)
    pending_count = models.PositiveIntegerField(default=0, help_text="Not yet sent or failed")
    credits_reserved = models.PositiveIntegerField(default=0)
    failure_reason = models.CharField(max_length=255, blank=True)
    next_run_at = models.DateTimeField(null=True, blank=True, help_text="Recurring: next run")
    counters_open_until = models.DateTimeField(
        null=True,
        blank=True,
        help_text="Its send is done but delivery reports may still come: counters refresh "
        "until then, or until none is awaited",
    )
    created_by = _created_by()
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-created_at", "id"]
        indexes = [
            models.Index(fields=["status", "scheduled_at"], name="campaign_status_due"),
            models.Index(fields=["status", "next_run_at"], name="campaign_status_next_run"),
        ]

    def __str__(self):
        return self.name


class CampaignRun(models.Model):
    """One occurrence of a recurring campaign: `started` (its SendRequest carries the messages)
    or `failed` (nothing was sent, `failure_reason` says why). At most one per occurrence."""

    class Status(models.TextChoices):
        STARTED = "started", "Started"
        FAILED = "failed", "Failed"

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    campaign = models.ForeignKey(Campaign, on_delete=models.CASCADE, related_name="runs")
    send_request = models.ForeignKey(
        SendRequest, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    scheduled_for = models.DateTimeField()
    started_at = models.DateTimeField()
    status = models.CharField(max_length=16, choices=Status.choices)
    failure_reason = models.CharField(max_length=255, blank=True)
    recipients = models.PositiveIntegerField(default=0)
    credits = models.PositiveIntegerField(default=0)

    class Meta:
        ordering = ["-scheduled_for"]
        constraints = [
            models.UniqueConstraint(
                fields=["campaign", "scheduled_for"], name="campaign_run_once_per_occurrence"
            )
        ]

    def __str__(self):
        return f"{self.campaign_id} @ {self.scheduled_for:%Y-%m-%d %H:%M}"
