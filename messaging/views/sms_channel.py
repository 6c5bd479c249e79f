"""The SMS-only spellings of the seeds (`sms/templates/`, `sms/messages/`): the messaging lists,
answered over the SMS channel only, whatever the query says."""

from rest_framework import status

from messaging.models import Channel
from messaging.serializers import TemplateInputSerializer, TemplateSerializer
from messaging.services.templates import template_create
from messaging.views import messages, templates
from mifumo.idempotency import idempotent
from mifumo.openapi import api_doc, enveloped
from mifumo.responses import envelope
from mifumo.validation import validated


class SmsChannelOnly:
    """A list view answered as if its query said channel=sms, whatever it said: the same view,
    filters and paging, over the SMS channel only (the seeds' sms/templates/, sms/messages/)."""

    def initial(self, request, *args, **kwargs):
        super().initial(request, *args, **kwargs)
        query = request.query_params.copy()
        query["channel"] = Channel.SMS
        request._request.GET = query  # query_params is the wrapped request's GET


class SmsTemplateListView(SmsChannelOnly, templates.TemplateListView):
    @api_doc(
        summary="Create an SMS template (`content` or `body_text`; the channel is always sms)",
        request=TemplateInputSerializer,
        responses={201: enveloped(TemplateSerializer)},
        errors=(400, 401, 403, 409, 422),
        tags=templates.TAGS,
    )
    @idempotent
    def post(self, request):
        data = {**validated(TemplateInputSerializer, request), "channel": Channel.SMS}
        template = template_create(data=data, created_by=request.user)
        return envelope(
            TemplateSerializer(template).data,
            message="Template created.",
            status=status.HTTP_201_CREATED,
        )


class SmsMessageListView(SmsChannelOnly, messages.MessageListView):
    pass
