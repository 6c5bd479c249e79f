"""Messages: every outbound and inbound message of the tenant, newest first."""

from messaging import selectors
from messaging.filters import MESSAGE_LIST_PARAMETERS, MessageFilter, filtered
from messaging.models import Message
from messaging.serializers import MessageSerializer
from mifumo.openapi import api_doc, enveloped
from mifumo.pagination import paginated
from mifumo.responses import envelope
from mifumo.views import TenantScopedView

TAGS = ["messages"]


class MessageListView(TenantScopedView):
    @api_doc(
        summary="List messages (filters: direction, status, channel, provider, recipient)",
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


class MessageDetailView(TenantScopedView):
    @api_doc(
        summary="A message with its status timestamps, provider and error",
        responses={200: enveloped(MessageSerializer)},
        errors=(401, 403, 404),
        tags=TAGS,
    )
    def get(self, request, message_id):
        return envelope(MessageSerializer(selectors.message_get(message_id=message_id)).data)
