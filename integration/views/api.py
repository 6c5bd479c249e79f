"""The integration API (`/api/integration/v1/`, `Authorization: Bearer mif_...`).

The same services and selectors as the dashboard routes; what differs is who calls: an API
key (its tenant, its scopes, its own rate limits), strict E.164 numbers, and a response that is
exactly {success, message, data, error_code, details} (field errors go in `details`).
"""

from rest_framework import serializers, status
from rest_framework.views import APIView

from billing.selectors import credit_balance_get
from integration.auth import ApiKeyAuthentication, HasScope
from messaging import selectors as messaging_selectors
from messaging import serializers as ms
from messaging.filters import ContactFilter, filtered
from messaging.models import SendRequest
from messaging.services.messages import message_send
from messaging.views import contacts, segments
from mifumo.errors import ApplicationError, ErrorCode, exception_handler
from mifumo.idempotency import idempotent
from mifumo.openapi import api_doc, enveloped
from mifumo.outbound_http import TargetRefused, check_target
from mifumo.pagination import paginated
from mifumo.phone import InvalidPhoneNumber, parse_e164_strict
from mifumo.validation import validated
from sms import serializers as s
from sms.views import sending

TAGS = ["integration"]


def integration_exception_handler(exc, context):
    """The platform's error envelope with field errors moved into `details`."""
    response = exception_handler(exc, context)
    if response is not None and "errors" in response.data:
        response.data["details"] = response.data.pop("errors")
    return response


class IntegrationView(APIView):
    """A route of the integration API: an API key's tenant, its scopes per method
    (`scopes`), and rate limits per key (every route also counts against `api_key`)."""

    authentication_classes = (ApiKeyAuthentication,)
    permission_classes = (HasScope,)
    tenant_scoped = True
    scopes: dict[str, str] = {}
    rate_limit_scopes = ("api_key",)

    def get_exception_handler(self):
        return integration_exception_handler


def strict_e164(value: str, field: str) -> str:
    try:
        return parse_e164_strict(value)
    except InvalidPhoneNumber as exc:
        raise ApplicationError(
            str(exc),
            code=ErrorCode.INVALID_PHONE_FORMAT,
            details={field: [str(exc)]},
        ) from exc


PHONE_FIELDS = ("phone_number", "phone_e164", "phone")


def strict_phone_fields(data) -> None:
    """The contact routes take E.164 numbers only; a body that is not an object is left to the
    serializer, which refuses it."""
    if not isinstance(data, dict):
        return
    for field in PHONE_FIELDS:
        if data.get(field):
            strict_e164(str(data[field]), field)


# --- SMS ------------------------------------------------------------------------------------


class IntegrationSendSerializer(s.SmsSendInputSerializer):
    schedule_time = serializers.DateTimeField(required=False, allow_null=True)
    webhook_url = serializers.URLField(required=False, allow_blank=True, max_length=500)


class SmsSendView(IntegrationView):
    scopes = {"POST": "sms:send"}
    rate_limit_scopes = ("api_key", "sms_send")

    @api_doc(
        summary="Send an SMS (recipients in E.164, e.g. +255712345678)",
        request=IntegrationSendSerializer,
        responses={201: enveloped(s.SmsSendResultSerializer)},
        errors=(400, 401, 402, 403, 404, 409, 422, 429),
        tags=TAGS,
    )
    @idempotent
    def post(self, request):
        body = validated(IntegrationSendSerializer, request)
        numbers = [body.get("recipient", ""), *body.get("recipients", [])]
        local = [n for n in numbers if n.strip() and not n.strip().startswith("+")]
        if local:
            raise ApplicationError(
                "Recipients must be in E.164 format, e.g. +255712345678.",
                code=ErrorCode.INVALID_PHONE_FORMAT,
                details={"invalid_recipients": local[:100]},
            )
        if body.get("webhook_url"):
            try:
                check_target(body["webhook_url"])
            except TargetRefused as exc:
                raise ApplicationError(
                    str(exc), code=ErrorCode.VALIDATION_ERROR, details={"webhook_url": [str(exc)]}
                ) from exc
        body["scheduled_at"] = body.get("schedule_time") or body.get("scheduled_at")
        data = s.send_input(body, tenant=request.tenant, source=SendRequest.Source.API)
        send = message_send(tenant=request.tenant, data=data, created_by=None)
        return sending.send_result(send, data, status.HTTP_201_CREATED)


class SmsStatusView(IntegrationView):
    scopes = {"GET": "sms:read"}
    rate_limit_scopes = ("api_key", "sms_status")
    get = sending.SendStatusView.get


class DeliveryReportsView(IntegrationView):
    scopes = {"GET": "sms:read"}
    rate_limit_scopes = ("api_key", "delivery_reports")
    get = sending.DeliveryReportsView.get


class BalanceView(IntegrationView):
    scopes = {"GET": "sms:read"}
    rate_limit_scopes = ("api_key", "balance")

    @api_doc(
        summary="The account's SMS credits",
        responses={200: enveloped(s.BalanceEnvelopeDataSerializer)},
        errors=(401, 403, 429),
        tags=TAGS,
    )
    def get(self, request):
        return sending.balance_response(credit_balance_get(tenant_id=request.tenant.pk))


# --- Contacts and segments -----------------------------------------------------------------


class ContactCreateView(IntegrationView):
    scopes = {"POST": "contacts:write"}
    rate_limit_scopes = ("api_key", "contacts")

    @api_doc(
        summary="Create a contact, or update the one with this phone (then email)",
        request=ms.ContactInputSerializer,
        responses={201: enveloped(ms.ContactUpsertResultSerializer)},
        errors=(400, 401, 403, 409, 422, 429),
        tags=TAGS,
    )
    def post(self, request):
        strict_phone_fields(request.data)
        return contacts.ContactListView.post(self, request)


class ContactDetailView(IntegrationView):
    scopes = {"GET": "contacts:read", "PUT": "contacts:write", "DELETE": "contacts:write"}
    rate_limit_scopes = ("api_key", "contacts")
    get = contacts.ContactDetailView.get
    delete = contacts.ContactDetailView.delete

    @api_doc(
        summary="Update a contact (a partial body is fine)",
        request=ms.ContactInputSerializer,
        responses={200: enveloped(ms.ContactSerializer)},
        errors=(400, 401, 403, 404, 429),
        tags=TAGS,
    )
    def put(self, request, contact_id):
        strict_phone_fields(request.data)
        return contacts.ContactDetailView.put(self, request, contact_id)


class ContactSearchView(IntegrationView):
    scopes = {"GET": "contacts:read"}
    rate_limit_scopes = ("api_key", "contacts")

    @api_doc(
        summary="Search contacts by name, phone or email (`q`)",
        responses={200: enveloped(ms.ContactSerializer, paginated=True)},
        errors=(400, 401, 403, 429),
        tags=TAGS,
        paginated=True,
    )
    def get(self, request):
        params = request.query_params.copy()
        params["search"] = params.pop("q", [""])[-1]
        found = filtered(ContactFilter, params, messaging_selectors.contacts_live())
        return paginated(
            request, found, lambda page: ms.ContactSerializer(page, many=True).data, view=self
        )


class SegmentCreateView(IntegrationView):
    scopes = {"POST": "contacts:write"}
    rate_limit_scopes = ("api_key", "contacts")
    post = segments.SegmentListView.post


class SegmentDetailView(IntegrationView):
    scopes = {"GET": "contacts:read", "PUT": "contacts:write", "DELETE": "contacts:write"}
    rate_limit_scopes = ("api_key", "contacts")
    get = segments.SegmentDetailView.get
    put = segments.SegmentDetailView.put
    delete = segments.SegmentDetailView.delete
