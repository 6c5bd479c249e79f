"""The audience of a tenant: contacts, the segments that select them, message templates, and
contact import jobs."""

import uuid

from django.contrib.postgres.fields import ArrayField
from django.contrib.postgres.indexes import GinIndex, OpClass
from django.db import models
from django.db.models import Q, Value
from django.db.models.functions import Concat, Upper

from messaging.models.base import Channel, created_by_field

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
    created_by = created_by_field()
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
            # The outbox's last look before a message goes out (did its contact opt out since
            # it was queued?) probes this: it holds only the few who ever opted out.
            models.Index(
                fields=["phone_e164"],
                condition=Q(opt_out_at__isnull=False),
                name="contact_opted_out",
            ),
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
    created_by = created_by_field()
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
    created_by = created_by_field()
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
    created_by = created_by_field()
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
