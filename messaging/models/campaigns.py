"""Campaigns and the runs of recurring ones."""

import uuid
from typing import NamedTuple

from django.contrib.postgres.fields import ArrayField
from django.db import models

from messaging.models.audience import Template
from messaging.models.base import created_by_field
from messaging.models.messages import SendRequest


class Transition(NamedTuple):
    """The statuses an action may be taken from, and those it moves to (none: the campaign
    is deleted)."""

    sources: tuple[str, ...]
    targets: tuple[str, ...]


class Campaign(models.Model):
    """A message to a targeted audience, sent now, at `scheduled_at`, or on a recurring schedule.

    Recipients are the union of `target_contact_ids`, the contacts of `target_segment_ids` and
    those matching `target_criteria` (messaging.selectors.campaign_audience); what a start
    would cost is estimated at every create and edit (`estimated_credits`). Each start creates
    one SendRequest whose messages carry the campaign; the counters are kept as they change,
    so a list of large campaigns never counts messages. Delivery reports arrive after the last
    message is sent, so the counters keep refreshing past the end of a send, up to
    `counters_open_until` (messaging.services.campaign_progress.campaign_counters_refresh).

    Status moves only through messaging.services.campaigns.campaign_transition, which locks
    the row and checks TRANSITIONS (action: from -> to):

        edit            draft | scheduled -> draft | scheduled   campaign_update (by its schedule)
        start           draft | scheduled -> running             campaign_start (a person, or
                                                                  beat at scheduled_at)
        run             scheduled -> running                     campaign_run_due (recurring)
        pause           running -> paused                        campaign_pause
        resume          paused -> running                        campaign_resume
        await_next_run  running -> scheduled                     campaign_counters_refresh
        complete        running | scheduled -> completed         campaign_counters_refresh,
                                                                  campaign_run_due (no run left)
        fail            scheduled | running | paused -> failed   campaign_fail (`failure_reason`)
        cancel          draft | scheduled | running | paused -> cancelled   campaign_cancel
        delete          draft | scheduled | completed | cancelled | failed  campaign_delete

    A start answers at once: the request moves the campaign to `running` and a task makes its
    send (messaging.services.campaign_sends.campaign_fan_out); a send that cannot be made then
    (the audience grew, the balance was spent) fails the campaign.

    A recurring campaign (`recurring_schedule`, messaging.recurrence) is `scheduled` between
    runs, with `next_run_at` the next occurrence; beat starts each run (a CampaignRun) for the
    audience of that moment, and a run that could not start is a failed CampaignRun while the
    campaign stays scheduled. It is never started by hand; pause and resume act on the current
    run, cancel also ends the schedule. Its counters and `send_request` are those of the
    latest run. It completes when the schedule has no occurrence left.
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

    FINAL_STATUSES = (Status.COMPLETED, Status.CANCELLED, Status.FAILED)
    TRANSITIONS = {
        "edit": Transition((Status.DRAFT, Status.SCHEDULED), (Status.DRAFT, Status.SCHEDULED)),
        "start": Transition((Status.DRAFT, Status.SCHEDULED), (Status.RUNNING,)),
        "run": Transition((Status.SCHEDULED,), (Status.RUNNING,)),
        "pause": Transition((Status.RUNNING,), (Status.PAUSED,)),
        "resume": Transition((Status.PAUSED,), (Status.RUNNING,)),
        "await_next_run": Transition((Status.RUNNING,), (Status.SCHEDULED,)),
        "complete": Transition((Status.RUNNING, Status.SCHEDULED), (Status.COMPLETED,)),
        "fail": Transition((Status.SCHEDULED, Status.RUNNING, Status.PAUSED), (Status.FAILED,)),
        "cancel": Transition(
            (Status.DRAFT, Status.SCHEDULED, Status.RUNNING, Status.PAUSED), (Status.CANCELLED,)
        ),
        "delete": Transition((Status.DRAFT, Status.SCHEDULED, *FINAL_STATUSES), ()),
    }

    NAME_MAX_LENGTH = 200
    FAILURE_REASON_MAX_LENGTH = 255

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    name = models.CharField(max_length=NAME_MAX_LENGTH)
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
    failed_count = models.PositiveIntegerField(default=0)
    pending_count = models.PositiveIntegerField(default=0, help_text="Not yet sent or failed")
    credits_reserved = models.PositiveIntegerField(default=0)
    estimated_credits = models.PositiveIntegerField(
        default=0, help_text="What a start would reserve, estimated at the last create or edit"
    )
    failure_reason = models.CharField(max_length=FAILURE_REASON_MAX_LENGTH, blank=True)
    next_run_at = models.DateTimeField(null=True, blank=True, help_text="Recurring: next run")
    counters_open_until = models.DateTimeField(
        null=True,
        blank=True,
        help_text="Its send is done but delivery reports may still come: counters refresh "
        "until then, or until none is awaited",
    )
    created_by = created_by_field()
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

    def can(self, action: str) -> bool:
        """Whether `action` (a key of TRANSITIONS) is allowed in the current status; the
        `can_*` fields of the API read this."""
        if action == "start" and self.is_recurring:  # its schedule starts its runs
            return False
        return self.status in self.TRANSITIONS[action].sources


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
