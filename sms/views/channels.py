"""Channels: the tenant's provider accounts and their addresses, at /api/messaging/channels/,
and the SMS ones among them at the seed's /api/messaging/sms/providers/. Members read them;
owners and admins create, change, delete and test them. Credentials are write-only: every
answer carries them masked."""

import uuid
from typing import TYPE_CHECKING, Any, cast

from drf_yasg import openapi
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
from sms import channels, selectors
from sms.models import Channel, ChannelAddress
from sms.providers import PROVIDERS

if TYPE_CHECKING:
    from accounts.models import User

TAGS = ["channels"]
SMS_PROVIDER_CHOICES = [
    (value, label) for value, label in Channel.Provider.choices if value in PROVIDERS
]


class ChannelAddressSerializer(serializers.ModelSerializer[ChannelAddress]):
    class Meta:
        model = ChannelAddress
        fields = ["address", "kind"]
        read_only_fields = fields


class ChannelSerializer(serializers.ModelSerializer[Channel]):
    addresses = ChannelAddressSerializer(many=True, read_only=True)
    credentials = serializers.DictField(
        source="credentials_hint",
        child=serializers.CharField(),
        read_only=True,
        help_text="The credentials' names with their values masked (never the values)",
    )

    class Meta:
        model = Channel
        fields = [
            "id",
            "name",
            "provider",
            "is_platform",
            "is_default",
            "is_active",
            "addresses",
            "credentials",
            "verified_at",
            "created_at",
            "updated_at",
        ]
        read_only_fields = fields


class ChannelUpdateInputSerializer(serializers.Serializer[Any]):
    name = serializers.CharField(max_length=100, required=False)
    credentials = serializers.DictField(
        child=serializers.CharField(max_length=1000),
        required=False,
        help_text=(
            "Write-only. Beem: api_key, secret_key. Twilio: account_sid, auth_token, optional "
            "messaging_service_sid. On update, the fields given replace the stored ones; the "
            "provider checks them (its balance or account call, nothing sent) before they are kept"
        ),
    )
    addresses = serializers.ListField(
        child=serializers.CharField(max_length=64),
        required=False,
        max_length=channels.MAX_ADDRESSES,
        help_text=(
            "The account's numbers (E.164, or local to the tenant's country), sender IDs and "
            "shortcodes (digits); on update they replace the channel's"
        ),
    )
    is_default = serializers.BooleanField(
        required=False,
        help_text="The channel this provider's sends use; on create, unset: when it has none",
    )
    is_active = serializers.BooleanField(required=False)


class ChannelInputSerializer(ChannelUpdateInputSerializer):
    name = serializers.CharField(
        max_length=100, required=False, allow_blank=True, help_text="Default: the provider's name"
    )
    provider = serializers.ChoiceField(Channel.Provider.choices)


class SmsProviderInputSerializer(ChannelInputSerializer):
    provider = serializers.ChoiceField(SMS_PROVIDER_CHOICES)


class ChannelFilterSerializer(serializers.Serializer[Any]):
    provider = serializers.ChoiceField(Channel.Provider.choices, required=False)


class SmsProviderFilterSerializer(serializers.Serializer[Any]):
    provider = serializers.ChoiceField(SMS_PROVIDER_CHOICES, required=False)


class ChannelCheckSerializer(serializers.Serializer[Any]):
    channel_id = serializers.UUIDField()
    provider = serializers.ChoiceField(Channel.Provider.choices)
    ok = serializers.BooleanField()
    detail = serializers.CharField(allow_blank=True)
    verified_at = serializers.DateTimeField()


def _provider_parameter(values: list[str]) -> openapi.Parameter:
    return openapi.Parameter(
        "provider",
        openapi.IN_QUERY,
        "Only the channels of this provider",
        type=openapi.TYPE_STRING,
        enum=values,
    )


def _channel_list(request: TenantRequest, view: TenantScopedView, providers: list[str]) -> Response:
    return paginated(
        request,
        selectors.channels_of(tenant_id=request.tenant.id, providers=providers),
        lambda page: ChannelSerializer(page, many=True).data,
        view=view,
    )


def _channel_create(
    request: TenantRequest, input_serializer: type[serializers.Serializer[Any]]
) -> Response:
    require_manager(request, "add channels")
    channel = channels.channel_create(
        tenant=request.tenant,
        **validated(input_serializer, request),
        created_by=cast("User", request.user),  # IsTenantMember: a signed-in member
    )
    return envelope(
        ChannelSerializer(channel).data,
        message=f"Channel '{channel.name}' added; {channel.get_provider_display()} accepted "
        "its credentials.",
        status=status.HTTP_201_CREATED,
    )


class ChannelListView(TenantScopedView):
    @api_doc(
        summary=(
            "The tenant's channels (every provider), by provider with the default first; "
            "credentials masked. In development each tenant has a sandbox channel with a number "
            "of its own"
        ),
        responses={200: enveloped(ChannelSerializer, paginated=True)},
        errors=(400, 401, 403),
        tags=TAGS,
        paginated=True,
        manual_parameters=[_provider_parameter(Channel.Provider.values)],
    )
    def get(self, request: TenantRequest) -> Response:
        wanted = validated_query(ChannelFilterSerializer, request).get("provider")
        return _channel_list(request, self, [wanted] if wanted else Channel.Provider.values)

    @api_doc(
        summary=(
            "Add a channel on the tenant's own provider account (owners and admins). The "
            "provider checks the credentials with its balance or account call (nothing is "
            "sent): refused, 400 CHANNEL_CREDENTIALS_INVALID. An address another channel holds "
            "is a 409"
        ),
        request=ChannelInputSerializer,
        responses={201: enveloped(ChannelSerializer)},
        errors=(400, 401, 403, 409, 422),
        tags=TAGS,
    )
    @idempotent
    def post(self, request: TenantRequest) -> Response:
        return _channel_create(request, ChannelInputSerializer)


class SmsProviderListView(TenantScopedView):
    """The seed's SMS providers: the tenant's channels of the SMS providers."""

    @api_doc(
        summary="The tenant's SMS channels (sandbox, Beem, Twilio), as at /api/messaging/channels/",
        responses={200: enveloped(ChannelSerializer, paginated=True)},
        errors=(400, 401, 403),
        tags=TAGS,
        paginated=True,
        manual_parameters=[_provider_parameter([value for value, _ in SMS_PROVIDER_CHOICES])],
    )
    def get(self, request: TenantRequest) -> Response:
        wanted = validated_query(SmsProviderFilterSerializer, request).get("provider")
        return _channel_list(request, self, [wanted] if wanted else list(PROVIDERS))

    @api_doc(
        summary=(
            "Add an SMS channel on the tenant's own Beem or Twilio account (owners and admins), "
            "as POST /api/messaging/channels/"
        ),
        request=SmsProviderInputSerializer,
        responses={201: enveloped(ChannelSerializer)},
        errors=(400, 401, 403, 409, 422),
        tags=TAGS,
    )
    @idempotent
    def post(self, request: TenantRequest) -> Response:
        return _channel_create(request, SmsProviderInputSerializer)


class ChannelDetailView(TenantScopedView):
    @api_doc(
        summary="One of the tenant's channels, credentials masked",
        responses={200: enveloped(ChannelSerializer)},
        errors=(401, 403, 404),
        tags=TAGS,
    )
    def get(self, request: TenantRequest, channel_id: uuid.UUID) -> Response:
        channel = selectors.channel_get(tenant_id=request.tenant.id, channel_id=channel_id)
        return envelope(ChannelSerializer(channel).data)

    @api_doc(
        summary=(
            "Change a channel (owners and admins): what is sent changes. New credentials are "
            "checked by the provider first (400 CHANNEL_CREDENTIALS_INVALID); a platform "
            "channel takes only a name, is_default and is_active (else 409)"
        ),
        request=ChannelUpdateInputSerializer,
        responses={200: enveloped(ChannelSerializer)},
        errors=(400, 401, 403, 404, 409),
        tags=TAGS,
    )
    def put(self, request: TenantRequest, channel_id: uuid.UUID) -> Response:
        require_manager(request, "change channels")
        channel = selectors.channel_get(tenant_id=request.tenant.id, channel_id=channel_id)
        channel = channels.channel_update(
            channel=channel, **validated(ChannelUpdateInputSerializer, request, partial=True)
        )
        return envelope(ChannelSerializer(channel).data, message="Channel updated.")

    @api_doc(
        summary=(
            "Delete a channel on the tenant's own account (owners and admins): its credentials "
            "are erased and its addresses given up; if it was the default, that provider's "
            "sends use the platform's account. A platform channel is a 409"
        ),
        responses={200: enveloped(None)},
        errors=(401, 403, 404, 409),
        tags=TAGS,
    )
    def delete(self, request: TenantRequest, channel_id: uuid.UUID) -> Response:
        require_manager(request, "delete channels")
        channel = selectors.channel_get(tenant_id=request.tenant.id, channel_id=channel_id)
        was_default = channel.is_default
        channels.channel_delete(channel=channel)
        message = f"Channel '{channel.name}' deleted."
        if was_default:
            message += (
                f" {channel.get_provider_display()} sends now go through the platform's account."
            )
        return envelope(message=message)


class ChannelTestView(TenantScopedView):
    # Each test is a call to the provider's account, like a balance request.
    rate_limit_scopes = ("balance",)

    @api_doc(
        summary=(
            "Check a channel's account with the provider's balance or account call; nothing is "
            "sent (owners and admins). Refused credentials: 400 CHANNEL_CREDENTIALS_INVALID; the "
            "platform's account failing: 502"
        ),
        responses={200: enveloped(ChannelCheckSerializer)},
        errors=(400, 401, 403, 404, 409, 429, 502),
        tags=TAGS,
    )
    def post(self, request: TenantRequest, channel_id: uuid.UUID) -> Response:
        require_manager(request, "test channels")
        channel = selectors.channel_get(tenant_id=request.tenant.id, channel_id=channel_id)
        result = channels.channel_test(channel=channel)
        return envelope(ChannelCheckSerializer(result).data, message=result["detail"])
