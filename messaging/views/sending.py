"""The dashboard's SMS routes (/api/messaging/sms/ and the seeds' other spellings): send, a
send's status, balance, statistics, phone check, provider check, and delivery reports."""

from django.utils import timezone
from rest_framework import status

from messaging.models import SendRequest
from messaging.selectors import messages as selectors
from messaging.serializers import sending as s
from messaging.services.messages import send_opted_out_details, send_to_numbers
from messaging.services.sending import send_input_check
from mifumo.idempotency import idempotent
from mifumo.openapi import api_doc, enveloped
from mifumo.phone import phone_details
from mifumo.responses import envelope
from mifumo.validation import validated, validated_query
from mifumo.views import TenantScopedView
from sms.selectors import provider_account_balance_get, provider_account_check

TAGS = ["sms"]


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
        data = send_input_check(tenant=request.tenant, source=SendRequest.Source.DASHBOARD, **body)
        send = send_to_numbers(tenant=request.tenant, data=data, created_by=request.user)
        return envelope(
            selectors.send_summary(send=send, recipients=data.recipients),
            message="SMS scheduled." if send.scheduled_at else "SMS queued for sending.",
            status=status.HTTP_201_CREATED,
            details=send_opted_out_details(send=send),
        )


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
        query = validated_query(s.RecipientPageQuerySerializer, request)
        send_status = selectors.send_status_get(
            message_id=message_id, page=query["page"], per_page=query["page_size"]
        )
        return envelope(s.SendStatusSerializer(send_status).data)


class SmsBalanceView(TenantScopedView):
    rate_limit_scopes = ("balance",)

    @api_doc(
        summary="The tenant's SMS credits (one credit is one segment to one recipient)",
        responses={200: enveloped(s.BalanceEnvelopeDataSerializer)},
        errors=(401, 403, 429),
        tags=TAGS,
    )
    def get(self, request):
        balance = selectors.sms_credit_balance_get(tenant_id=request.tenant.pk)
        return envelope(s.BalanceEnvelopeDataSerializer({"balance": balance}).data)


class ProviderBalanceView(TenantScopedView):
    """The seed's `beem/balance/`: a tenant sees its own credits, as at `balance/`, and the
    balance of its own provider account when its sends go through one (its default channel);
    the platform's account is the vendor's, so only staff see that one."""

    rate_limit_scopes = ("balance",)

    @api_doc(
        summary=(
            "The tenant's SMS credits, as at balance/; with `provider_balance`, the balance of "
            "the account at the tenant's SMS provider its sends go through, and `channel`, "
            "the tenant's own channel of that account (null: the platform's account, shown "
            "to staff users only)"
        ),
        responses={200: enveloped(s.ProviderBalanceEnvelopeDataSerializer)},
        errors=(401, 403, 429),
        tags=TAGS,
    )
    def get(self, request):
        data = {"balance": selectors.sms_credit_balance_get(tenant_id=request.tenant.pk)}
        account = provider_account_balance_get(
            tenant_id=request.tenant.pk,
            provider_name=request.tenant.sms_provider_name,
            platform_too=request.user.is_staff,
        )
        return envelope(s.ProviderBalanceEnvelopeDataSerializer({**data, **(account or {})}).data)


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
        return envelope(s.SmsStatsSerializer(selectors.sms_stats(start=start, end=end)).data)


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
        summary=(
            "Check the credentials and reachability of the account the tenant's SMS go through "
            "(sends nothing): its own default channel of the provider (`channel`), else the "
            "platform's (`channel` null)"
        ),
        responses={200: enveloped(s.ConnectionSerializer)},
        errors=(401, 403, 409, 502),
        tags=TAGS,
    )
    def get(self, request):
        data = provider_account_check(
            tenant_id=request.tenant.pk, provider_name=request.tenant.sms_provider_name
        )
        return envelope(s.ConnectionSerializer(data).data, message="The SMS provider answered.")


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
        reports = selectors.delivery_reports_page(**query)
        return envelope(s.DeliveryReportsSerializer(reports).data)
