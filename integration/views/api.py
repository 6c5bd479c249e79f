"""The integration API (`/api/integration/v1/`, `Authorization: Bearer mif_...`): one thin
view per route.

The same services and selectors as the dashboard routes; what differs is who calls: an API
key (its tenant, its scopes, its own rate limits), strict E.164 numbers, and a response that is
exactly {success, message, data, error_code, details} (field errors go in `details`).
"""

from drf_yasg import openapi
from rest_framework import status
from rest_framework.views import APIView

from integration.auth import ApiKeyAuthentication, HasScope
from integration.serializers import (
    IntegrationContactInputSerializer,
    IntegrationSendInputSerializer,
)
from messaging import serializers as ms
from messaging.filters import ContactFilter, filtered
from messaging.models import SendRequest
from messaging.selectors import audience, messages
from messaging.serializers import sending as ss
from messaging.services import contacts, segments
from messaging.services.messages import send_opted_out_details, send_to_numbers
from messaging.services.sending import send_input_check
from mifumo.errors import exception_handler
from mifumo.idempotency import idempotent
from mifumo.openapi import api_doc, enveloped
from mifumo.pagination import paginated
from mifumo.responses import envelope
from mifumo.validation import validated, validated_query

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
    rate_limit_scopes: tuple[str, ...] = ("api_key",)

    def get_exception_handler(self):
        return integration_exception_handler


# --- SMS ------------------------------------------------------------------------------------


class SmsSendView(IntegrationView):
    scopes = {"POST": "sms:send"}
    rate_limit_scopes = ("api_key", "sms_send")

    @api_doc(
        summary="Send an SMS (recipients in E.164, e.g. +255712345678)",
        request=IntegrationSendInputSerializer,
        responses={201: enveloped(ss.SmsSendResultSerializer)},
        errors=(400, 401, 402, 403, 404, 409, 422, 429),
        tags=TAGS,
    )
    @idempotent
    def post(self, request):
        body = validated(IntegrationSendInputSerializer, request)
        data = send_input_check(tenant=request.tenant, source=SendRequest.Source.API, **body)
        send = send_to_numbers(tenant=request.tenant, data=data, created_by=None)
        return envelope(
            messages.send_summary(send=send, recipients=data.recipients),
            message="SMS scheduled." if send.scheduled_at else "SMS queued for sending.",
            status=status.HTTP_201_CREATED,
            details=send_opted_out_details(send=send),
        )


class SmsStatusView(IntegrationView):
    scopes = {"GET": "sms:read"}
    rate_limit_scopes = ("api_key", "sms_status")

    @api_doc(
        summary="A send's overall status and each recipient's (by message_id, or a message's id)",
        responses={200: enveloped(ss.SendStatusSerializer)},
        errors=(400, 401, 403, 404, 429),
        tags=TAGS,
        query_serializer=ss.RecipientPageQuerySerializer,
    )
    def get(self, request, message_id):
        query = validated_query(ss.RecipientPageQuerySerializer, request)
        send_status = messages.send_status_get(
            message_id=message_id, page=query["page"], per_page=query["page_size"]
        )
        return envelope(ss.SendStatusSerializer(send_status).data)


class DeliveryReportsView(IntegrationView):
    scopes = {"GET": "sms:read"}
    rate_limit_scopes = ("api_key", "delivery_reports")

    @api_doc(
        summary="Sends with their delivery counts, newest first",
        responses={200: enveloped(ss.DeliveryReportsSerializer)},
        errors=(400, 401, 403, 429),
        tags=TAGS,
        query_serializer=ss.DeliveryReportsQuerySerializer,
    )
    def get(self, request):
        query = validated_query(ss.DeliveryReportsQuerySerializer, request)
        return envelope(ss.DeliveryReportsSerializer(messages.delivery_reports_page(**query)).data)


class BalanceView(IntegrationView):
    scopes = {"GET": "sms:read"}
    rate_limit_scopes = ("api_key", "balance")

    @api_doc(
        summary="The account's SMS credits",
        responses={200: enveloped(ss.BalanceEnvelopeDataSerializer)},
        errors=(401, 403, 429),
        tags=TAGS,
    )
    def get(self, request):
        balance = messages.sms_credit_balance_get(tenant_id=request.tenant.pk)
        return envelope(ss.BalanceEnvelopeDataSerializer({"balance": balance}).data)


# --- Contacts -------------------------------------------------------------------------------

CONTACT_READ = {"GET": "contacts:read"}
CONTACT_RATE_LIMITS = ("api_key", "contacts")


class ContactCreateView(IntegrationView):
    scopes = {"POST": "contacts:write"}
    rate_limit_scopes = CONTACT_RATE_LIMITS

    @api_doc(
        summary="Create a contact, or update the one with this phone (then email)",
        request=IntegrationContactInputSerializer,
        responses={
            200: enveloped(ms.ContactUpsertResultSerializer),
            201: enveloped(ms.ContactUpsertResultSerializer),
        },
        errors=(400, 401, 403, 409, 422, 429),
        tags=TAGS,
    )
    @idempotent
    def post(self, request):
        contact, upserted = contacts.contact_upsert(
            data=validated(IntegrationContactInputSerializer, request), created_by=request.user
        )
        data = {**ms.ContactSerializer(contact).data, "upserted": upserted}
        if upserted:
            return envelope(data, message="Contact updated.")
        return envelope(data, message="Contact created.", status=status.HTTP_201_CREATED)


class ContactSearchView(IntegrationView):
    scopes = CONTACT_READ
    rate_limit_scopes = CONTACT_RATE_LIMITS

    @api_doc(
        summary="Search contacts by name, phone or email (`q`), newest first",
        responses={200: enveloped(ms.ContactSerializer, paginated=True)},
        errors=(400, 401, 403, 429),
        tags=TAGS,
        paginated=True,
        manual_parameters=[
            openapi.Parameter(
                "q",
                openapi.IN_QUERY,
                "Case-insensitive match on name, phone or email",
                type=openapi.TYPE_STRING,
            )
        ],
    )
    def get(self, request):
        params = request.query_params.copy()
        params["search"] = params.pop("q", [""])[-1]
        found = filtered(ContactFilter, params, audience.contacts_live())
        return paginated(
            request, found, lambda page: ms.ContactSerializer(page, many=True).data, view=self
        )


class ContactView(IntegrationView):
    scopes = CONTACT_READ
    rate_limit_scopes = CONTACT_RATE_LIMITS

    @api_doc(
        summary="A contact",
        responses={200: enveloped(ms.ContactSerializer)},
        errors=(401, 403, 404, 429),
        tags=TAGS,
    )
    def get(self, request, contact_id):
        return envelope(ms.ContactSerializer(audience.contact_get(contact_id=contact_id)).data)


class ContactUpdateView(IntegrationView):
    scopes = {"PUT": "contacts:write"}
    rate_limit_scopes = CONTACT_RATE_LIMITS

    @api_doc(
        summary="Update a contact (a partial body is fine)",
        request=IntegrationContactInputSerializer,
        responses={200: enveloped(ms.ContactSerializer)},
        errors=(400, 401, 403, 404, 429),
        tags=TAGS,
    )
    def put(self, request, contact_id):
        contact = audience.contact_get(contact_id=contact_id)
        data = validated(IntegrationContactInputSerializer, request, partial=True)
        contact = contacts.contact_update(contact=contact, data=data)
        return envelope(ms.ContactSerializer(contact).data, message="Contact updated.")


class ContactDeleteView(IntegrationView):
    scopes = {"DELETE": "contacts:write"}
    rate_limit_scopes = CONTACT_RATE_LIMITS

    @api_doc(
        summary="Delete a contact (it disappears from every read)",
        responses={200: enveloped(None)},
        errors=(401, 403, 404, 429),
        tags=TAGS,
    )
    def delete(self, request, contact_id):
        contacts.contact_delete(contact=audience.contact_get(contact_id=contact_id))
        return envelope(message="Contact deleted.")


# --- Segments -------------------------------------------------------------------------------


class SegmentCreateView(IntegrationView):
    scopes = {"POST": "contacts:write"}
    rate_limit_scopes = CONTACT_RATE_LIMITS

    @api_doc(
        summary="Create a segment (a saved contact filter); its contacts are counted at once",
        request=ms.SegmentInputSerializer,
        responses={201: enveloped(ms.SegmentSerializer)},
        errors=(400, 401, 403, 409, 422, 429),
        tags=TAGS,
    )
    @idempotent
    def post(self, request):
        segment = segments.segment_create(
            **validated(ms.SegmentInputSerializer, request), created_by=request.user
        )
        return envelope(
            ms.SegmentSerializer(segment).data,
            message="Segment created.",
            status=status.HTTP_201_CREATED,
        )


class SegmentView(IntegrationView):
    scopes = CONTACT_READ
    rate_limit_scopes = CONTACT_RATE_LIMITS

    @api_doc(
        summary="A segment",
        responses={200: enveloped(ms.SegmentSerializer)},
        errors=(401, 403, 404, 429),
        tags=TAGS,
    )
    def get(self, request, segment_id):
        return envelope(ms.SegmentSerializer(audience.segment_get(segment_id=segment_id)).data)


class SegmentUpdateView(IntegrationView):
    scopes = {"PUT": "contacts:write"}
    rate_limit_scopes = CONTACT_RATE_LIMITS

    @api_doc(
        summary="Update a segment (a partial body is fine); it is recounted",
        request=ms.SegmentInputSerializer,
        responses={200: enveloped(ms.SegmentSerializer)},
        errors=(400, 401, 403, 404, 429),
        tags=TAGS,
    )
    def put(self, request, segment_id):
        segment = audience.segment_get(segment_id=segment_id)
        data = validated(ms.SegmentInputSerializer, request, partial=True)
        segment = segments.segment_update(segment=segment, data=data)
        return envelope(ms.SegmentSerializer(segment).data, message="Segment updated.")


class SegmentDeleteView(IntegrationView):
    scopes = {"DELETE": "contacts:write"}
    rate_limit_scopes = CONTACT_RATE_LIMITS

    @api_doc(
        summary="Delete a segment",
        responses={200: enveloped(None)},
        errors=(401, 403, 404, 429),
        tags=TAGS,
    )
    def delete(self, request, segment_id):
        segments.segment_delete(segment=audience.segment_get(segment_id=segment_id))
        return envelope(message="Segment deleted.")
