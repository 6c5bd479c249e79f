"""The dashboard's SMS routes: send, per-send status, balance, stats, phone check, provider
check, and delivery reports."""

import math

from django.conf import settings
from django.db import connection
from django.utils import timezone
from rest_framework import status

from billing.selectors import credit_balance_get, credits_cost
from messaging import selectors as messaging_selectors
from messaging.models import Message, SendRequest
from messaging.services.messages import SendInput, message_send
from mifumo.errors import ApplicationError, ErrorCode
from mifumo.idempotency import idempotent
from mifumo.openapi import api_doc, enveloped
from mifumo.phone import phone_details
from mifumo.responses import envelope
from mifumo.validation import validated, validated_query
from mifumo.views import TenantScopedView
from sms import selectors as sms_selectors
from sms import serializers as s
from sms.pipeline import provider_for

TAGS = ["sms"]


def _pagination(page: int, per_page: int, total: int) -> dict:
    return {
        "page": page,
        "per_page": per_page,
        "total": total,
        "pages": math.ceil(total / per_page),
    }


class SmsSendView(TenantScopedView):
    rate_limit_scopes = ("sms_send",)

    @api_doc(
        summary="Send an SMS to one or more recipients (charged in credits: segments x recipients)",
        request=s.SmsSendInputSerializer,
        responses={201: enveloped(s.SmsSendResultSerializer)},
        errors=(400, 401, 402, 403, 404, 409, 422, 429),
        tags=TAGS,
    )
    @idempotent
    def post(self, request):
        body = validated(s.SmsSendInputSerializer, request)
        data = s.send_input(body, tenant=request.tenant, source=SendRequest.Source.DASHBOARD)
        send = message_send(tenant=request.tenant, data=data, created_by=request.user)
        return send_result(send, data, status.HTTP_201_CREATED)


def send_result(send: SendRequest, data: SendInput, code: int):
    """The answer to an accepted send: what was sent, to whom, and what it cost."""
    result = {
        "message_id": send.pk,
        "recipient": data.recipients[0],
        "recipients": data.recipients,
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
    message = "SMS scheduled." if send.scheduled_at else "SMS queued for sending."
    # `result` is already the documented shape; the hot path skips a serializer pass.
    return envelope(result, message=message, status=code)


class SendStatusView(TenantScopedView):
    rate_limit_scopes = ("sms_status",)

    @api_doc(
        summary="A send's overall status and each recipient's (by message_id, or a message's id)",
        responses={200: enveloped(s.SendStatusSerializer)},
        errors=(400, 401, 403, 404, 429),
        tags=TAGS,
        query_serializer=s.RecipientPageQuerySerializer,
    )
    def get(self, request, message_id):
        send = SendRequest.objects.filter(pk=message_id).first()
        if send is None:  # a single message's id works too
            send = messaging_selectors.message_get(message_id=message_id).send_request
            if send is None:
                raise ApplicationError(
                    "Message not found.", code=ErrorCode.NOT_FOUND, status_code=404
                )
        query = validated_query(s.RecipientPageQuerySerializer, request)
        page, per_page = query["page"], query["page_size"]
        counts = messaging_selectors.send_status_counts(send_request_ids=[send.pk])[str(send.pk)]
        recipients = send.messages.order_by("recipient")[(page - 1) * per_page : page * per_page]
        data = {
            "message_id": send.pk,
            "status": messaging_selectors.send_overall_status(counts),
            "message": send.text,
            "sender_id": send.sender_id,
            "total_recipients": send.recipient_count,
            "status_counts": counts,
            "credits_used": send.credits,
            "created_at": send.created_at,
            "scheduled_at": send.scheduled_at,
            "recipients": recipients,
            "pagination": _pagination(page, per_page, send.recipient_count),
        }
        return envelope(s.SendStatusSerializer(data).data)


class SmsBalanceView(TenantScopedView):
    rate_limit_scopes = ("balance",)

    @api_doc(
        summary="The tenant's SMS credits (one credit is one segment to one recipient)",
        responses={200: enveloped(s.BalanceEnvelopeDataSerializer)},
        errors=(401, 403, 429),
        tags=TAGS,
    )
    def get(self, request):
        return balance_response(credit_balance_get(tenant_id=request.tenant.pk))


def balance_data(balance) -> dict:
    return {
        "balance": {
            "credits": balance.credits,
            "currency": settings.SMS_CREDIT_CURRENCY,
            "last_updated": balance.updated_at,
        }
    }


def balance_response(balance):
    return envelope(s.BalanceEnvelopeDataSerializer(balance_data(balance)).data)


class ProviderBalanceView(TenantScopedView):
    """The seed's `beem/balance/`: a tenant sees its own credits, as at `balance/`; the
    provider account's balance is the vendor's, so only staff see it."""

    rate_limit_scopes = ("balance",)

    @api_doc(
        summary=(
            "The tenant's SMS credits, as at balance/; staff users also get `provider_balance`, "
            "the balance of the platform's account at the tenant's SMS provider"
        ),
        responses={200: enveloped(s.ProviderBalanceEnvelopeDataSerializer)},
        errors=(401, 403, 429),
        tags=TAGS,
    )
    def get(self, request):
        data = balance_data(credit_balance_get(tenant_id=request.tenant.pk))
        if request.user.is_staff:
            provider = provider_for(request.tenant)
            data["provider_balance"] = sms_selectors.provider_balance_get(provider=provider)
        return envelope(s.ProviderBalanceEnvelopeDataSerializer(data).data)


class SmsStatsView(TenantScopedView):
    @api_doc(
        summary="Outbound SMS counts, delivery rate and cost for a period (default: this month)",
        responses={200: enveloped(s.SmsStatsSerializer)},
        errors=(400, 401, 403),
        tags=TAGS,
        query_serializer=s.StatsQuerySerializer,
    )
    def get(self, request):
        query = validated_query(s.StatsQuerySerializer, request)
        end = query.get("end") or timezone.now()
        start = query.get("start") or end.replace(day=1, hour=0, minute=0, second=0, microsecond=0)
        stats = messaging_selectors.sms_stats(start=start, end=end)
        data = {
            **stats,
            "total_cost": credits_cost(stats["credits_used"]),
            "currency": settings.SMS_CREDIT_CURRENCY,
            "period": {"start": start, "end": end},
        }
        return envelope(s.SmsStatsSerializer(data).data)


class ValidatePhoneView(TenantScopedView):
    @api_doc(
        summary="Check a phone number (local spellings read in the tenant's country)",
        request=s.ValidatePhoneInputSerializer,
        responses={200: enveloped(s.ValidatePhoneSerializer)},
        errors=(400, 401, 403),
        tags=TAGS,
    )
    def post(self, request):
        raw = validated(s.ValidatePhoneInputSerializer, request)["phone_number"]
        details = phone_details(raw, request.tenant.country)
        message = "Valid phone number." if details["valid"] else "Not a valid phone number."
        return envelope(s.ValidatePhoneSerializer(details).data, message=message)


class TestConnectionView(TenantScopedView):
    @api_doc(
        summary="Check the SMS provider's credentials and reachability (sends nothing)",
        responses={200: enveloped(s.ConnectionSerializer)},
        errors=(401, 403, 502),
        tags=TAGS,
    )
    def get(self, request):
        provider = provider_for(connection.tenant)
        check = provider.test_connection()
        data = {"provider": provider.name, "ok": check.ok, "detail": check.detail}
        if not check.ok:
            raise ApplicationError(
                f"The SMS provider did not answer as expected: {check.detail}",
                code=ErrorCode.SMS_PROVIDER_UNAVAILABLE,
                status_code=status.HTTP_502_BAD_GATEWAY,
                details=data,
            )
        return envelope(data, message="The SMS provider answered.")


class DeliveryReportsView(TenantScopedView):
    rate_limit_scopes = ("delivery_reports",)

    @api_doc(
        summary="Sends with their delivery counts, newest first",
        responses={200: enveloped(s.DeliveryReportsSerializer)},
        errors=(400, 401, 403, 429),
        tags=TAGS,
        query_serializer=s.DeliveryReportsQuerySerializer,
    )
    def get(self, request):
        query = validated_query(s.DeliveryReportsQuerySerializer, request)
        page, per_page = query["page"], query["per_page"]
        sends = messaging_selectors.send_requests_between(
            date_from=query.get("date_from"),
            date_to=query.get("date_to"),
            status=query.get("status"),
        )
        total = sends.count()
        rows = list(sends[(page - 1) * per_page : page * per_page])
        counts = messaging_selectors.send_status_counts(send_request_ids=[r.pk for r in rows])
        reports = [delivery_report(send, counts[str(send.pk)]) for send in rows]
        data = {"reports": reports, "pagination": _pagination(page, per_page, total)}
        return envelope(s.DeliveryReportsSerializer(data).data)


def delivery_report(send: SendRequest, counts: dict[str, int]) -> dict:
    S = Message.Status
    return {
        "message_id": send.pk,
        "status": messaging_selectors.send_overall_status(counts),
        "created_at": send.created_at,
        "recipient_count": send.recipient_count,
        "content_preview": send.text[:50],
        "sender_id": send.sender_id,
        "delivered_count": counts.get(S.DELIVERED, 0),
        "failed_count": counts.get(S.FAILED, 0) + counts.get(S.UNDELIVERED, 0),
        "pending_count": sum(counts.get(x, 0) for x in messaging_selectors.PENDING_STATUSES),
        "sent_count": counts.get(S.SENT, 0),
        "credits_used": send.credits,
        "scheduled_at": send.scheduled_at,
    }
