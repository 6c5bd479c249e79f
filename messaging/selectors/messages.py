"""Reads of sends and their messages (the request's tenant schema): what the send routes of
the dashboard and of the integration API answer (an accepted send, a send's status, delivery
reports, the credits left, the period's statistics)."""

import math
import uuid
from datetime import datetime

from django.conf import settings
from django.db.models import Count, Exists, OuterRef, Q, Sum
from django.db.models.functions import Coalesce
from rest_framework import status as http_status

from billing.selectors import credit_balance_get, credits_cost
from messaging.models import (
    Channel,
    Message,
    SendRequest,
)
from mifumo.errors import ApplicationError, ErrorCode
from mifumo.selectors import get_or_404

PENDING_STATUSES = (Message.Status.SCHEDULED, Message.Status.QUEUED, Message.Status.SENDING)


def message_get(*, message_id) -> Message:
    return get_or_404(Message.objects.all(), message_id, "Message")


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


def sms_stats(*, start: datetime, end: datetime) -> dict:
    """Outbound SMS of the period, counted in one aggregate query, with what they cost."""
    S = Message.Status
    handed = [S.SENT, S.DELIVERED, S.UNDELIVERED]
    charged = ~Q(status__in=[S.FAILED, S.CANCELED])
    totals = Message.objects.filter(
        direction=Message.Direction.OUTBOUND,
        channel=Channel.SMS,
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
    return {
        **totals,
        "delivery_rate": round(totals["total_delivered"] * 100 / sent, 2) if sent else 0.0,
        "total_cost": credits_cost(totals["credits_used"]),
        "currency": settings.SMS_CREDIT_CURRENCY,
        "period": {"start": start, "end": end},
    }


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


def _pagination(page: int, per_page: int, total: int) -> dict:
    return {
        "page": page,
        "per_page": per_page,
        "total": total,
        "pages": math.ceil(total / per_page),
    }


def send_summary(*, send: SendRequest, recipients: list[str]) -> dict:
    """An accepted send as the send routes answer it: what was sent, to whom, what it cost."""
    return {
        "message_id": send.pk,
        "recipient": recipients[0],
        "recipients": recipients,
        "total_recipients": send.recipient_count,
        "message": send.text,
        "sender_id": send.sender_id,
        "segments": send.segments,
        "encoding": send.encoding,
        "credits_used": send.credits,
        "cost": float(credits_cost(send.credits)),
        "currency": settings.SMS_CREDIT_CURRENCY,
        "status": Message.Status.SCHEDULED if send.scheduled_at else Message.Status.QUEUED,
        "scheduled_at": send.scheduled_at,
        "created_at": send.created_at,
    }


def send_status_get(*, message_id: uuid.UUID, page: int, per_page: int) -> dict:
    """A send's overall status and one page of its recipients, by the send's id (the send
    routes' `message_id`) or by one of its messages' ids; anything else is a 404."""
    send = SendRequest.objects.filter(pk=message_id).first()
    if send is None:
        send = message_get(message_id=message_id).send_request
        if send is None:
            raise ApplicationError(
                "Message not found.",
                code=ErrorCode.NOT_FOUND,
                status_code=http_status.HTTP_404_NOT_FOUND,
            )
    counts = send_status_counts(send_request_ids=[send.pk])[str(send.pk)]
    return {
        "message_id": send.pk,
        "status": send_overall_status(counts),
        "message": send.text,
        "sender_id": send.sender_id,
        "total_recipients": send.recipient_count,
        "status_counts": counts,
        "credits_used": send.credits,
        "created_at": send.created_at,
        "scheduled_at": send.scheduled_at,
        "recipients": send.messages.order_by("recipient")[(page - 1) * per_page : page * per_page],
        "pagination": _pagination(page, per_page, send.recipient_count),
    }


def delivery_reports_page(
    *,
    page: int,
    per_page: int,
    date_from: datetime | None = None,
    date_to: datetime | None = None,
    status: str | None = None,
) -> dict:
    """One page of sends, newest first, each with its delivery counts (one count query for
    the page)."""
    sends = send_requests_between(date_from=date_from, date_to=date_to, status=status)
    total = sends.count()
    rows = list(sends[(page - 1) * per_page : page * per_page])
    counts = send_status_counts(send_request_ids=[row.pk for row in rows])
    return {
        "reports": [_delivery_report(send, counts[str(send.pk)]) for send in rows],
        "pagination": _pagination(page, per_page, total),
    }


def _delivery_report(send: SendRequest, counts: dict[str, int]) -> dict:
    S = Message.Status
    return {
        "message_id": send.pk,
        "status": send_overall_status(counts),
        "created_at": send.created_at,
        "recipient_count": send.recipient_count,
        "content_preview": send.text[:50],
        "sender_id": send.sender_id,
        "delivered_count": counts.get(S.DELIVERED, 0),
        "failed_count": counts.get(S.FAILED, 0) + counts.get(S.UNDELIVERED, 0),
        "pending_count": sum(counts.get(waiting, 0) for waiting in PENDING_STATUSES),
        "sent_count": counts.get(S.SENT, 0),
        "credits_used": send.credits,
        "scheduled_at": send.scheduled_at,
    }


def sms_credit_balance_get(*, tenant_id: uuid.UUID) -> dict:
    """The tenant's SMS credits (one credit is one segment to one recipient)."""
    balance = credit_balance_get(tenant_id=tenant_id)
    return {
        "credits": balance.credits,
        "currency": settings.SMS_CREDIT_CURRENCY,
        "last_updated": balance.updated_at,
    }
