"""The settings API's webhook routes (JWT, the dashboard's Settings -> API & Webhooks page):
create an endpoint (its signing secret is in that answer only), turn it on or off, delete it,
and read its deliveries with every attempt. Writes are for owners and admins."""

from rest_framework import serializers, status

from integration import selectors
from integration.serializers import (
    WebhookDeliverySerializer,
    WebhookEndpointCreatedSerializer,
    WebhookEndpointSerializer,
)
from integration.services import webhooks as services
from mifumo.idempotency import idempotent
from mifumo.openapi import api_doc, enveloped
from mifumo.pagination import paginated
from mifumo.permissions import require_manager
from mifumo.responses import envelope
from mifumo.validation import validated
from mifumo.views import TenantScopedView

TAGS = ["settings"]


class WebhookCreateInputSerializer(serializers.Serializer):
    url = serializers.CharField(
        max_length=services.URL_MAX_LENGTH,
        help_text="http(s) URL that receives the events; loopback, private, link-local and "
        "metadata addresses are refused",
    )
    events = serializers.ListField(
        child=serializers.CharField(max_length=64),
        help_text=f"One or more of: {', '.join(services.EVENT_TYPES)}",
    )
    is_active = serializers.BooleanField(required=False, default=True)


class WebhookToggleInputSerializer(serializers.Serializer):
    is_active = serializers.BooleanField(
        required=False, help_text="The state to set; without it the endpoint is flipped"
    )


class WebhookCreateView(TenantScopedView):
    @api_doc(
        summary=(
            "Create a webhook endpoint (owners and admins). The answer carries its signing "
            "`secret` (whsec_..., Standard Webhooks), shown only now"
        ),
        request=WebhookCreateInputSerializer,
        responses={201: enveloped(WebhookEndpointCreatedSerializer)},
        errors=(400, 401, 403, 409, 422),
        tags=TAGS,
    )
    @idempotent
    def post(self, request):
        require_manager(request, "manage webhooks")
        endpoint = services.webhook_endpoint_create(
            tenant=request.tenant,
            **validated(WebhookCreateInputSerializer, request),
            created_by=request.user,
        )
        return envelope(
            WebhookEndpointCreatedSerializer(endpoint).data,
            message="Webhook created.",
            status=status.HTTP_201_CREATED,
        )


class WebhookToggleView(TenantScopedView):
    @api_doc(
        summary=(
            "Turn a webhook endpoint on or off (owners and admins): to `is_active` when sent, "
            "else the opposite of now. Turning it off cancels its pending deliveries"
        ),
        request=WebhookToggleInputSerializer,
        responses={200: enveloped(WebhookEndpointSerializer)},
        errors=(400, 401, 403, 404),
        tags=TAGS,
    )
    def post(self, request, endpoint_id):
        require_manager(request, "manage webhooks")
        is_active = validated(WebhookToggleInputSerializer, request).get("is_active")
        endpoint = selectors.webhook_endpoint_get(
            tenant_id=request.tenant.pk, endpoint_id=endpoint_id
        )
        endpoint = services.webhook_endpoint_toggle(endpoint=endpoint, is_active=is_active)
        return envelope(
            WebhookEndpointSerializer(endpoint).data,
            message="Webhook turned on." if endpoint.is_active else "Webhook turned off.",
        )


class WebhookDeleteView(TenantScopedView):
    @api_doc(
        summary="Delete a webhook endpoint with its deliveries (owners and admins)",
        responses={200: enveloped(None)},
        errors=(401, 403, 404),
        tags=TAGS,
    )
    def delete(self, request, endpoint_id):
        require_manager(request, "manage webhooks")
        endpoint = selectors.webhook_endpoint_get(
            tenant_id=request.tenant.pk, endpoint_id=endpoint_id
        )
        services.webhook_endpoint_delete(endpoint=endpoint)
        return envelope(None, message="Webhook deleted.")


class WebhookDeliveryListView(TenantScopedView):
    @api_doc(
        summary=(
            "A webhook endpoint's deliveries, newest first: each event's id, type and state, "
            "with every attempt's time, status code, duration and error"
        ),
        responses={200: enveloped(WebhookDeliverySerializer, paginated=True)},
        errors=(400, 401, 403, 404),
        tags=TAGS,
        paginated=True,
    )
    def get(self, request, endpoint_id):
        endpoint = selectors.webhook_endpoint_get(
            tenant_id=request.tenant.pk, endpoint_id=endpoint_id
        )
        deliveries = selectors.webhook_deliveries_of(endpoint=endpoint).order_by(
            "-created_at", "-id"
        )
        return paginated(
            request,
            deliveries,
            lambda page: WebhookDeliverySerializer(page, many=True).data,
            view=self,
        )
