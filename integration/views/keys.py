"""The settings API's key routes (JWT, the dashboard's Settings -> API & Webhooks page).

Two seeds name these routes differently (`keys/...` and `api-key/...`); both are served by
the same services. A key and its secret are in the answer once, when made or regenerated.
"""

from rest_framework import status

from integration import selectors
from integration.serializers import (
    ApiKeySerializer,
    IssuedKeySerializer,
    KeyCreateInputSerializer,
    KeyRevokeInputSerializer,
    issued,
)
from integration.services import keys as services
from mifumo.idempotency import idempotent
from mifumo.openapi import api_doc, enveloped
from mifumo.permissions import require_manager
from mifumo.responses import envelope
from mifumo.validation import validated
from mifumo.views import TenantScopedView

TAGS = ["settings"]


class KeyCreateView(TenantScopedView):
    @api_doc(
        summary="Create an API key; the key and its secret are shown only in this answer",
        request=KeyCreateInputSerializer,
        responses={201: enveloped(IssuedKeySerializer)},
        errors=(400, 401, 403, 409, 422),
        tags=TAGS,
    )
    @idempotent
    def post(self, request):
        require_manager(request, "manage API keys")
        data = validated(KeyCreateInputSerializer, request)
        issue = services.api_key_create(tenant=request.tenant, created_by=request.user, **data)
        return envelope(issued(issue), message="API key created.", status=status.HTTP_201_CREATED)


class KeyRevokeView(TenantScopedView):
    @api_doc(
        summary="Revoke an API key (at once)",
        responses={200: enveloped(ApiKeySerializer)},
        errors=(401, 403, 404),
        tags=TAGS,
    )
    def post(self, request, key_id):
        require_manager(request, "manage API keys")
        api_key = selectors.api_key_get(tenant_id=request.tenant.pk, key_id=key_id)
        api_key = services.api_key_revoke(api_key=api_key)
        return envelope(ApiKeySerializer(api_key).data, message="API key revoked.")


class KeyRevokeByBodyView(KeyRevokeView):
    """api-key/revoke/: the key is named in the body."""

    @api_doc(
        summary="Revoke an API key named by `key_id` (at once)",
        request=KeyRevokeInputSerializer,
        responses={200: enveloped(ApiKeySerializer)},
        errors=(400, 401, 403, 404),
        tags=TAGS,
    )
    def post(self, request):
        key_id = validated(KeyRevokeInputSerializer, request)["key_id"]
        return super().post(request, key_id)


class KeyRegenerateView(TenantScopedView):
    @api_doc(
        summary="A new key and secret for an active key; the old key stops at once",
        responses={200: enveloped(IssuedKeySerializer)},
        errors=(401, 403, 404, 409),
        tags=TAGS,
    )
    def post(self, request, key_id):
        require_manager(request, "manage API keys")
        api_key = selectors.api_key_get(tenant_id=request.tenant.pk, key_id=key_id)
        issue = services.api_key_regenerate(api_key=api_key)
        return envelope(issued(issue), message="API key regenerated.")
