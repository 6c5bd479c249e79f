"""Bodies of the integration app's routes: the external API's input (numbers in strict E.164),
webhook endpoints and their deliveries, API keys."""

from rest_framework import serializers
from rest_framework.fields import empty

from integration.models import ApiKey, WebhookAttempt, WebhookDelivery, WebhookEndpoint
from integration.services.keys import IssuedKey, scopes_from_grants
from messaging.serializers import ContactInputSerializer
from messaging.serializers.sending import SmsSendInputSerializer
from mifumo.errors import ApplicationError, ErrorCode
from mifumo.outbound_http import TargetRefused, check_target
from mifumo.phone import StrictE164Field

# --- The external API's input (/api/integration/v1/)


def _errors_with_code(detail, code: str):
    """The part of a DRF error structure whose errors have `code`, in the same shape."""
    if isinstance(detail, dict):
        kept = {key: _errors_with_code(value, code) for key, value in detail.items()}
        return {key: value for key, value in kept.items() if value}
    if isinstance(detail, list):
        return [error for error in detail if getattr(error, "code", None) == code]
    return []


class StrictPhoneInputSerializer(serializers.Serializer):
    """A body whose numbers are StrictE164Fields. One that is not E.164 makes the answer a 400
    INVALID_PHONE_FORMAT, whatever else is wrong with the body: clients switch on that code.
    `details` holds the refused fields' errors."""

    def run_validation(self, data=empty):
        try:
            return super().run_validation(data)
        except serializers.ValidationError as exc:
            refused = _errors_with_code(exc.detail, StrictE164Field.FORMAT_ERROR)
            if refused:
                raise self.phone_format_error(refused) from exc
            raise

    def phone_format_error(self, refused: dict) -> ApplicationError:
        first = next(iter(refused.values()))
        return ApplicationError(
            str(first[0]), code=ErrorCode.INVALID_PHONE_FORMAT, details=dict(refused)
        )


class IntegrationContactInputSerializer(StrictPhoneInputSerializer, ContactInputSerializer):
    """The dashboard's contact body, its numbers in E.164 only."""

    phone_e164 = StrictE164Field(required=False)
    phone_number = StrictE164Field(required=False, write_only=True)
    phone = StrictE164Field(required=False, write_only=True)


class IntegrationSendInputSerializer(StrictPhoneInputSerializer, SmsSendInputSerializer):
    """The dashboard's send body, its recipients in E.164 only, with the seed's
    `schedule_time` (for `scheduled_at`) and a `webhook_url` for this send's events."""

    recipients = serializers.ListField(
        child=StrictE164Field(allow_blank=True), required=False, help_text="E.164 numbers"
    )
    recipient = StrictE164Field(required=False, allow_blank=True)
    schedule_time = serializers.DateTimeField(required=False, allow_null=True)
    webhook_url = serializers.URLField(required=False, allow_blank=True, max_length=500)

    def validate_webhook_url(self, value):
        if value:
            try:
                check_target(value)
            except TargetRefused as exc:
                raise serializers.ValidationError(str(exc)) from exc
        return value

    def validate(self, attrs):
        schedule_time = attrs.pop("schedule_time", None)
        attrs["scheduled_at"] = schedule_time or attrs.get("scheduled_at")
        return super().validate(attrs)

    def phone_format_error(self, refused: dict) -> ApplicationError:
        # The refused numbers themselves, as the developer documentation shows them.
        numbers = self.fields["recipients"].get_value(self.initial_data)
        refused_numbers = [numbers[index] for index in refused.get("recipients", {})]
        if "recipient" in refused:
            refused_numbers.insert(0, self.fields["recipient"].get_value(self.initial_data))
        return ApplicationError(
            "Recipients must be in E.164 format, e.g. +255712345678.",
            code=ErrorCode.INVALID_PHONE_FORMAT,
            details={"invalid_recipients": refused_numbers[:100]},
        )


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
