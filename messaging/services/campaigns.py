"""Campaigns: who they reach (the audience and its dry-run arithmetic), their state machine,
the fan-out of a start through the send pipeline (messaging.services.messages), and the runs
of recurring campaigns (their schedules are messaging.recurrence)."""

import uuid
from collections import Counter
from dataclasses import dataclass, field
from datetime import timedelta

from django.conf import settings
from django.db import connection, transaction
from django.db.models import Count, Q, Sum
from django.utils import timezone

from billing.selectors import credits_cost
from integration.services.webhooks import campaign_event_emit
from messaging.models import Campaign, CampaignRun, Message, Segment, SendRequest
from messaging.recurrence import ScheduleError, next_run_after, schedule_clean
from messaging.segment_filters import SegmentFilterError, segment_filter_q
from messaging.selectors import contacts_live
from messaging.services.messages import message_send_to_contacts
from messaging.services.templates import (
    CONTACT_VALUE_FIELDS,
    contact_values,
    is_personalised,
    template_render,
)
from mifumo.errors import ApplicationError, ErrorCode
from sms.segments import segment_info
from sms.selectors import sender_id_check

Status = Campaign.Status
# E.164 as stored: a plus, a country code that does not start with 0, 7 to 15 digits in all.
_E164 = r"^\+[1-9][0-9]{6,14}$"
# Which transitions each action allows (DESIGN: an illegal one is 400 INVALID_STATUS).
_ALLOWED = {
    "start": (Status.DRAFT, Status.SCHEDULED),
    "pause": (Status.RUNNING,),
    "resume": (Status.PAUSED,),
    "cancel": (Status.DRAFT, Status.SCHEDULED, Status.RUNNING, Status.PAUSED),
    "edit": (Status.DRAFT, Status.SCHEDULED),
    "delete": (Status.DRAFT, Status.SCHEDULED, Status.COMPLETED, Status.CANCELLED, Status.FAILED),
}


def _invalid(field_name: str, message: str) -> ApplicationError:
    return ApplicationError(
        message, code=ErrorCode.VALIDATION_ERROR, errors={field_name: [message]}
    )


def _require(campaign: Campaign, action: str) -> None:
    allowed = _ALLOWED[action]
    if campaign.status not in allowed:
        raise ApplicationError(
            f"A {campaign.status} campaign cannot {action}.",
            code=ErrorCode.INVALID_STATUS,
            details={"current_status": campaign.status, "allowed_statuses": list(allowed)},
        )


# --- The audience ---------------------------------------------------------------------------


# target_criteria: what each key does. `tags`, `attributes` and `custom_fields` (the
# dashboard's name for an attributes filter) are ANDed into one target; `groups` are segment
# ids, each a target like target_segment_ids; `opt_in_status` only restricts.
CRITERIA_KEYS = ("tags", "attributes", "custom_fields", "groups", "opt_in_status")
_CRITERIA_RULES = {"tags": "tags", "attributes": "attributes", "custom_fields": "attributes"}
# opt_in_status: `opted_in` keeps the contacts whose consent stands (not opted out), which
# every campaign requires already; `any` (or `all`, or blank) restricts nothing.
OPT_IN_STATUSES = ("opted_in", "any", "all")


def _blank(value) -> bool:
    return value is None or (isinstance(value, str | list | dict) and not value)


def _criteria(criteria) -> tuple[Q | None, list[uuid.UUID]]:
    """`target_criteria` as (the contacts it matches, or None when it names none; the segment
    ids of its `groups`). Blank keys are left out: an emptied form field targets nobody.

    `opt_in_status` never adds contacts, so criteria with only it target nobody; it cannot
    ask for opted-out contacts, whom no campaign messages.
    """
    if _blank(criteria):
        return None, []
    if not isinstance(criteria, dict):
        raise _invalid("target_criteria", "must be a JSON object")
    unknown = sorted(set(criteria) - set(CRITERIA_KEYS))
    if unknown:
        raise _invalid("target_criteria", f"unknown keys {unknown}; use {list(CRITERIA_KEYS)}")
    opt_in = criteria.get("opt_in_status")
    if not _blank(opt_in) and opt_in not in OPT_IN_STATUSES:
        raise _invalid(
            "target_criteria",
            f"opt_in_status is one of {', '.join(OPT_IN_STATUSES)}: opted-out contacts are "
            "never messaged",
        )
    match = None
    for key, rule in _CRITERIA_RULES.items():
        if _blank(criteria.get(key)):
            continue
        try:
            query = segment_filter_q({rule: criteria[key]})
        except SegmentFilterError as exc:
            raise _invalid("target_criteria", f"{key} {exc.errors[rule]}") from exc
        match = query if match is None else match & query
    return match, _group_ids(criteria.get("groups"))


def _group_ids(groups) -> list[uuid.UUID]:
    if _blank(groups):
        return []
    try:
        if not isinstance(groups, list):
            raise TypeError
        return [uuid.UUID(str(group)) for group in groups]
    except (TypeError, ValueError) as exc:
        raise _invalid("target_criteria", "groups must be a list of segment ids") from exc


@dataclass
class Audience:
    """The contacts a campaign reaches, and why the others were left out."""

    recipients: object  # a queryset of contacts
    total: int
    explanations: list[str] = field(default_factory=list)


def _targets(contact_ids, segment_ids, criteria) -> list[Q]:
    """Each target as a contact filter: the listed contacts, each segment (of
    target_segment_ids and of the criteria's groups), the criteria."""
    criteria_q, groups = _criteria(criteria)
    segment_ids = set(segment_ids or [])
    segments = list(Segment.objects.filter(pk__in=segment_ids | set(groups)))
    missing = (segment_ids | set(groups)) - {segment.pk for segment in segments}
    if missing & segment_ids:
        raise _invalid("target_segment_ids", "Some segments do not exist.")
    if missing:
        raise _invalid("target_criteria", "Some groups are not segments of this account.")
    targets = [Q(pk__in=contact_ids)] if contact_ids else []
    targets += [segment_filter_q(segment.filter_json) for segment in segments]
    if criteria_q is not None:
        targets.append(criteria_q)
    if not targets:
        raise _invalid("target_contact_ids", "Target contacts, segments or criteria.")
    return targets


_OPTED_OUT = Q(is_opted_in=False, opt_out_at__isnull=False)


def _matched(targets: list[Q]):
    """The live contacts any target matches, each once."""
    union = Q()
    for target in targets:
        union |= target
    return contacts_live().filter(union)


def _reachable(matched):
    return matched.filter(is_active=True, phone_e164__regex=_E164).exclude(_OPTED_OUT)


def campaign_recipients(*, contact_ids, segment_ids, criteria):
    """The contacts a campaign reaches (a queryset, each contact once): the union of the
    three targets without inactive, opted-out or impossible numbers."""
    return _reachable(_matched(_targets(contact_ids, segment_ids, criteria)))


def campaign_audience(*, contact_ids, segment_ids, criteria) -> Audience:
    """campaign_recipients with how many they are and why the others were left out. A
    handful of counts, whatever the audience's size."""
    live = contacts_live()
    contact_ids = list(dict.fromkeys(contact_ids or []))
    targets = _targets(contact_ids, segment_ids, criteria)
    matched = _matched(targets)
    listed = sum(live.filter(target).count() for target in targets)
    counts = matched.aggregate(
        union=Count("id"),
        inactive=Count("id", filter=Q(is_active=False)),
        opted_out=Count("id", filter=Q(is_active=True) & _OPTED_OUT),
        invalid=Count("id", filter=Q(is_active=True) & ~_OPTED_OUT & ~Q(phone_e164__regex=_E164)),
    )
    unknown = len(contact_ids) - live.filter(pk__in=contact_ids).count()
    explanations = [
        f"Duplicates removed: {listed - counts['union']}",
        f"Opted-out contacts excluded: {counts['opted_out']}",
        f"Inactive contacts excluded: {counts['inactive']}",
        f"Invalid numbers excluded: {counts['invalid']}",
    ]
    if unknown:
        explanations.append(f"Unknown or deleted contacts ignored: {unknown}")
    total = counts["union"] - counts["inactive"] - counts["opted_out"] - counts["invalid"]
    return Audience(recipients=_reachable(matched), total=total, explanations=explanations)


@dataclass(frozen=True)
class Estimate:
    total_recipients: int
    credits: int
    segments_per_message: int
    explanations: list[str]

    @property
    def cost(self) -> float:
        return float(credits_cost(self.credits))


def campaign_estimate(*, audience: Audience, text: str, template) -> Estimate:
    """What a start would cost: each recipient's text (the template's or the message's, its
    variables filled per contact) in segments. A variable a contact lacks renders empty and
    is counted."""
    explanations = list(audience.explanations)
    content = template.content if template is not None else text
    if not is_personalised(content):
        segments = segment_info(content).segments
        return Estimate(audience.total, segments * audience.total, segments, explanations)
    credits, longest, missing = 0, 0, Counter()
    rows = audience.recipients.order_by().values_list(*CONTACT_VALUE_FIELDS)
    for row in rows.iterator(chunk_size=20_000):
        rendered, lacking = template_render(content, contact_values(*row))
        segments = segment_info(rendered).segments
        credits, longest = credits + segments, max(longest, segments)
        missing.update(lacking)
    explanations += [f"Contacts missing {{{{{name}}}}}: {n}" for name, n in sorted(missing.items())]
    return Estimate(audience.total, credits, longest, explanations)


def _targets_of(campaign: Campaign) -> dict:
    return {
        "contact_ids": campaign.target_contact_ids,
        "segment_ids": campaign.target_segment_ids,
        "criteria": campaign.target_criteria,
    }


# --- Writes ---------------------------------------------------------------------------------


CAMPAIGN_FIELDS = (
    "name", "description", "campaign_type", "message_text", "template", "sender_id",
    "target_contact_ids", "target_segment_ids", "target_criteria", "settings", "is_recurring",
    "recurring_schedule", "scheduled_at",
)  # fmt: skip


def _check_message(campaign: Campaign) -> str:
    """The sender the campaign sends from (approved for the tenant: 400 SENDER_ID_INVALID
    otherwise), once its text or template is there."""
    if not campaign.message_text.strip() and campaign.template is None:
        raise ApplicationError(
            "Give the campaign a message_text or a template.", code=ErrorCode.MISSING_MESSAGE
        )
    return sender_id_check(tenant_id=connection.tenant.pk, name=campaign.sender_id)


def _schedule(campaign: Campaign) -> None:
    """Status and `next_run_at` from `scheduled_at`, or from the recurring schedule, checked."""
    campaign.next_run_at = None
    if campaign.is_recurring:
        now, default_tz = timezone.now(), connection.tenant.timezone
        try:
            schedule = schedule_clean(campaign.recurring_schedule, default_tz=default_tz, now=now)
        except ScheduleError as exc:
            raise _invalid("recurring_schedule", str(exc)) from exc
        campaign.recurring_schedule = schedule
        campaign.next_run_at = next_run_after(schedule, now, default_tz)
    due = campaign.is_recurring or campaign.scheduled_at is not None
    campaign.status = Status.SCHEDULED if due else Status.DRAFT


@transaction.atomic
def campaign_create(*, data: dict, created_by=None) -> Campaign:
    campaign = Campaign(created_by=created_by, **data)
    _check_message(campaign)
    audience = campaign_audience(**_targets_of(campaign))
    estimate = campaign_estimate(
        audience=audience, text=campaign.message_text, template=campaign.template
    )
    campaign.total_recipients = estimate.total_recipients
    _schedule(campaign)
    campaign.save()
    return campaign


@transaction.atomic
def campaign_update(*, campaign: Campaign, data: dict) -> Campaign:
    _require(campaign, "edit")
    for name, value in data.items():
        setattr(campaign, name, value)
    _check_message(campaign)
    campaign.total_recipients = campaign_audience(**_targets_of(campaign)).total
    _schedule(campaign)
    campaign.save()
    return campaign


COPY_SUFFIX = " (Copy)"


def campaign_duplicate(*, campaign: Campaign, name: str | None = None, created_by=None) -> Campaign:
    """A new draft with the campaign's message, targets and settings, named `name` or
    "<name> (Copy)". It is not scheduled, and a recurring campaign's copy keeps its schedule
    but is not recurring until edited so (a copy never starts on its own)."""
    data = {field_name: getattr(campaign, field_name) for field_name in CAMPAIGN_FIELDS}
    max_length = Campaign._meta.get_field("name").max_length
    data["name"] = name or campaign.name[: max_length - len(COPY_SUFFIX)] + COPY_SUFFIX
    data["scheduled_at"], data["is_recurring"] = None, False
    return campaign_create(data=data, created_by=created_by)


def campaign_delete(*, campaign: Campaign) -> None:
    _require(campaign, "delete")
    campaign.delete()


def _fan_out(campaign: Campaign, *, tenant, started_by) -> SendRequest:
    """One send to the campaign's audience as it is now: reserve all its credits (402 and
    nothing made when short), create the messages in COPYs streamed from the audience query
    and hand them to the pipeline; the campaign is running that send."""
    sender = _check_message(campaign)  # again: an approval may have been withdrawn since
    send = message_send_to_contacts(
        tenant=tenant,
        contacts=campaign_recipients(**_targets_of(campaign)),
        sender=sender,
        text=campaign.message_text,
        template=campaign.template,
        created_by=started_by,
    )
    campaign.send_request = send
    campaign.status = Status.RUNNING
    campaign.started_at = campaign.started_at or timezone.now()
    campaign.total_recipients = campaign.pending_count = send.recipient_count
    campaign.sent_count = campaign.delivered_count = campaign.failed_count = 0
    campaign.credits_reserved = send.credits
    campaign.counters_open_until = None  # the counters follow this send now
    return send


@transaction.atomic
def campaign_start(*, campaign: Campaign, tenant, started_by=None) -> Campaign:
    """Send a draft or scheduled campaign now (a recurring one only starts on its schedule)."""
    campaign = Campaign.objects.select_for_update().get(pk=campaign.pk)
    _require(campaign, "start")
    if campaign.is_recurring:
        raise _invalid("is_recurring", "A recurring campaign starts on its schedule.")
    _fan_out(campaign, tenant=tenant, started_by=started_by)
    campaign.save()
    campaign_event_emit(event_type="campaign.started", campaign=campaign)
    return campaign


@transaction.atomic
def campaign_run_due(*, campaign_id, tenant) -> CampaignRun | None:
    """Start the due occurrence of a recurring campaign and move `next_run_at` on, once: the
    campaign row is locked and re-read, and a CampaignRun is unique per occurrence. A run that
    cannot start (e.g. 402) is a failed CampaignRun and the next one stays scheduled. Missed
    occurrences (beat was down) collapse into this one late run."""
    campaign = Campaign.objects.select_for_update().get(pk=campaign_id)
    now = timezone.now()
    due = campaign.next_run_at is not None and campaign.next_run_at <= now
    if not (campaign.is_recurring and campaign.status == Status.SCHEDULED and due):
        return None
    run = CampaignRun(campaign=campaign, scheduled_for=campaign.next_run_at, started_at=now)
    try:
        with transaction.atomic():  # a refused send leaves nothing behind
            send = _fan_out(campaign, tenant=tenant, started_by=None)
    except ApplicationError as exc:
        run.status, run.failure_reason = CampaignRun.Status.FAILED, exc.message[:255]
    else:
        run.status, run.send_request = CampaignRun.Status.STARTED, send
        run.recipients, run.credits = send.recipient_count, send.credits
    run.save()
    campaign.next_run_at = next_run_after(campaign.recurring_schedule, now, tenant.timezone)
    if campaign.next_run_at is None and campaign.status == Status.SCHEDULED:
        campaign.status, campaign.completed_at = Status.COMPLETED, now
    campaign.save()
    if run.status == CampaignRun.Status.STARTED:
        campaign_event_emit(event_type="campaign.started", campaign=campaign)
    elif campaign.status == Status.COMPLETED and campaign.counters_open_until is None:
        # Otherwise the last run's reports are still coming: the refresh that finalises its
        # counters publishes campaign.completed.
        campaign_event_emit(event_type="campaign.completed", campaign=campaign)
    return run


def campaign_pause(*, campaign: Campaign) -> Campaign:
    """Queued messages wait (the pipeline claims none of a paused campaign's); those already
    claimed finish their batch."""
    return _move(campaign, "pause", Status.PAUSED)


@transaction.atomic
def campaign_resume(*, campaign: Campaign) -> Campaign:
    from sms.pipeline import outbox_enqueue_send

    campaign = _move(campaign, "resume", Status.RUNNING)
    outbox_enqueue_send(campaign.send_request_id)
    return campaign


@transaction.atomic
def campaign_cancel(*, campaign: Campaign, tenant) -> Campaign:
    """Stop what is not sent yet and refund it; what was sent stays sent."""
    from billing.services import credit_refund

    campaign = _move(campaign, "cancel", Status.CANCELLED, completed=True)
    if campaign.next_run_at is not None:  # a recurring campaign's future runs end here
        campaign.next_run_at = None
        campaign.save(update_fields=["next_run_at", "updated_at"])
    if campaign.send_request_id is None:
        return campaign
    # What was sent still gets its reports: the counters follow them for a while.
    campaign.counters_open_until = _counters_window_end()
    campaign.save(update_fields=["counters_open_until", "updated_at"])
    unsent = Message.objects.filter(
        send_request_id=campaign.send_request_id,
        status__in=[Message.Status.SCHEDULED, Message.Status.QUEUED],
    )
    credits = unsent.aggregate(credits=Sum("credits"))["credits"] or 0
    canceled = unsent.update(status=Message.Status.CANCELED, canceled_at=timezone.now())
    credit_refund(
        tenant_id=tenant.pk,
        credits=credits,
        reference=campaign.send_request_id,
        reason=f"Campaign cancelled: {canceled} message(s) not sent",
    )
    return campaign


def _move(campaign: Campaign, action: str, to: str, *, completed: bool = False) -> Campaign:
    with transaction.atomic():
        campaign = Campaign.objects.select_for_update().get(pk=campaign.pk)
        _require(campaign, action)
        campaign.status = to
        if completed:
            campaign.completed_at = timezone.now()
        campaign.save(update_fields=["status", "completed_at", "updated_at"])
    return campaign


def _counters_window_end():
    """Until when a finished send's counters keep refreshing: delivery reports come after the
    last message is sent, and a report is matched to its message for as long as this."""
    return timezone.now() + timedelta(seconds=settings.STATUS_EVENT_MATCH_WINDOW_SECONDS)


_AWAITING_REPORT = (Message.Status.SENT,)


def campaign_counters_refresh(*, campaign: Campaign) -> Campaign:
    """Refresh a campaign's counters (one GROUP BY over its send's index), and move it on when
    no message is left to send: completed, or scheduled again when a recurring one has runs
    ahead.

    Delivery reports keep arriving after that, so a finished send's counters stay open: they
    keep refreshing (beat calls this for every open campaign) until no message awaits its
    report (none is `sent`) or `counters_open_until` (the end of the send plus the
    status-report match window, STATUS_EVENT_MATCH_WINDOW_SECONDS) has passed. Then they are
    final, and a completed campaign publishes `campaign.completed` with those final counts:
    the event waits for the reports rather than reporting zero delivered.
    """
    rows = (
        Message.objects.filter(send_request_id=campaign.send_request_id)
        .values_list("status")
        .annotate(n=Count("id"))
        .order_by()
    )
    counts = dict(rows)
    S = Message.Status
    campaign.sent_count = sum(counts.get(s, 0) for s in (S.SENT, S.DELIVERED, S.UNDELIVERED))
    campaign.delivered_count = counts.get(S.DELIVERED, 0)
    campaign.failed_count = counts.get(S.FAILED, 0) + counts.get(S.UNDELIVERED, 0)
    campaign.pending_count = sum(counts.get(s, 0) for s in (S.SCHEDULED, S.QUEUED, S.SENDING))
    fields = ["sent_count", "delivered_count", "failed_count", "pending_count", "updated_at"]
    if campaign.status == Status.RUNNING and not campaign.pending_count:
        if campaign.next_run_at is None:
            campaign.status, campaign.completed_at = Status.COMPLETED, timezone.now()
        else:
            campaign.status = Status.SCHEDULED
        campaign.counters_open_until = _counters_window_end()
        fields += ["status", "completed_at", "counters_open_until"]
    final = False
    sending = campaign.status in (Status.RUNNING, Status.PAUSED)
    if campaign.counters_open_until is not None and not sending:
        awaiting = campaign.pending_count + sum(counts.get(s, 0) for s in _AWAITING_REPORT)
        if not awaiting or timezone.now() >= campaign.counters_open_until:
            campaign.counters_open_until, final = None, True
            fields.append("counters_open_until")
    campaign.save(update_fields=list(dict.fromkeys(fields)))
    if final and campaign.status == Status.COMPLETED:
        campaign_event_emit(event_type="campaign.completed", campaign=campaign)
    return campaign


def campaigns_advance() -> dict[str, int]:
    """Beat, in one tenant: start the scheduled campaigns and the recurring runs that are
    due, and refresh the counters of the running ones (completing those with nothing left)
    and of those whose delivery reports may still come (`counters_open_until`)."""
    now = timezone.now()
    scheduled = Campaign.objects.filter(status=Status.SCHEDULED)
    runs_due = scheduled.filter(is_recurring=True, next_run_at__lte=now)
    runs = [
        campaign_run_due(campaign_id=pk, tenant=connection.tenant)
        for pk in runs_due.values_list("pk", flat=True)
    ]
    due = scheduled.filter(is_recurring=False, scheduled_at__lte=now)
    started = 0
    for campaign in due:
        try:
            campaign_start(campaign=campaign, tenant=connection.tenant)
            started += 1
        except ApplicationError as exc:  # e.g. out of credits: the campaign fails, visibly
            campaign.status, campaign.completed_at = Status.FAILED, timezone.now()
            campaign.failure_reason = exc.message[:255]
            campaign.save(update_fields=["status", "completed_at", "failure_reason", "updated_at"])
            campaign_event_emit(event_type="campaign.failed", campaign=campaign)
    running = Campaign.objects.filter(status__in=[Status.RUNNING, Status.PAUSED])
    counting = Campaign.objects.filter(
        Q(status__in=[Status.RUNNING, Status.PAUSED]) | Q(counters_open_until__isnull=False)
    )
    for campaign in counting.exclude(send_request=None):
        campaign_counters_refresh(campaign=campaign)
    return {
        "started": started,
        "runs": len([run for run in runs if run]),
        "running": running.count(),
    }
