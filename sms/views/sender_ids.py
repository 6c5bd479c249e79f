"""Sender IDs: the tenant's requests for alphanumeric sender names, and the platform default."""

import uuid
from typing import TYPE_CHECKING, Any, cast

from django.conf import settings
from drf_yasg import openapi
from drf_yasg.utils import swagger_serializer_method
from rest_framework import serializers, status
from rest_framework.response import Response

from mifumo.idempotency import idempotent
from mifumo.openapi import api_doc, enveloped
from mifumo.pagination import paginated
from mifumo.permissions import require_manager
from mifumo.responses import envelope
from mifumo.tenancy import TenantRequest
from mifumo.validation import validated, validated_query
from mifumo.views import TenantScopedView
from sms import selectors, services
from sms.models import SenderId

if TYPE_CHECKING:
    from accounts.models import User

TAGS = ["sender-ids"]


class SenderIdSerializer(serializers.ModelSerializer[SenderId]):
    sender_id = serializers.CharField(source="name", read_only=True)
    is_default = serializers.SerializerMethodField()

    class Meta:
        model = SenderId
        fields = [
            "id",
            "sender_id",
            "name",
            "purpose",
            "sample_message",
            "status",
            "rejection_reason",
            "is_default",
            "reviewed_at",
            "created_at",
            "updated_at",
        ]
        read_only_fields = fields

    def get_is_default(self, sender_id: SenderId) -> bool:
        return False


class PlatformSenderIdSerializer(SenderIdSerializer):
    """The shared platform sender ID in the shape of a listed one: it is no row, so it has no
    id and no dates."""

    id = serializers.UUIDField(read_only=True, allow_null=True)
    created_at = serializers.DateTimeField(read_only=True, allow_null=True)
    updated_at = serializers.DateTimeField(read_only=True, allow_null=True)


class SenderIdPageSerializer(serializers.Serializer[Any]):
    default = PlatformSenderIdSerializer(
        help_text="The shared platform sender ID: always approved, usable by every tenant, "
        "with no id and no dates."
    )
    results = SenderIdSerializer(many=True)
    count = serializers.IntegerField()
    next = serializers.URLField(allow_null=True)
    previous = serializers.URLField(allow_null=True)


class SenderIdInputSerializer(serializers.Serializer[Any]):
    """The name may be sent as `sender_id` or `name`; the rules are checked by the service."""

    sender_id = serializers.CharField(
        required=False,
        allow_blank=True,
        help_text="1 to 11 letters, digits, spaces, '-' or '.', with at least one letter",
    )
    name = serializers.CharField(
        required=False, allow_blank=True, help_text="Same as sender_id, which wins if both are sent"
    )
    purpose = serializers.CharField(required=False, allow_blank=True, max_length=1000)
    sample_message = serializers.CharField(required=False, allow_blank=True, max_length=1000)

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        attrs["name"] = attrs.pop("sender_id", "") or attrs.get("name", "")
        return attrs


class SenderIdFilterSerializer(serializers.Serializer[Any]):
    status = serializers.ChoiceField(SenderId.Status.choices, required=False)


STATUS_PARAMETER = openapi.Parameter(
    "status",
    openapi.IN_QUERY,
    "Only sender IDs with this status",
    type=openapi.TYPE_STRING,
    enum=SenderId.Status.values,
)


def platform_sender_id() -> dict[str, Any]:
    """The platform sender in the shape of a listed sender ID."""
    name = settings.PLATFORM_SMS_SENDER
    return {
        "id": None,
        "sender_id": name,
        "name": name,
        "purpose": "Shared platform sender ID",
        "sample_message": "",
        "status": SenderId.Status.APPROVED.value,
        "rejection_reason": "",
        "is_default": True,
        "reviewed_at": None,
        "created_at": None,
        "updated_at": None,
    }


class SenderIdListView(TenantScopedView):
    @api_doc(
        summary=(
            "List the tenant's sender IDs, newest first. `data.default` is the shared platform "
            "sender ID (is_default true, status approved), usable without a request"
        ),
        responses={200: enveloped(SenderIdPageSerializer)},
        errors=(400, 401, 403),
        tags=TAGS,
        paginated=True,
        manual_parameters=[STATUS_PARAMETER],
    )
    def get(self, request: TenantRequest) -> Response:
        filters = SenderIdFilterSerializer(data=request.query_params)
        filters.is_valid(raise_exception=True)
        sender_ids = selectors.sender_ids_of(
            tenant_id=request.tenant.id, status=filters.validated_data.get("status")
        )
        response = paginated(
            request,
            sender_ids,
            lambda page: SenderIdSerializer(page, many=True).data,
            view=self,
        )
        response.data["data"]["default"] = platform_sender_id()
        return response

    @api_doc(
        summary=(
            "Request a sender ID (owners and admins); it is pending until an operator approves "
            "it. A name the tenant already has is a 400, unless it was rejected: that request "
            "is reopened"
        ),
        request=SenderIdInputSerializer,
        responses={201: enveloped(SenderIdSerializer)},
        errors=(400, 401, 403, 409, 422),
        tags=TAGS,
    )
    @idempotent
    def post(self, request: TenantRequest) -> Response:
        require_manager(request, "request sender IDs")
        sender_id = services.sender_id_request(
            tenant=request.tenant,
            **validated(SenderIdInputSerializer, request),
            created_by=cast("User", request.user),  # IsTenantMember: a signed-in member
        )
        return envelope(
            SenderIdSerializer(sender_id).data,
            message=f"Sender ID '{sender_id.name}' requested; an operator will review it.",
            status=status.HTTP_201_CREATED,
        )


# The dashboard's spelling: /api/messaging/sender-ids/ lists plain items, the platform sender
# among them with a stable id, and a request or a status is one item.


class SenderNameSerializer(serializers.Serializer[SenderId]):
    id = serializers.UUIDField()
    sender_id = serializers.CharField(source="name")
    status = serializers.ChoiceField(SenderId.Status.choices)
    is_default = serializers.SerializerMethodField(
        help_text="True for the shared platform sender ID only"
    )
    purpose = serializers.CharField(allow_blank=True)
    created_at = serializers.DateTimeField(allow_null=True)
    approved_at = serializers.SerializerMethodField(
        help_text="When an operator approved it, while it is approved"
    )

    def get_is_default(self, sender_id: SenderId) -> bool:
        return selectors.sender_id_is_platform(sender_id)

    # drf_yasg ships no types, so mypy sees its decorator as one that untypes the method.
    @swagger_serializer_method(  # type: ignore[untyped-decorator]
        serializer_or_field=serializers.DateTimeField(allow_null=True)
    )
    def get_approved_at(self, sender_id: SenderId) -> str | None:
        if sender_id.status != SenderId.Status.APPROVED or sender_id.reviewed_at is None:
            return None
        return serializers.DateTimeField().to_representation(sender_id.reviewed_at)


class SenderNameDetailSerializer(SenderNameSerializer):
    sample_message = serializers.CharField(allow_blank=True)
    rejection_reason = serializers.CharField(
        allow_blank=True, help_text="Why it was rejected or revoked"
    )
    reviewed_at = serializers.DateTimeField(allow_null=True)


class SenderNameListSerializer(serializers.ListSerializer[list[SenderId]]):
    child = SenderNameSerializer()


class SenderNameRequestInputSerializer(SenderIdInputSerializer):
    """`reason` is the dashboard's spelling of `purpose`, which wins if both are sent."""

    reason = serializers.CharField(
        required=False, allow_blank=True, max_length=1000, help_text="Same as purpose"
    )

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        reason = attrs.pop("reason", "")
        attrs["purpose"] = attrs.get("purpose") or reason
        return super().validate(attrs)


class SenderNameListView(TenantScopedView):
    @api_doc(
        summary=(
            "The sender IDs this tenant may use or has asked for: the shared platform sender "
            "first (is_default true, approved, stable id), then the tenant's, newest first"
        ),
        responses={200: enveloped(SenderNameListSerializer)},
        errors=(400, 401, 403),
        tags=TAGS,
        manual_parameters=[STATUS_PARAMETER],
    )
    def get(self, request: TenantRequest) -> Response:
        wanted = validated_query(SenderIdFilterSerializer, request).get("status")
        sender_ids = list(selectors.sender_ids_of(tenant_id=request.tenant.id, status=wanted))
        if wanted in (None, SenderId.Status.APPROVED):
            sender_ids.insert(0, selectors.platform_sender_id())
        return envelope(SenderNameListSerializer(sender_ids).data)


class SenderNameRequestView(TenantScopedView):
    @api_doc(
        summary=(
            "Request a sender ID (owners and admins): `sender_id`, `reason` or `purpose`, "
            "optional `sample_message`; it is pending until an operator approves it"
        ),
        request=SenderNameRequestInputSerializer,
        responses={201: enveloped(SenderNameDetailSerializer)},
        errors=(400, 401, 403, 409, 422),
        tags=TAGS,
    )
    @idempotent
    def post(self, request: TenantRequest) -> Response:
        require_manager(request, "request sender IDs")
        sender_id = services.sender_id_request(
            tenant=request.tenant,
            **validated(SenderNameRequestInputSerializer, request),
            created_by=cast("User", request.user),  # IsTenantMember: a signed-in member
        )
        return envelope(
            SenderNameDetailSerializer(sender_id).data,
            message=f"Sender ID '{sender_id.name}' requested; an operator will review it.",
            status=status.HTTP_201_CREATED,
        )


class SenderNameStatusView(TenantScopedView):
    @api_doc(
        summary="A sender ID's review status (the platform sender's stable id works too)",
        responses={200: enveloped(SenderNameDetailSerializer)},
        errors=(401, 403, 404),
        tags=TAGS,
    )
    def get(self, request: TenantRequest, sender_id_pk: uuid.UUID) -> Response:
        sender_id = selectors.sender_id_get(tenant_id=request.tenant.id, sender_id_pk=sender_id_pk)
        return envelope(
            SenderNameDetailSerializer(sender_id).data,
            message=f"Sender ID '{sender_id.name}' is {sender_id.status}.",
        )
