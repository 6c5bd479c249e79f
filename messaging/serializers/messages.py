"""The message serializer: a message as the messages routes show it, with the seed's
`conversation` and `cost_micro`."""

from rest_framework import serializers

from billing.selectors import credits_cost
from messaging.models import Message

MICROS = 1_000_000


class CostMicroField(serializers.IntegerField):
    """A message's credits as what they cost, in millionths of SMS_CREDIT_CURRENCY (the
    seed's `cost_micro`)."""

    def to_representation(self, value: int) -> int:
        return int(credits_cost(value) * MICROS)


class MessageSerializer(serializers.ModelSerializer):
    message_id = serializers.UUIDField(source="send_request_id", read_only=True, allow_null=True)
    cost_micro = CostMicroField(
        source="credits",
        read_only=True,
        help_text="What its credits cost, in millionths of SMS_CREDIT_CURRENCY (0 inbound)",
    )

    class Meta:
        model = Message
        fields = [
            "id",
            "message_id",
            "contact",
            "conversation",
            "direction",
            "channel",
            "status",
            "recipient",
            "sender",
            "text",
            "encoding",
            "segments",
            "credits",
            "cost_micro",
            "provider",
            "provider_message_id",
            "error_code",
            "error_message",
            "attempts",
            "scheduled_at",
            "queued_at",
            "sent_at",
            "delivered_at",
            "failed_at",
            "canceled_at",
            "received_at",
            "created_at",
            "updated_at",
        ]
        read_only_fields = fields
        ref_name = "ChannelMessage"  # accounts has a MessageSerializer of its own
