"""The message serializer."""

from rest_framework import serializers

from messaging.models import Message


class MessageSerializer(serializers.ModelSerializer):
    message_id = serializers.UUIDField(source="send_request_id", read_only=True, allow_null=True)

    class Meta:
        model = Message
        fields = [
            "id",
            "message_id",
            "contact",
            "direction",
            "channel",
            "status",
            "recipient",
            "sender",
            "text",
            "encoding",
            "segments",
            "credits",
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
