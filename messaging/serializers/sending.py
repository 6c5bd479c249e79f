"""Request and response bodies of the SMS send routes: send, a send's status, balance,
statistics, phone check, provider check and delivery reports."""

from datetime import timedelta

from django.conf import settings
from django.utils import timezone
from rest_framework import serializers

from messaging.models import Message
from mifumo.input_limits import PageNumberField

MAX_TEXT_LENGTH = 1600
MAX_SCHEDULE_AHEAD = timedelta(days=365)


class SmsSendInputSerializer(serializers.Serializer):
    """`recipients` (a list) or `recipient` (one number); `message` or `template_id`.
    Validated, `recipient` is the first of `recipients` (blank ones are left to the service)."""

    message = serializers.CharField(
        required=False, allow_blank=True, trim_whitespace=False, max_length=MAX_TEXT_LENGTH
    )
    recipients = serializers.ListField(
        child=serializers.CharField(max_length=32, allow_blank=True), required=False
    )
    recipient = serializers.CharField(required=False, max_length=32, allow_blank=True)
    sender_id = serializers.CharField(required=False, allow_blank=True, max_length=20)
    template_id = serializers.UUIDField(required=False, allow_null=True)
    scheduled_at = serializers.DateTimeField(required=False, allow_null=True)

    def validate_scheduled_at(self, value):
        if value is not None and value > timezone.now() + MAX_SCHEDULE_AHEAD:
            raise serializers.ValidationError("Schedule a send at most 365 days ahead.")
        return value

    def validate_recipients(self, value):
        if len(value) > settings.SMS_SEND_MAX_RECIPIENTS:
            raise serializers.ValidationError(
                f"At most {settings.SMS_SEND_MAX_RECIPIENTS} recipients per send."
            )
        return value

    def validate(self, attrs):
        recipient = attrs.pop("recipient", "")
        attrs["recipients"] = [recipient, *attrs.get("recipients", [])]  # blanks are dropped
        return attrs


class SmsSendResultSerializer(serializers.Serializer):
    message_id = serializers.UUIDField()
    recipient = serializers.CharField()
    recipients = serializers.ListField(child=serializers.CharField())
    total_recipients = serializers.IntegerField()
    message = serializers.CharField()
    sender_id = serializers.CharField()
    segments = serializers.IntegerField()
    encoding = serializers.CharField()
    credits_used = serializers.IntegerField()
    cost = serializers.DecimalField(max_digits=14, decimal_places=2, coerce_to_string=False)
    currency = serializers.CharField()
    status = serializers.CharField()
    scheduled_at = serializers.DateTimeField(allow_null=True)
    created_at = serializers.DateTimeField()


class RecipientStatusSerializer(serializers.ModelSerializer):
    class Meta:
        model = Message
        fields = [
            "id",
            "recipient",
            "status",
            "segments",
            "provider",
            "error_code",
            "error_message",
            "sent_at",
            "delivered_at",
            "failed_at",
        ]
        read_only_fields = fields


class PaginationSerializer(serializers.Serializer):
    page = serializers.IntegerField()
    per_page = serializers.IntegerField()
    total = serializers.IntegerField()
    pages = serializers.IntegerField()


class SendStatusSerializer(serializers.Serializer):
    message_id = serializers.UUIDField()
    status = serializers.CharField(
        help_text="Overall: scheduled, queued, sending, sent, "
        "delivered, partially_delivered or failed"
    )
    message = serializers.CharField()
    sender_id = serializers.CharField()
    total_recipients = serializers.IntegerField()
    status_counts = serializers.DictField(child=serializers.IntegerField())
    credits_used = serializers.IntegerField()
    created_at = serializers.DateTimeField()
    scheduled_at = serializers.DateTimeField(allow_null=True)
    recipients = RecipientStatusSerializer(many=True)
    pagination = PaginationSerializer()


class BalanceSerializer(serializers.Serializer):
    credits = serializers.IntegerField()
    currency = serializers.CharField()
    last_updated = serializers.DateTimeField(allow_null=True)


class BalanceEnvelopeDataSerializer(serializers.Serializer):
    balance = BalanceSerializer()


class ProviderBalanceSerializer(serializers.Serializer):
    provider = serializers.CharField()
    available = serializers.BooleanField(help_text="False when the provider did not answer")
    credits = serializers.FloatField(allow_null=True)
    currency = serializers.CharField(allow_null=True)
    unlimited = serializers.BooleanField()
    detail = serializers.CharField(allow_blank=True, help_text="Why the balance is unavailable")


class ChannelReferenceSerializer(serializers.Serializer):
    id = serializers.UUIDField()
    name = serializers.CharField()


class ProviderBalanceEnvelopeDataSerializer(BalanceEnvelopeDataSerializer):
    provider_balance = ProviderBalanceSerializer(
        required=False,
        help_text=(
            "The account at the provider the tenant's sends go through: its own channel's, "
            "else the platform's (then for staff users only)"
        ),
    )
    channel = ChannelReferenceSerializer(
        required=False,
        allow_null=True,
        help_text="With provider_balance: the tenant's own channel it is of; null: the platform's",
    )

    def to_representation(self, instance):
        data = super().to_representation(instance)
        # `channel` says whose provider_balance it is, so it comes with one only.
        if "provider_balance" not in data:
            data.pop("channel", None)
        return data


class PeriodSerializer(serializers.Serializer):
    start = serializers.DateTimeField()
    end = serializers.DateTimeField()


class SmsStatsSerializer(serializers.Serializer):
    total_messages = serializers.IntegerField()
    total_sent = serializers.IntegerField()
    total_delivered = serializers.IntegerField()
    total_failed = serializers.IntegerField()
    total_pending = serializers.IntegerField()
    delivery_rate = serializers.FloatField()
    credits_used = serializers.IntegerField()
    total_cost = serializers.DecimalField(max_digits=14, decimal_places=2, coerce_to_string=False)
    currency = serializers.CharField()
    period = PeriodSerializer()


class StatsQuerySerializer(serializers.Serializer):
    start = serializers.DateTimeField(required=False)
    end = serializers.DateTimeField(required=False)


class ValidatePhoneInputSerializer(serializers.Serializer):
    phone_number = serializers.CharField(max_length=32)


class ValidatePhoneSerializer(serializers.Serializer):
    phone_number = serializers.CharField()
    valid = serializers.BooleanField()
    e164 = serializers.CharField(allow_null=True)
    country = serializers.CharField(allow_null=True)
    country_code = serializers.IntegerField(allow_null=True)
    number_type = serializers.CharField(allow_null=True)
    reason = serializers.CharField(allow_null=True)


class ConnectionSerializer(serializers.Serializer):
    provider = serializers.CharField()
    ok = serializers.BooleanField()
    detail = serializers.CharField()
    channel = ChannelReferenceSerializer(
        allow_null=True, help_text="The tenant's own channel checked; null: the platform's account"
    )


class DeliveryReportSerializer(serializers.Serializer):
    message_id = serializers.UUIDField()
    status = serializers.CharField()
    created_at = serializers.DateTimeField()
    recipient_count = serializers.IntegerField()
    content_preview = serializers.CharField()
    sender_id = serializers.CharField()
    delivered_count = serializers.IntegerField()
    failed_count = serializers.IntegerField()
    pending_count = serializers.IntegerField()
    sent_count = serializers.IntegerField()
    credits_used = serializers.IntegerField()
    scheduled_at = serializers.DateTimeField(allow_null=True)


class DeliveryReportsSerializer(serializers.Serializer):
    reports = DeliveryReportSerializer(many=True)
    pagination = PaginationSerializer()


class RecipientPageQuerySerializer(serializers.Serializer):
    page = PageNumberField()
    page_size = serializers.IntegerField(required=False, min_value=1, max_value=100, default=20)


class DeliveryReportsQuerySerializer(serializers.Serializer):
    page = PageNumberField()
    per_page = serializers.IntegerField(required=False, min_value=1, max_value=100, default=20)
    status = serializers.ChoiceField(choices=Message.Status.choices, required=False)
    date_from = serializers.DateTimeField(required=False)
    date_to = serializers.DateTimeField(required=False)
