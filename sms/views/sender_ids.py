"""Sender IDs: the tenant's requests for alphanumeric sender names, and the platform default."""

from django.conf import settings
from drf_yasg import openapi
from rest_framework import serializers, status

from mifumo.idempotency import idempotent
from mifumo.openapi import api_doc, enveloped
from mifumo.pagination import paginated
from mifumo.permissions import require_manager
from mifumo.responses import envelope
from mifumo.validation import validated
from mifumo.views import TenantScopedView
from sms import selectors, services
from sms.models import SenderId

TAGS = ["sender-ids"]


class SenderIdSerializer(serializers.ModelSerializer):
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

    def get_is_default(self, sender_id) -> bool:
        return False


class SenderIdPageSerializer(serializers.Serializer):
    default = SenderIdSerializer(
        help_text="The shared platform sender ID: always approved, usable by every tenant, "
        "with no id and no dates."
    )
    results = SenderIdSerializer(many=True)
    count = serializers.IntegerField()
    next = serializers.URLField(allow_null=True)
    previous = serializers.URLField(allow_null=True)


class SenderIdInputSerializer(serializers.Serializer):
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

    def validate(self, attrs):
        attrs["name"] = attrs.pop("sender_id", "") or attrs.get("name", "")
        return attrs


class SenderIdFilterSerializer(serializers.Serializer):
    status = serializers.ChoiceField(SenderId.Status.choices, required=False)


STATUS_PARAMETER = openapi.Parameter(
    "status",
    openapi.IN_QUERY,
    "Only sender IDs with this status",
    type=openapi.TYPE_STRING,
    enum=SenderId.Status.values,
)


def platform_sender_id() -> dict:
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
    def get(self, request):
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
    def post(self, request):
        require_manager(request, "request sender IDs")
        sender_id = services.sender_id_request(
            tenant=request.tenant,
            **validated(SenderIdInputSerializer, request),
            created_by=request.user,
        )
        return envelope(
            SenderIdSerializer(sender_id).data,
            message=f"Sender ID '{sender_id.name}' requested; an operator will review it.",
            status=status.HTTP_201_CREATED,
        )
