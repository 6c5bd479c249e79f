"""The settings API's key routes (JWT, the dashboard's Settings -> API & Webhooks page).

Two seeds name these routes differently (`keys/...` and `api-key/...`); both are served by
the same services. A key and its secret are in the answer once, when made or regenerated.
"""

from rest_framework import serializers, status
from rest_framework.exceptions import PermissionDenied

from integration import selectors
from integration.models import ApiKey
from integration.services import keys as services
from mifumo.idempotency import idempotent
from mifumo.openapi import api_doc, enveloped
from mifumo.responses import envelope
from mifumo.validation import validated
from mifumo.views import TenantScopedView

TAGS = ["settings"]


class ApiKeySerializer(serializers.ModelSerializer):
    key_name = serializers.CharField(source="name")
    api_key = serializers.CharField(source="masked_key", help_text="Masked after creation")

    class Meta:
        model = ApiKey
        fields = [
            "id",
            "key_name",
            "api_key",
            "permissions",
            "status",
            "expires_at",
            "last_used_at",
            "total_uses",
            "created_at",
            "revoked_at",
        ]
        read_only_fields = fields


class IssuedKeySerializer(ApiKeySerializer):
    """A key as it is shown once: in full, with its secret."""

    api_key = serializers.CharField(help_text="Shown only now: store it safely")
    key = serializers.CharField(help_text="The same key (the api-key/generate/ spelling)")
    secret_key = serializers.CharField(help_text="Shown only now")

    class Meta(ApiKeySerializer.Meta):
        fields = [*ApiKeySerializer.Meta.fields, "key", "secret_key"]
        read_only_fields = fields


def issued(issue: services.IssuedKey) -> dict:
    data = ApiKeySerializer(issue.api_key).data
    return {**data, "api_key": issue.key, "key": issue.key, "secret_key": issue.secret}


class KeyCreateInputSerializer(serializers.Serializer):
    key_name = serializers.CharField(max_length=100, required=False)
    name = serializers.CharField(max_length=100, required=False)
    permissions = serializers.ListField(
        child=serializers.CharField(max_length=32), required=False, default=list
    )
    expires_at = serializers.DateTimeField(required=False, allow_null=True)

    def validate(self, attrs):
        name = (attrs.pop("key_name", None) or attrs.pop("name", None) or "").strip()
        if not name:
            raise serializers.ValidationError({"key_name": ["Give the key a name."]})
        return {**attrs, "name": name}


class KeyRevokeInputSerializer(serializers.Serializer):
    key_id = serializers.UUIDField()


class ManagerView(TenantScopedView):
    """Writes are for the tenant's owners and admins."""

    def require_manager(self, request):
        if not request.membership.can_manage:
            raise PermissionDenied("Only owners and admins manage API keys and webhooks.")


class KeyCreateView(ManagerView):
    @api_doc(
        summary="Create an API key; the key and its secret are shown only in this answer",
        request=KeyCreateInputSerializer,
        responses={201: enveloped(IssuedKeySerializer)},
        errors=(400, 401, 403, 409, 422),
        tags=TAGS,
    )
    @idempotent
    def post(self, request):
        self.require_manager(request)
        data = validated(KeyCreateInputSerializer, request)
        issue = services.api_key_create(tenant=request.tenant, created_by=request.user, **data)
        return envelope(issued(issue), message="API key created.", status=status.HTTP_201_CREATED)


class KeyRevokeView(ManagerView):
    @api_doc(
        summary="Revoke an API key (at once)",
        responses={200: enveloped(ApiKeySerializer)},
        errors=(401, 403, 404),
        tags=TAGS,
    )
    def post(self, request, key_id):
        self.require_manager(request)
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


class KeyRegenerateView(ManagerView):
    @api_doc(
        summary="A new key and secret for an active key; the old key stops at once",
        responses={200: enveloped(IssuedKeySerializer)},
        errors=(401, 403, 404, 409),
        tags=TAGS,
    )
    def post(self, request, key_id):
        self.require_manager(request)
        api_key = selectors.api_key_get(tenant_id=request.tenant.pk, key_id=key_id)
        issue = services.api_key_regenerate(api_key=api_key)
        return envelope(issued(issue), message="API key regenerated.")
