"""Campaign lifecycle (the tenant's schema): create, edit, duplicate and delete; the one writer
of Campaign.status, campaign_transition (row lock, then the status checked against
Campaign.TRANSITIONS); the moves people make (start, pause, resume, cancel) and failing a
campaign; and the `campaign.*` events.

A start answers at once: it checks what it can without reading the audience (status, message,
sender, the stored estimate against the balance), moves the campaign to `running` and leaves
the send to a task (messaging.services.campaign_sends). Beat's work is
messaging.services.campaign_progress.
"""

import uuid
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from accounts.models import User
from billing.services import credit_balance_check
from messaging.models import Campaign
from messaging.outbox import outbox_cancel_send, outbox_enqueue_send
from messaging.recurrence import ScheduleError, next_run_after, schedule_clean
from messaging.selectors.campaign_audience import (
    campaign_audience,
    campaign_estimate,
    campaign_targets,
)
from mifumo.errors import ApplicationError, ErrorCode, field_error
from mifumo.events import iso_utc, publish
from sms.selectors import sender_id_check
from tenants.models import Tenant

Status = Campaign.Status


# --- The state machine ----------------------------------------------------------------------


def campaign_status_check(campaign: Campaign, action: str) -> None:
    """400 INVALID_STATUS, naming the current status and those `action` may be taken from,
    unless the campaign's status allows it (Campaign.TRANSITIONS)."""
    allowed = Campaign.TRANSITIONS[action].sources
    if campaign.status not in allowed:
        raise ApplicationError(
            f"A {campaign.status} campaign cannot {action}.",
            code=ErrorCode.INVALID_STATUS,
            details={"current_status": campaign.status, "allowed_statuses": list(allowed)},
        )


def _locked(campaign_id: uuid.UUID) -> Campaign:
    return Campaign.objects.select_for_update().get(pk=campaign_id)


@transaction.atomic
def campaign_transition(
    *, campaign_id: uuid.UUID, action: str, to: str | None = None, **changes: Any
) -> Campaign:
    """Move a campaign by `action`, the one way its status changes: its row is locked and its
    status checked (campaign_status_check), then it takes the action's status (`to` where the
    action has several) with `changes`, saved together. A final status stamps completed_at."""
    campaign = _locked(campaign_id)
    campaign_status_check(campaign, action)
    targets = Campaign.TRANSITIONS[action].targets
    target = to if to is not None or len(targets) != 1 else targets[0]
    if target not in targets:
        raise ValueError(f"{action!r} moves a campaign to one of {targets}, not {target!r}.")
    for name, value in changes.items():
        setattr(campaign, name, value)
    campaign.status = target
    if target in Campaign.FINAL_STATUSES:
        campaign.completed_at = timezone.now()
    campaign.save()
    return campaign


def campaign_event_publish(event_type: str, campaign: Campaign) -> None:
    """Publish `campaign.started`, `.completed` or `.failed` with the campaign as it is now."""
    publish(
        event_type,
        {
            "campaign_id": str(campaign.pk),
            "name": campaign.name,
            "status": campaign.status,
            "total_recipients": campaign.total_recipients,
            "sent_count": campaign.sent_count,
            "delivered_count": campaign.delivered_count,
            "failed_count": campaign.failed_count,
            "started_at": iso_utc(campaign.started_at),
            "completed_at": iso_utc(campaign.completed_at),
            "failure_reason": campaign.failure_reason or None,
        },
    )


# --- Create, edit, copy, delete -------------------------------------------------------------


def campaign_message_check(*, campaign: Campaign, tenant: Tenant) -> str:
    """The sender the campaign sends from (approved for the tenant: 400 SENDER_ID_INVALID
    otherwise), once its text or template is there (400 MISSING_MESSAGE)."""
    if not campaign.message_text.strip() and campaign.template is None:
        raise ApplicationError(
            "Give the campaign a message_text or a template.", code=ErrorCode.MISSING_MESSAGE
        )
    return sender_id_check(tenant_id=tenant.pk, name=campaign.sender_id)


def _prepared(campaign: Campaign, *, tenant: Tenant) -> dict[str, Any]:
    """What a campaign's own fields decide, checked: its audience and the estimate of a start,
    its next run when recurring, and its status (scheduled with a time or a schedule, else a
    draft)."""
    campaign_message_check(campaign=campaign, tenant=tenant)
    estimate = campaign_estimate(
        audience=campaign_audience(**campaign_targets(campaign)),
        text=campaign.message_text,
        template=campaign.template,
    )
    prepared: dict[str, Any] = {
        "total_recipients": estimate.total_recipients,
        "estimated_credits": estimate.credits,
        "recurring_schedule": campaign.recurring_schedule,
        "next_run_at": None,
    }
    if campaign.is_recurring:
        now, default_tz = timezone.now(), tenant.timezone
        try:
            schedule = schedule_clean(campaign.recurring_schedule, default_tz=default_tz, now=now)
        except ScheduleError as exc:
            raise field_error("recurring_schedule", str(exc)) from exc
        prepared["recurring_schedule"] = schedule
        prepared["next_run_at"] = next_run_after(schedule, now, default_tz)
    due = campaign.is_recurring or campaign.scheduled_at is not None
    prepared["status"] = Status.SCHEDULED if due else Status.DRAFT
    return prepared


@transaction.atomic
def campaign_create(*, tenant: Tenant, data: dict, created_by: User | None = None) -> Campaign:
    """A new campaign from checked input: a draft, or scheduled (`scheduled_at`, or a
    recurring schedule), with its audience counted and a start's cost estimated."""
    campaign = Campaign(created_by=created_by, **data)
    for name, value in _prepared(campaign, tenant=tenant).items():
        setattr(campaign, name, value)
    campaign.save()
    return campaign


@transaction.atomic
def campaign_update(*, campaign: Campaign, tenant: Tenant, data: dict) -> Campaign:
    """Edit a draft or scheduled campaign (any of the create fields); its audience, estimate,
    schedule and status follow the new fields."""
    campaign = _locked(campaign.pk)
    campaign_status_check(campaign, "edit")
    for name, value in data.items():
        setattr(campaign, name, value)
    prepared = _prepared(campaign, tenant=tenant)
    status = prepared.pop("status")
    return campaign_transition(
        campaign_id=campaign.pk, action="edit", to=status, **{**data, **prepared}
    )


# What a person writes in a campaign (the fields of the create and edit input): a copy takes
# these and nothing its sends wrote.
AUTHORED_FIELDS = (
    "name", "description", "campaign_type", "message_text", "template", "sender_id",
    "target_contact_ids", "target_segment_ids", "target_criteria", "settings", "is_recurring",
    "recurring_schedule", "scheduled_at",
)  # fmt: skip
COPY_SUFFIX = " (Copy)"


def campaign_duplicate(
    *,
    campaign: Campaign,
    tenant: Tenant,
    name: str | None = None,
    created_by: User | None = None,
) -> Campaign:
    """A new draft with the campaign's message, targets and settings, named `name` or
    "<name> (Copy)". It is not scheduled, and a recurring campaign's copy keeps its schedule
    but is not recurring until edited so (a copy never starts on its own)."""
    data = {field_name: getattr(campaign, field_name) for field_name in AUTHORED_FIELDS}
    shortened = campaign.name[: Campaign.NAME_MAX_LENGTH - len(COPY_SUFFIX)]
    data["name"] = name or shortened + COPY_SUFFIX
    data["scheduled_at"], data["is_recurring"] = None, False
    return campaign_create(tenant=tenant, data=data, created_by=created_by)


@transaction.atomic
def campaign_delete(*, campaign: Campaign) -> None:
    campaign = _locked(campaign.pk)
    campaign_status_check(campaign, "delete")
    campaign.delete()


# --- Start, pause, resume, cancel, fail -----------------------------------------------------


@transaction.atomic
def campaign_start(
    *, campaign: Campaign, tenant: Tenant, started_by: User | None = None
) -> Campaign:
    """Start a draft or scheduled campaign now (a recurring one starts on its schedule).

    What would refuse the send is checked here on the estimate stored at its last create or
    edit (400 for its status, message or sender, or nobody to send to; 402
    INSUFFICIENT_BALANCE), the campaign moves to `running` and publishes `campaign.started`,
    and once this commits a task makes its send (campaign_sends.campaign_fan_out). Nothing
    here reads the audience: a start takes the same few queries at any size.
    """
    campaign = _locked(campaign.pk)
    campaign_status_check(campaign, "start")
    if campaign.is_recurring:
        raise field_error("is_recurring", "A recurring campaign starts on its schedule.")
    campaign_message_check(campaign=campaign, tenant=tenant)
    if not campaign.total_recipients:
        raise ApplicationError("There is no one to send to.", code=ErrorCode.VALIDATION_ERROR)
    credit_balance_check(tenant_id=tenant.pk, credits=campaign.estimated_credits)
    campaign = campaign_transition(
        campaign_id=campaign.pk,
        action="start",
        started_at=timezone.now(),
        pending_count=campaign.total_recipients,
        sent_count=0,
        delivered_count=0,
        failed_count=0,
        counters_open_until=None,
    )
    campaign_event_publish("campaign.started", campaign)
    campaign_fan_out_enqueue(
        campaign_id=campaign.pk, started_by_id=started_by.pk if started_by else None
    )
    return campaign


def campaign_fan_out_enqueue(*, campaign_id: uuid.UUID, started_by_id: int | None = None) -> None:
    """Have a task make the started campaign's send once the current transaction commits."""
    from messaging.tasks import campaign_fan_out

    campaign_fan_out.delay_on_commit(campaign_id=str(campaign_id), started_by_id=started_by_id)


def campaign_pause(*, campaign: Campaign) -> Campaign:
    """Queued messages wait (the outbox claims none of a paused campaign's); those already
    claimed finish their batch."""
    return campaign_transition(campaign_id=campaign.pk, action="pause")


@transaction.atomic
def campaign_resume(*, campaign: Campaign) -> Campaign:
    """The paused campaign's queued messages go to the outbox again."""
    campaign = campaign_transition(campaign_id=campaign.pk, action="resume")
    if campaign.send_request_id is not None:  # else its send, still being made, releases them
        outbox_enqueue_send(campaign.send_request_id)
    return campaign


def counters_window_end() -> datetime:
    """Until when a finished send's counters keep refreshing: delivery reports come after the
    last message is sent, and a report is matched to its message for as long as this."""
    return timezone.now() + timedelta(seconds=settings.STATUS_EVENT_MATCH_WINDOW_SECONDS)


@transaction.atomic
def campaign_cancel(*, campaign: Campaign, tenant: Tenant) -> Campaign:
    """Stop what is not sent yet and refund it (a recurring campaign's future runs end too);
    what was sent stays sent, and its delivery reports reach the counters for a while."""
    campaign = _locked(campaign.pk)
    changes: dict[str, Any] = {"next_run_at": None}
    if campaign.send_request_id is not None:
        changes["counters_open_until"] = counters_window_end()
    campaign = campaign_transition(campaign_id=campaign.pk, action="cancel", **changes)
    if campaign.send_request_id is not None:
        outbox_cancel_send(
            tenant_id=tenant.pk,
            send_request_id=campaign.send_request_id,
            reason="Campaign cancelled",
        )
    return campaign


@transaction.atomic
def campaign_fail(*, campaign_id: uuid.UUID, reason: str) -> Campaign:
    """The campaign cannot send (refused at its scheduled time, or its send could not be
    made): failed, saying why, and `campaign.failed` is published."""
    campaign = campaign_transition(
        campaign_id=campaign_id,
        action="fail",
        failure_reason=reason[: Campaign.FAILURE_REASON_MAX_LENGTH],
    )
    campaign_event_publish("campaign.failed", campaign)
    return campaign
