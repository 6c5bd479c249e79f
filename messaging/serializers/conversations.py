"""Request and response bodies of the conversation routes, and of sending a message into a
conversation (POST messages/)."""

from drf_yasg.utils import swagger_serializer_method
from rest_framework import serializers

from messaging.models import Contact, Conversation
from messaging.selectors.conversations import ASSIGNEE_ME, ASSIGNEE_NONE, STATUS_ALIASES
from messaging.serializers.messages import MessageSerializer
from messaging.serializers.sending import MAX_TEXT_LENGTH
from sms.models import ChannelProvider

STATUS_CHOICES = [*Conversation.Status.values, *STATUS_ALIASES]


class ConversationContactSerializer(serializers.ModelSerializer):
    class Meta:
        model = Contact
        fields = ["id", "name", "phone_e164"]
        read_only_fields = fields
        ref_name = "ConversationContact"


class ConversationAssigneeSerializer(serializers.Serializer):
    id = serializers.IntegerField(read_only=True)
    email = serializers.EmailField(read_only=True)
    name = serializers.CharField(source="full_name", read_only=True)


class ConversationChannelSerializer(serializers.Serializer):
    """Where the conversation is held: the channel (null: the platform's account), its
    provider and our address on it that replies come from."""

    id = serializers.UUIDField(source="channel_id", read_only=True, allow_null=True)
    provider = serializers.CharField(read_only=True)
    address = serializers.CharField(read_only=True)


class ConversationSerializer(serializers.ModelSerializer):
    contact = ConversationContactSerializer(read_only=True)
    channel = ConversationChannelSerializer(source="*", read_only=True)
    assignee = ConversationAssigneeSerializer(read_only=True, allow_null=True)

    class Meta:
        model = Conversation
        fields = [
            "id",
            "contact",
            "status",
            "channel",
            "assignee",
            "subject",
            "snoozed_until",
            "last_message_at",
            "last_inbound_at",
            "first_reply_at",
            "closed_at",
            "message_count",
            "unread_count",
            "created_at",
            "updated_at",
        ]
        read_only_fields = fields


class ConversationDetailSerializer(ConversationSerializer):
    """A conversation with its latest messages, oldest first (the context's `messages`)."""

    messages = serializers.SerializerMethodField()

    class Meta(ConversationSerializer.Meta):
        fields = [*ConversationSerializer.Meta.fields, "messages"]
        read_only_fields = fields

    @swagger_serializer_method(serializer_or_field=MessageSerializer(many=True))
    def get_messages(self, conversation: Conversation) -> list:
        return list(MessageSerializer(self.context["messages"], many=True).data)


class ConversationListQuerySerializer(serializers.Serializer):
    contact_id = serializers.UUIDField(required=False, help_text="One contact's conversations")
    status = serializers.ChoiceField(
        STATUS_CHOICES, required=False, help_text="open (or active), pending, resolved, snoozed"
    )
    assignee = serializers.CharField(
        required=False, help_text=f"{ASSIGNEE_ME}, {ASSIGNEE_NONE}, or a user's id"
    )
    channel = serializers.CharField(
        required=False, help_text=f"A channel's id, or a provider: {', '.join(ChannelProvider)}"
    )
    unread = serializers.BooleanField(
        required=False, allow_null=True, default=None, help_text="true: with unread messages"
    )
    search = serializers.CharField(
        required=False,
        allow_blank=True,
        max_length=200,
        help_text="In message texts, and in the contact's name, phone or email",
    )

    def validate_assignee(self, value: str) -> str:
        value = value.strip()
        if value in ("", ASSIGNEE_ME, ASSIGNEE_NONE) or value.isdigit():
            return value
        raise serializers.ValidationError(f"Give {ASSIGNEE_ME}, {ASSIGNEE_NONE} or a user's id.")

    def validate_channel(self, value: str) -> str:
        value = value.strip()
        if value in ChannelProvider.values:
            return value
        try:
            return str(serializers.UUIDField().to_internal_value(value))
        except serializers.ValidationError as exc:
            raise serializers.ValidationError("Give a channel's id or a provider.") from exc


class ConversationCreateInputSerializer(serializers.Serializer):
    contact_id = serializers.UUIDField()
    channel = serializers.UUIDField(
        required=False, allow_null=True, help_text="The channel's id; the default SMS one if not"
    )
    subject = serializers.CharField(required=False, allow_blank=True, max_length=200)
    text = serializers.CharField(
        required=False,
        allow_blank=True,
        trim_whitespace=False,
        max_length=MAX_TEXT_LENGTH,
        help_text="Sent into the conversation when given",
    )


class ConversationUpdateInputSerializer(serializers.Serializer):
    status = serializers.ChoiceField(STATUS_CHOICES, required=False)
    snoozed_until = serializers.DateTimeField(
        required=False, allow_null=True, help_text="With status snoozed: when it opens again"
    )
    assignee = serializers.IntegerField(
        required=False, allow_null=True, help_text="A member's user id; null unassigns"
    )
    subject = serializers.CharField(required=False, allow_blank=True, max_length=200)


class MessageSendInputSerializer(serializers.Serializer):
    """Into `conversation_id`, or to `contact_id` (its conversation, opened when it has
    none); `text` or `template_id`."""

    conversation_id = serializers.UUIDField(required=False, allow_null=True)
    contact_id = serializers.UUIDField(required=False, allow_null=True)
    text = serializers.CharField(
        required=False, allow_blank=True, trim_whitespace=False, max_length=MAX_TEXT_LENGTH
    )
    template_id = serializers.UUIDField(required=False, allow_null=True)
    provider = serializers.ChoiceField(ChannelProvider.values, required=False, allow_null=True)

    def validate(self, attrs: dict) -> dict:
        given = [name for name in ("conversation_id", "contact_id") if attrs.get(name)]
        if len(given) != 1:
            raise serializers.ValidationError(
                {"conversation_id": ["Give conversation_id or contact_id (one of them)."]}
            )
        return attrs
