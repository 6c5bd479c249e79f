"""A campaign's sends (the tenant's schema): the fan-out of a start (campaign_fan_out, run by a
task once the start commits) and the runs of recurring campaigns (campaign_run_due, run by
beat). Both send to the audience of that moment through messaging.services.messages: the
exact reservation of its credits and the COPY of its messages, all or nothing. Each is made
once, however often its task runs."""

import uuid
from typing import Any

from django.db import connection, transaction
from django.utils import timezone

from accounts.models import User
from messaging.models import Campaign, CampaignRun, SendRequest
from messaging.recurrence import next_run_after
from messaging.selectors.campaign_audience import campaign_recipients, campaign_targets
from messaging.services.campaigns import (
    campaign_event_publish,
    campaign_fail,
    campaign_message_check,
    campaign_transition,
)
from messaging.services.messages import send_to_contacts
from mifumo.errors import ApplicationError
from tenants.models import Tenant

Status = Campaign.Status
SENDING = (Status.RUNNING, Status.PAUSED)


def _send(campaign: Campaign, *, tenant: Tenant, started_by: User | None) -> SendRequest:
    """One send to the campaign's audience as it is now (402 and nothing made when the
    balance is short)."""
    sender = campaign_message_check(campaign=campaign, tenant=tenant)  # it may be revoked since
    return send_to_contacts(
        tenant=tenant,
        contacts=campaign_recipients(**campaign_targets(campaign)),
        sender=sender,
        text=campaign.message_text,
        template=campaign.template,
        created_by=started_by,
    )


def _following(send: SendRequest) -> dict[str, Any]:
    """A campaign's fields once it runs `send`: its counters start over from that send."""
    return {
        "send_request": send,
        "total_recipients": send.recipient_count,
        "pending_count": send.recipient_count,
        "sent_count": 0,
        "delivered_count": 0,
        "failed_count": 0,
        "credits_reserved": send.credits,
        "counters_open_until": None,
    }


def _fan_out_lock(campaign_id: uuid.UUID | str, tenant: Tenant) -> bool:
    """Take the campaign's fan-out lock until the transaction ends, or False when another
    transaction holds it (the same fan-out is being made)."""
    key = f"campaign_fan_out:{tenant.schema_name}:{campaign_id}"
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_try_advisory_xact_lock(hashtextextended(%s, 0))", [key])
        return cursor.fetchone()[0]


def _awaits_send(campaign: Campaign) -> bool:
    """Started (by hand or at its scheduled time), not cancelled, and without its send yet."""
    return (
        not campaign.is_recurring
        and campaign.status in SENDING
        and campaign.send_request_id is None
    )


@transaction.atomic
def campaign_fan_out(
    *, campaign_id: uuid.UUID | str, tenant: Tenant, started_by_id: int | None = None
) -> SendRequest | None:
    """Make the send of a started campaign: reserve its audience's credits and COPY its
    messages, which the outbox hands over once this commits. Returns the send, or None when
    there was none to make.

    Once per start: the fan-out lock keeps a second task out while one makes the send, and a
    campaign that has its send (or was cancelled) gets none. The campaign row is not locked
    while the messages are made, so a pause or a cancel answers at once; it is locked after
    and checked again: a campaign cancelled meanwhile keeps no send (all of it is rolled
    back), a paused one keeps it waiting. A send that cannot be made now (the audience grew
    past the balance, nobody is left, the sender was revoked) fails the campaign, saying why.
    """
    if not _fan_out_lock(campaign_id, tenant):
        return None
    campaign = Campaign.objects.get(pk=campaign_id)
    if not _awaits_send(campaign):
        return None
    started_by = User.objects.filter(pk=started_by_id).first() if started_by_id else None
    try:
        send, failure = _send(campaign, tenant=tenant, started_by=started_by), ""
    except ApplicationError as exc:
        send, failure = None, exc.message
    if not _awaits_send(Campaign.objects.select_for_update().get(pk=campaign_id)):
        transaction.set_rollback(True)  # cancelled while its send was being made
        return None
    if send is None:
        campaign_fail(campaign_id=campaign.pk, reason=failure)
        return None
    Campaign.objects.filter(pk=campaign.pk).update(**_following(send), updated_at=timezone.now())
    return send


@transaction.atomic
def campaign_run_due(*, campaign_id: uuid.UUID, tenant: Tenant) -> CampaignRun | None:
    """Start the due occurrence of a recurring campaign and move `next_run_at` on, once: the
    campaign row is locked and re-read, and a CampaignRun is unique per occurrence. A run that
    cannot start (e.g. 402) is a failed CampaignRun and the next one stays scheduled. Missed
    occurrences (beat was down) collapse into this one late run."""
    campaign = Campaign.objects.select_for_update().get(pk=campaign_id)
    now, due_at = timezone.now(), campaign.next_run_at
    if due_at is None or due_at > now:
        return None
    if not (campaign.is_recurring and campaign.status == Status.SCHEDULED):
        return None
    run = CampaignRun(campaign=campaign, scheduled_for=due_at, started_at=now)
    send: SendRequest | None = None
    try:
        send = _send(campaign, tenant=tenant, started_by=None)
    except ApplicationError as exc:
        run.status, run.failure_reason = CampaignRun.Status.FAILED, exc.message[:255]
    else:
        run.status, run.send_request = CampaignRun.Status.STARTED, send
        run.recipients, run.credits = send.recipient_count, send.credits
    run.save()
    next_run_at = next_run_after(campaign.recurring_schedule, now, tenant.timezone)
    if send is not None:
        campaign = campaign_transition(
            campaign_id=campaign.pk,
            action="run",
            started_at=campaign.started_at or now,
            next_run_at=next_run_at,
            **_following(send),
        )
        campaign_event_publish("campaign.started", campaign)
    elif next_run_at is None:
        campaign = campaign_transition(campaign_id=campaign.pk, action="complete", next_run_at=None)
        if campaign.counters_open_until is None:
            # Otherwise the last run's reports are still coming: the refresh that finalises its
            # counters publishes campaign.completed.
            campaign_event_publish("campaign.completed", campaign)
    else:
        campaign.next_run_at = next_run_at
        campaign.save(update_fields=["next_run_at", "updated_at"])
    return run
