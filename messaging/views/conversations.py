"""Conversations: the inbox (list with filters and search), opening one (and sending into it),
one with its latest messages, changing its status, assignee or subject, and reading it.
Every member works them (owners, admins and agents alike); who may assign whom is
messaging.services.conversations' rule."""

from rest_framework import status

from messaging.selectors import conversations as selectors
from messaging.selectors.audience import contact_get
from messaging.serializers import conversations as s
from messaging.services import conversations as services
from mifumo.idempotency import idempotent
from mifumo.openapi import api_doc, enveloped
from mifumo.pagination import paginated
from mifumo.responses import envelope
from mifumo.validation import validated, validated_query
from mifumo.views import TenantScopedView

TAGS = ["conversations"]
SENDS = ("sms_send",)


def render_detail(conversation) -> dict:
    """The conversation with its latest messages (one more query)."""
    messages = selectors.conversation_messages_recent(conversation=conversation)
    return dict(s.ConversationDetailSerializer(conversation, context={"messages": messages}).data)


class ConversationListView(TenantScopedView):
    @property
    def rate_limit_scopes(self) -> tuple[str, ...]:
        return SENDS if self.request.method == "POST" else ()  # opening may send

    @api_doc(
        summary="List conversations, newest activity first (contact_id, status, assignee, "
        "channel, unread, search in message texts and contacts; a search counts its matches "
        "up to 1,000)",
        responses={200: enveloped(s.ConversationSerializer, paginated=True)},
        errors=(400, 401, 403),
        tags=TAGS,
        paginated=True,
        query_serializer=s.ConversationListQuerySerializer,
    )
    def get(self, request):
        query = validated_query(s.ConversationListQuerySerializer, request)
        conversations = selectors.conversation_list(user_id=request.user.pk, **query)
        return paginated(
            request,
            conversations,
            lambda page: s.ConversationSerializer(page, many=True).data,
            view=self,
            count_limit=selectors.SEARCH_COUNT_LIMIT if query.get("search") else None,
        )

    @api_doc(
        summary="Open a conversation with a contact on a channel (the default SMS one if not "
        "given), or return the one not resolved (a resolved one reopens); `text` is sent "
        "into it. 201 when made, 200 when it existed",
        request=s.ConversationCreateInputSerializer,
        responses={
            201: enveloped(s.ConversationDetailSerializer),
            200: enveloped(s.ConversationDetailSerializer),
        },
        errors=(400, 401, 402, 403, 404, 409, 422, 429),
        tags=TAGS,
    )
    @idempotent
    def post(self, request):
        data = validated(s.ConversationCreateInputSerializer, request)
        conversation, created = services.conversation_start(
            tenant=request.tenant,
            contact=contact_get(contact_id=data["contact_id"]),
            channel_id=data.get("channel"),
            subject=data.get("subject", ""),
            text=data.get("text", ""),
            created_by=request.user,
        )
        return envelope(
            render_detail(conversation),
            message="Conversation opened." if created else "The conversation was open already.",
            status=status.HTTP_201_CREATED if created else status.HTTP_200_OK,
        )


class ConversationDetailView(TenantScopedView):
    @api_doc(
        summary="A conversation with its latest 20 messages, oldest first (older ones: "
        "messages/?conversation_id=)",
        responses={200: enveloped(s.ConversationDetailSerializer)},
        errors=(401, 403, 404),
        tags=TAGS,
    )
    def get(self, request, conversation_id):
        return envelope(render_detail(selectors.conversation_get(conversation_id=conversation_id)))

    @api_doc(
        summary="Change status (open or active, pending, resolved, snoozed with snoozed_until), "
        "assignee (agents: themselves only) or subject; a partial body is fine",
        request=s.ConversationUpdateInputSerializer,
        responses={200: enveloped(s.ConversationDetailSerializer)},
        errors=(400, 401, 403, 404, 409),
        tags=TAGS,
    )
    def put(self, request, conversation_id):
        conversation = selectors.conversation_get(conversation_id=conversation_id)
        data = validated(s.ConversationUpdateInputSerializer, request, partial=True)
        conversation = services.conversation_update(
            conversation=conversation, by=request.membership, data=data
        )
        return envelope(render_detail(conversation), message="Conversation updated.")


class ConversationReadView(TenantScopedView):
    @api_doc(
        summary="Mark the conversation read: no unread messages left",
        responses={200: enveloped(s.ConversationSerializer)},
        errors=(401, 403, 404),
        tags=TAGS,
    )
    def post(self, request, conversation_id):
        conversation = services.conversation_mark_read(
            conversation=selectors.conversation_get(conversation_id=conversation_id)
        )
        return envelope(s.ConversationSerializer(conversation).data, message="Marked read.")
