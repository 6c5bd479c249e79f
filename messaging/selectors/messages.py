"""Reads of sends and their messages (the request's tenant schema)."""

from django.db.models import Count, Exists, OuterRef, Q, Sum
from django.db.models.functions import Coalesce

from messaging.models import (
    Message,
    SendRequest,
)
from mifumo.selectors import get_or_404

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
