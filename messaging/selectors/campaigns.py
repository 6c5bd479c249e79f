"""Reads of campaigns: cost and analytics (the request's tenant schema)."""

from django.conf import settings
from django.utils import timezone

from billing.selectors import credits_cost
from messaging.models import Campaign
from mifumo.selectors import get_or_404


def campaign_get(*, campaign_id) -> Campaign:
    return get_or_404(Campaign.objects.all(), campaign_id, "Campaign")


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
