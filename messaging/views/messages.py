"""Messages: every outbound and inbound message of the tenant, newest first, and sending one
into a conversation."""

from rest_framework import status

from messaging import selectors
from messaging.filters import MESSAGE_LIST_PARAMETERS, MessageFilter, filtered
from messaging.models import Message
from messaging.selectors.conversations import conversation_get
from messaging.serializers import MessageSerializer
from messaging.serializers.conversations import MessageSendInputSerializer
from messaging.services.conversations import conversation_message_send
from mifumo.idempotency import idempotent
from mifumo.openapi import api_doc, enveloped
from mifumo.pagination import paginated
from mifumo.responses import envelope
from mifumo.validation import validated
from mifumo.views import TenantScopedView

TAGS = ["messages"]


class MessageListView(TenantScopedView):
    @property
    def rate_limit_scopes(self) -> tuple[str, ...]:
        return ("sms_send",) if self.request.method == "POST" else ()

    @api_doc(
        summary="List messages (filters: direction, status, channel, provider, recipient, "
        "message_id, conversation_id)",
        responses={200: enveloped(MessageSerializer, paginated=True)},
        errors=(400, 401, 403),
        tags=TAGS,
        paginated=True,
        manual_parameters=MESSAGE_LIST_PARAMETERS,
    )
    def get(self, request):
        messages = filtered(MessageFilter, request.query_params, Message.objects.all())
        return paginated(
            request, messages, lambda page: MessageSerializer(page, many=True).data, view=self
        )

    @api_doc(
        summary="Send a message into a conversation (conversation_id), or to a contact "
        "(contact_id: its open conversation, else one opened on the default SMS channel, or "
        "on provider's): text or template_id, through the outbox like every send",
        request=MessageSendInputSerializer,
        responses={201: enveloped(MessageSerializer)},
        errors=(400, 401, 402, 403, 404, 409, 422, 429),
        tags=TAGS,
    )
    @idempotent
    def post(self, request):
        data = validated(MessageSendInputSerializer, request)
        conversation_id, contact_id = data.get("conversation_id"), data.get("contact_id")
        template_id = data.get("template_id")
        message = conversation_message_send(
            tenant=request.tenant,
            conversation=conversation_get(conversation_id=conversation_id)
            if conversation_id
            else None,
            contact=selectors.contact_get(contact_id=contact_id) if contact_id else None,
            provider=data.get("provider"),
            text=data.get("text", ""),
            template=selectors.template_get(template_id=template_id) if template_id else None,
            created_by=request.user,
        )
        return envelope(
            MessageSerializer(message).data,
            message="Message queued for sending.",
            status=status.HTTP_201_CREATED,
        )


class MessageDetailView(TenantScopedView):
    @api_doc(
        summary="A message with its status timestamps, provider and error",
        responses={200: enveloped(MessageSerializer)},
        errors=(401, 403, 404),
        tags=TAGS,
    )
    def get(self, request, message_id):
        return envelope(MessageSerializer(selectors.message_get(message_id=message_id)).data)
