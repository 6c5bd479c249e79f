"""GET /api/auth/settings/: everything the Settings -> API & Webhooks page shows at once."""

from django.conf import settings
from rest_framework import serializers

from integration import selectors
from integration.serializers import ApiKeySerializer, WebhookEndpointSerializer
from integration.services.webhooks import webhook_url_secret
from mifumo.openapi import api_doc, enveloped
from mifumo.responses import envelope
from mifumo.views import TenantScopedView


class AccountSerializer(serializers.Serializer):
    tenant_id = serializers.UUIDField()
    tenant_name = serializers.CharField()
    email = serializers.EmailField()
    role = serializers.CharField()
    api_base_url = serializers.URLField()


class SettingsSerializer(serializers.Serializer):
    account = AccountSerializer()
    api_keys = ApiKeySerializer(many=True, help_text="Keys are masked; they are shown once")
    webhooks = WebhookEndpointSerializer(many=True)
    webhook_url_signing_secret = serializers.CharField(
        help_text="Signs the events sent to a send's own webhook_url (Standard Webhooks)"
    )


class SettingsView(TenantScopedView):
    @api_doc(
        summary="The account, its API keys (masked) and its webhook endpoints with counters",
        responses={200: enveloped(SettingsSerializer)},
        errors=(401, 403),
        tags=["settings"],
    )
    def get(self, request):
        tenant = request.tenant
        data = {
            "account": {
                "tenant_id": tenant.pk,
                "tenant_name": tenant.name,
                "email": request.user.email,
                "role": request.membership.role,
                "api_base_url": f"{settings.PUBLIC_BASE_URL.rstrip('/')}/api/integration/v1/",
            },
            "api_keys": selectors.api_keys_of(tenant_id=tenant.pk),
            "webhooks": selectors.webhook_endpoints_of(tenant_id=tenant.pk),
            "webhook_url_signing_secret": webhook_url_secret(tenant_id=tenant.pk),
        }
        return envelope(SettingsSerializer(data).data)
