"""Beat's campaign work in one tenant (campaigns_advance): scheduled starts and recurring runs
that are due, fan-outs whose task was lost, and the counters of the campaigns that send or
await delivery reports (campaign_counters_refresh), which is what completes a campaign."""

from datetime import timedelta

from django.db import transaction
from django.db.models import Count, Q
from django.utils import timezone

from messaging.models import Campaign, Message
from messaging.services.campaign_sends import SENDING, campaign_run_due
from messaging.services.campaigns import (
    campaign_event_publish,
    campaign_fail,
    campaign_fan_out_enqueue,
    campaign_start,
    campaign_transition,
    counters_window_end,
)
from mifumo.errors import ApplicationError, ErrorCode
from tenants.models import Tenant

Status = Campaign.Status
# A started campaign still without its send this long after its start lost its fan-out task
# (a worker died with it): the fan-out is sent again, a no-op while the first still runs.
FAN_OUT_LOST_AFTER = timedelta(minutes=1)
_AWAITING_REPORT = (Message.Status.SENT,)


@transaction.atomic
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
    campaign = Campaign.objects.select_for_update().get(pk=campaign.pk)
    rows = (
        Message.objects.filter(send_request_id=campaign.send_request_id)
        .values_list("status")
        .annotate(n=Count("id"))
        .order_by()
    )
    counts = dict(rows)
    S = Message.Status
    changes = {
        "sent_count": sum(counts.get(s, 0) for s in (S.SENT, S.DELIVERED, S.UNDELIVERED)),
        "delivered_count": counts.get(S.DELIVERED, 0),
        "failed_count": counts.get(S.FAILED, 0) + counts.get(S.UNDELIVERED, 0),
        "pending_count": sum(counts.get(s, 0) for s in (S.SCHEDULED, S.QUEUED, S.SENDING)),
        "counters_open_until": campaign.counters_open_until,
    }
    move, status = None, campaign.status
    if campaign.status == Status.RUNNING and not changes["pending_count"]:
        move = "complete" if campaign.next_run_at is None else "await_next_run"
        status = Campaign.TRANSITIONS[move].targets[0]
        changes["counters_open_until"] = counters_window_end()
    final = False
    if changes["counters_open_until"] is not None and status not in SENDING:
        awaiting = changes["pending_count"] + sum(counts.get(s, 0) for s in _AWAITING_REPORT)
        if not awaiting or timezone.now() >= changes["counters_open_until"]:
            changes["counters_open_until"], final = None, True
    if move is not None:
        campaign = campaign_transition(campaign_id=campaign.pk, action=move, **changes)
    else:
        for name, value in changes.items():
            setattr(campaign, name, value)
        campaign.save(update_fields=[*changes, "updated_at"])
    if final and campaign.status == Status.COMPLETED:
        campaign_event_publish("campaign.completed", campaign)
    return campaign


def campaigns_advance(*, tenant: Tenant) -> dict[str, int]:
    """Beat, in one tenant: start the scheduled campaigns and the recurring runs that are
    due (a scheduled start that is refused fails its campaign, visibly), send again the
    fan-outs that were lost, and refresh the counters of the running campaigns (completing
    those with nothing left) and of those whose delivery reports may still come
    (`counters_open_until`)."""
    now = timezone.now()
    scheduled = Campaign.objects.filter(status=Status.SCHEDULED)
    runs_due = scheduled.filter(is_recurring=True, next_run_at__lte=now)
    runs = [
        campaign_run_due(campaign_id=pk, tenant=tenant)
        for pk in runs_due.values_list("pk", flat=True)
    ]
    started = 0
    for campaign in scheduled.filter(is_recurring=False, scheduled_at__lte=now):
        try:
            campaign_start(campaign=campaign, tenant=tenant)
            started += 1
        except ApplicationError as exc:
            if exc.code != ErrorCode.INVALID_STATUS:  # else it was cancelled meanwhile
                campaign_fail(campaign_id=campaign.pk, reason=exc.message)
    sending = Campaign.objects.filter(status__in=SENDING)
    lost = sending.filter(
        is_recurring=False, send_request=None, started_at__lte=now - FAN_OUT_LOST_AFTER
    )
    for campaign_id in lost.values_list("pk", flat=True):
        campaign_fan_out_enqueue(campaign_id=campaign_id)
    counting = Campaign.objects.filter(Q(status__in=SENDING) | Q(counters_open_until__isnull=False))
    for campaign in counting.exclude(send_request=None):
        campaign_counters_refresh(campaign=campaign)
    return {
        "started": started,
        "runs": len([run for run in runs if run]),
        "running": sending.count(),
    }
