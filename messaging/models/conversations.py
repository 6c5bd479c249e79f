"""Two-way messaging: a conversation with one contact on one channel, and the keywords that
opt contacts out and back in (issue 15)."""

import uuid

from django.conf import settings
from django.contrib.postgres.fields import ArrayField
from django.db import models
from django.db.models import Q

from messaging.models.audience import Contact


class Conversation(models.Model):
    """The messages exchanged with one contact on one channel (messaging.services.conversations).

    `channel_id` is the sms.Channel (public schema, no database constraint) the contact wrote
    to or is written from, `address` our number on it; both empty for a conversation on the
    platform's account without a channel. At most one conversation per (contact, channel) is
    not resolved.

    Status, each move made by messaging.services.conversations:
        open -> pending | resolved | snoozed      an agent (PUT), `snoozed_until` with snoozed
        pending | snoozed | resolved -> open      a reply from the contact, or an agent
        snoozed -> open                           snoozed_until passed (the periodic run)
    `active` is accepted as `open` on input. A resolved conversation that hears from its
    contact again reopens (closed_at cleared).

    The counters are kept by the service in the statements that add messages: `unread_count`
    counts inbound messages since an agent last read it (POST .../read/ clears it).
    """

    class Status(models.TextChoices):
        OPEN = "open", "Open"
        PENDING = "pending", "Pending"
        RESOLVED = "resolved", "Resolved"
        SNOOZED = "snoozed", "Snoozed"

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    contact = models.ForeignKey(Contact, on_delete=models.CASCADE, related_name="conversations")
    channel_id = models.UUIDField(null=True, blank=True, help_text="The sms.Channel")
    provider = models.CharField(max_length=16, blank=True)
    address = models.CharField(max_length=32, blank=True, help_text="Our address on the channel")
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.OPEN)
    snoozed_until = models.DateTimeField(null=True, blank=True)
    # Users live in the public schema: no database constraint (see created_by_field).
    assignee = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.DO_NOTHING,
        db_constraint=False,
        related_name="+",
    )
    subject = models.CharField(max_length=200, blank=True)
    message_count = models.PositiveIntegerField(default=0)
    unread_count = models.PositiveIntegerField(default=0)
    last_message_at = models.DateTimeField(null=True, blank=True)
    last_inbound_at = models.DateTimeField(null=True, blank=True)
    first_reply_at = models.DateTimeField(null=True, blank=True)
    closed_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-last_message_at", "-created_at", "id"]
        constraints = [
            models.UniqueConstraint(
                fields=["contact", "channel_id"],
                condition=~Q(status="resolved"),
                nulls_distinct=False,
                name="conversation_one_unresolved",
            )
        ]
        indexes = [
            models.Index(
                models.F("last_message_at").desc(nulls_last=True),
                "id",
                name="conversation_activity",
            ),
            # The list orders by activity, newest first and never-active last: so do these.
            models.Index(
                "status",
                models.F("last_message_at").desc(nulls_last=True),
                name="conversation_status",
            ),
            models.Index(
                "assignee",
                models.F("last_message_at").desc(nulls_last=True),
                name="conversation_assignee",
            ),
            models.Index(
                fields=["snoozed_until"],
                condition=Q(status="snoozed"),
                name="conversation_snoozed",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.contact_id} on {self.provider or 'sms'} ({self.status})"


class KeywordSettings(models.Model):
    """The tenant's keywords and their replies (one row, id 1; messaging.keywords). A whole
    message equal to a keyword, in any case, with surrounding spaces and punctuation ignored,
    opts the contact out, back in, or asks for help."""

    id = models.PositiveSmallIntegerField(primary_key=True, default=1, editable=False)
    opt_out_keywords = ArrayField(models.CharField(max_length=32), default=list, blank=True)
    opt_in_keywords = ArrayField(models.CharField(max_length=32), default=list, blank=True)
    help_keywords = ArrayField(models.CharField(max_length=32), default=list, blank=True)
    opt_out_reply = models.CharField(max_length=480, blank=True)
    opt_in_reply = models.CharField(max_length=480, blank=True)
    help_reply = models.CharField(max_length=480, blank=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name_plural = "keyword settings"
        constraints = [models.CheckConstraint(condition=Q(id=1), name="keyword_settings_single")]

    def __str__(self) -> str:
        return "Keywords"
