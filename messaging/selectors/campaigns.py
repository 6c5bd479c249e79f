"""Reads of campaigns (the request's tenant schema): one, a filtered list and what a page
of them shows beside their own fields, cost and analytics. Who a campaign reaches is
messaging.selectors.campaign_audience."""

from django.conf import settings
from django.db.models import Prefetch, QuerySet, prefetch_related_objects
from django.utils import timezone

from accounts.models import User
from billing.selectors import credits_cost
from messaging.models import Campaign, CampaignRun, Segment
from mifumo.selectors import get_or_404

RECENT_RUNS = 5


def campaign_get(*, campaign_id) -> Campaign:
    return get_or_404(Campaign.objects.all(), campaign_id, "Campaign")


def campaign_list(
    *, status: str = "", campaign_type: str = "", search: str = ""
) -> QuerySet[Campaign]:
    """The tenant's campaigns, newest first, with this status, of this type and with `search`
    in their name (each filter only when given)."""
    campaigns = Campaign.objects.all()
    if status:
        campaigns = campaigns.filter(status=status)
    if campaign_type:
        campaigns = campaigns.filter(campaign_type=campaign_type)
    if search.strip():
        campaigns = campaigns.filter(name__icontains=search.strip())
    return campaigns


def campaign_page_context(*, campaigns: list[Campaign]) -> dict:
    """What a page of campaigns shows beside their own fields, in three queries however many
    they are: each one's latest runs (prefetched as `recent_runs`), and the names of their
    creators (`user_names`) and of their target segments (`segment_names`)."""
    latest = CampaignRun.objects.order_by("-scheduled_for")[:RECENT_RUNS]
    prefetch_related_objects(campaigns, Prefetch("runs", queryset=latest, to_attr="recent_runs"))
    user_ids = {c.created_by_id for c in campaigns if c.created_by_id}
    segment_ids = {pk for c in campaigns for pk in c.target_segment_ids}
    users = User.objects.filter(pk__in=user_ids)
    return {
        "user_names": {user.pk: user.full_name or user.email for user in users},
        "segment_names": dict(Segment.objects.filter(pk__in=segment_ids).values_list("id", "name")),
    }


def campaign_cost(campaign: Campaign) -> float:
    """What the messages a campaign handed over cost: its credits per recipient for each one
    sent (the credits of those that failed are refunded)."""
    if not campaign.total_recipients:
        return 0.0
    per_message = (campaign.credits_reserved or 0) / campaign.total_recipients
    return float(credits_cost(per_message * campaign.sent_count))


def campaign_analytics(*, campaign: Campaign) -> dict:
    """A campaign's results from its stored counters (no message is counted): rates, cost,
    and its pace from start to completion (to now while it runs)."""
    sent = campaign.sent_count
    duration = pace = None
    if campaign.started_at is not None:
        until = campaign.completed_at or timezone.now()
        duration = round(max((until - campaign.started_at).total_seconds(), 0.0), 3)
        pace = round(sent / duration, 2) if duration else 0.0
    return {
        "campaign_id": campaign.pk,
        "name": campaign.name,
        "status": campaign.status,
        "total_recipients": campaign.total_recipients,
        "sent": sent,
        "delivered": campaign.delivered_count,
        "failed": campaign.failed_count,
        "delivery_rate": round(campaign.delivered_count * 100 / sent, 2) if sent else 0.0,
        "cost": campaign_cost(campaign),
        "currency": settings.SMS_CREDIT_CURRENCY,
        "started_at": campaign.started_at,
        "completed_at": campaign.completed_at,
        "duration_seconds": duration,
        "messages_per_second": pace,
    }
