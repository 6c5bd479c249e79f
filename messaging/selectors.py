"""Reads of the messaging app. Every query runs in the request's tenant schema."""

from django.conf import settings
from django.db.models import Count, Exists, OuterRef, Q, Sum, Value
from django.db.models.functions import Coalesce, Upper
from django.utils import timezone

from billing.selectors import credits_cost
from messaging.models import (
    CONTACT_SEARCH_TEXT,
    SEARCH_FIELD_SEPARATOR,
    Campaign,
    Contact,
    ContactImport,
    Message,
    Segment,
    SendRequest,
    Template,
)
from mifumo.selectors import get_or_404


def contacts_live():
    return Contact.objects.filter(deleted_at__isnull=True)


def contact_get(*, contact_id) -> Contact:
    return get_or_404(contacts_live(), contact_id, "Contact")


def contact_search(queryset, term: str):
    """Case-insensitive substring match on name, phone or email (trigram-indexed).

    Postgres upper-cases both sides, so letters Python would expand (ß -> SS) compare alike.
    """
    term = term.replace(SEARCH_FIELD_SEPARATOR, "").strip()
    if not term:
        return queryset
    matches = queryset.alias(search_text=CONTACT_SEARCH_TEXT)
    return matches.filter(search_text__contains=Upper(Value(term)))


def segment_get(*, segment_id) -> Segment:
    return get_or_404(Segment.objects.all(), segment_id, "Segment")


def template_get(*, template_id) -> Template:
    return get_or_404(Template.objects.all(), template_id, "Template")


def contact_import_get(*, import_id) -> ContactImport:
    return get_or_404(ContactImport.objects.all(), import_id, "Import")


# --- Messages and sends ---------------------------------------------------------------------

PENDING_STATUSES = (Message.Status.SCHEDULED, Message.Status.QUEUED, Message.Status.SENDING)


def message_get(*, message_id) -> Message:
    return get_or_404(Message.objects.all(), message_id, "Message")


def send_request_get(*, send_request_id) -> SendRequest:
    return get_or_404(SendRequest.objects.all(), send_request_id, "Message")


def send_status_counts(*, send_request_ids) -> dict[str, dict[str, int]]:
    """{send request id: {status: count}} in one GROUP BY over the (send, status) index."""
    rows = (
        Message.objects.filter(send_request_id__in=send_request_ids)
        .values_list("send_request_id", "status")
        .annotate(n=Count("id"))
        .order_by()
    )
    counts: dict[str, dict[str, int]] = {str(pk): {} for pk in send_request_ids}
    for send_request_id, message_status, n in rows:
        counts[str(send_request_id)][message_status] = n
    return counts


def send_overall_status(counts: dict[str, int]) -> str:
    """One word for a send from its recipients' statuses."""
    S = Message.Status
    total = sum(counts.values())
    pending = {s: counts.get(s, 0) for s in PENDING_STATUSES}
    if any(pending.values()):
        for waiting in (S.SCHEDULED, S.QUEUED):
            if pending[waiting] == sum(pending.values()) and counts.get(S.SENT, 0) == 0:
                return waiting
        return S.SENDING
    if counts.get(S.SENT, 0):
        return S.SENT
    if total and counts.get(S.DELIVERED, 0) == total:
        return S.DELIVERED
    if not counts.get(S.DELIVERED, 0):
        return S.FAILED
    return "partially_delivered"


def sms_stats(*, start, end) -> dict:
    """Outbound SMS of the period, counted in one aggregate query."""
    S = Message.Status
    handed = [S.SENT, S.DELIVERED, S.UNDELIVERED]
    charged = ~Q(status__in=[S.FAILED, S.CANCELED])
    totals = Message.objects.filter(
        direction=Message.Direction.OUTBOUND,
        channel=Message.Channel.SMS,
        created_at__gte=start,
        created_at__lte=end,
    ).aggregate(
        total_messages=Count("id"),
        total_sent=Count("id", filter=Q(status__in=handed)),
        total_delivered=Count("id", filter=Q(status=S.DELIVERED)),
        total_failed=Count("id", filter=Q(status__in=[S.FAILED, S.UNDELIVERED])),
        total_pending=Count("id", filter=Q(status__in=PENDING_STATUSES)),
        credits_used=Coalesce(Sum("credits", filter=charged), 0),
    )
    sent = totals["total_sent"]
    totals["delivery_rate"] = round(totals["total_delivered"] * 100 / sent, 2) if sent else 0.0
    return totals


def send_requests_between(*, date_from=None, date_to=None, status=None):
    sends = SendRequest.objects.all()
    if date_from:
        sends = sends.filter(created_at__gte=date_from)
    if date_to:
        sends = sends.filter(created_at__lte=date_to)
    if status:
        has_status = Message.objects.filter(send_request_id=OuterRef("pk"), status=status)
        sends = sends.filter(Exists(has_status))
    return sends


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
