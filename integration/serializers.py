"""Output shapes of the integration app's routes."""

from rest_framework import serializers

from integration.models import ApiKey, WebhookAttempt, WebhookDelivery, WebhookEndpoint
from integration.services.keys import IssuedKey, scopes_from_grants

# --- Webhook endpoints and their deliveries


class WebhookEndpointSerializer(serializers.ModelSerializer):
    """An endpoint as listed; its signing secret is shown only when it is created."""

    total_deliveries = serializers.IntegerField(
        read_only=True, help_text="Deliveries finished: succeeded or failed for good"
    )
    failed_deliveries = serializers.IntegerField(
        read_only=True, help_text="Deliveries that failed for good (retries used up, or 410)"
    )
    last_delivery_at = serializers.DateTimeField(
        read_only=True, allow_null=True, help_text="When a delivery was last attempted"
    )
    last_error = serializers.CharField(
        read_only=True, allow_blank=True, help_text="The last failed attempt's error"
    )

    class Meta:
        model = WebhookEndpoint
        fields = [
            "id",
            "url",
            "events",
            "is_active",
            "disabled_reason",
            "total_deliveries",
            "failed_deliveries",
            "last_delivery_at",
            "last_error",
            "created_at",
        ]
        read_only_fields = fields


class WebhookEndpointCreatedSerializer(WebhookEndpointSerializer):
    """An endpoint as its creator sees it once, with the secret that signs its deliveries."""

    secret = serializers.CharField(
        read_only=True,
        help_text="whsec_...: verify `webhook-signature` with it (Standard Webhooks). "
        "Shown only now: store it safely",
    )

    class Meta(WebhookEndpointSerializer.Meta):
        fields = [*WebhookEndpointSerializer.Meta.fields, "secret"]
        read_only_fields = fields


class WebhookAttemptSerializer(serializers.ModelSerializer):
    status_code = serializers.IntegerField(
        read_only=True, allow_null=True, help_text="The answer's HTTP status; null: no answer"
    )

    class Meta:
        model = WebhookAttempt
        fields = ["attempted_at", "status_code", "duration_ms", "error"]
        read_only_fields = fields


class WebhookDeliverySerializer(serializers.ModelSerializer):
    """One event sent to one endpoint, with every attempt, newest first."""

    attempts = serializers.IntegerField(read_only=True, help_text="How many tries so far")
    attempt_log = WebhookAttemptSerializer(many=True, read_only=True)

    class Meta:
        model = WebhookDelivery
        fields = [
            "id",
            "event_id",
            "event_type",
            "state",
            "attempts",
            "next_attempt_at",
            "created_at",
            "finished_at",
            "payload",
            "attempt_log",
        ]
        read_only_fields = fields


# --- API keys


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


def issued(issue: IssuedKey) -> dict:
    data = ApiKeySerializer(issue.api_key).data
    return {**data, "api_key": issue.key, "key": issue.key, "secret_key": issue.secret}


class PermissionsField(serializers.ListField):
    """Scopes as a list (`["sms:send", "sms:read"]`), or the object form of the dashboard
    (`{"sms": ["send", "read"]}`, `{"*": ["read"]}`), stored as the same scopes."""

    def to_internal_value(self, data):
        if isinstance(data, dict):
            try:
                data = scopes_from_grants(data)
            except ValueError as exc:
                raise serializers.ValidationError(str(exc)) from exc
        return super().to_internal_value(data)


class KeyCreateInputSerializer(serializers.Serializer):
    key_name = serializers.CharField(max_length=100, required=False)
    name = serializers.CharField(max_length=100, required=False)
    permissions = PermissionsField(
        child=serializers.CharField(max_length=32),
        required=False,
        default=list,
        help_text="Scopes (sms:send, sms:read, contacts:read, contacts:write; none: all of "
        'them), or an object of resource -> actions: {"sms": ["send", "read"]}, {"*": ["read"]}',
    )
    expires_at = serializers.DateTimeField(required=False, allow_null=True)

    def validate(self, attrs):
        name = (attrs.pop("key_name", None) or attrs.pop("name", None) or "").strip()
        if not name:
            raise serializers.ValidationError({"key_name": ["Give the key a name."]})
        return {**attrs, "name": name}


class KeyRevokeInputSerializer(serializers.Serializer):
    key_id = serializers.UUIDField()
