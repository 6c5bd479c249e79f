from django.urls import path
from rest_framework import status

from messaging.models import Template
from messaging.serializers import TemplateInputSerializer, TemplateSerializer
from messaging.services.templates import template_create
from messaging.views import campaigns, contacts, messages, segments, templates
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
        query["channel"] = Template.Channel.SMS
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
        data = {**validated(TemplateInputSerializer, request), "channel": Template.Channel.SMS}
        template = template_create(data=data, created_by=request.user)
        return envelope(
            TemplateSerializer(template).data,
            message="Template created.",
            status=status.HTTP_201_CREATED,
        )


class SmsMessageListView(SmsChannelOnly, messages.MessageListView):
    pass


# Mounted beside sms.urls by mifumo/urls.py, under both SMS prefixes.
sms_urlpatterns = [
    path("templates/", SmsTemplateListView.as_view(), name="sms-template-list"),
    path("messages/", SmsMessageListView.as_view(), name="sms-message-list"),
]

urlpatterns = [
    path("contacts/", contacts.ContactListView.as_view(), name="contact-list"),
    path("contacts/bulk-import/", contacts.ContactImportView.as_view(), name="contact-import"),
    path(
        "contacts/bulk-import/<uuid:import_id>/",
        contacts.ContactImportDetailView.as_view(),
        name="contact-import-detail",
    ),
    path(
        "contacts/bulk-delete/",
        contacts.ContactBulkDeleteView.as_view(),
        name="contact-bulk-delete",
    ),
    path(
        "contacts/bulk-add-tags/",
        contacts.ContactBulkAddTagsView.as_view(),
        name="contact-bulk-add-tags",
    ),
    path(
        "contacts/bulk-remove-tags/",
        contacts.ContactBulkRemoveTagsView.as_view(),
        name="contact-bulk-remove-tags",
    ),
    path(
        "contacts/<uuid:contact_id>/", contacts.ContactDetailView.as_view(), name="contact-detail"
    ),
    path(
        "contacts/<uuid:contact_id>/opt-in/",
        contacts.ContactOptInView.as_view(),
        name="contact-opt-in",
    ),
    path(
        "contacts/<uuid:contact_id>/opt-out/",
        contacts.ContactOptOutView.as_view(),
        name="contact-opt-out",
    ),
    path("segments/", segments.SegmentListView.as_view(), name="segment-list"),
    path(
        "segments/<uuid:segment_id>/", segments.SegmentDetailView.as_view(), name="segment-detail"
    ),
    path(
        "segments/<uuid:segment_id>/update-count/",
        segments.SegmentCountView.as_view(),
        name="segment-count",
    ),
    path(
        "segments/<uuid:segment_id>/contacts/",
        segments.SegmentContactsView.as_view(),
        name="segment-contacts",
    ),
    path("templates/", templates.TemplateListView.as_view(), name="template-list"),
    path(
        "templates/<uuid:template_id>/",
        templates.TemplateDetailView.as_view(),
        name="template-detail",
    ),
    path(
        "templates/<uuid:template_id>/preview/",
        templates.TemplatePreviewView.as_view(),
        name="template-preview",
    ),
    path(
        "templates/<uuid:template_id>/toggle-favorite/",
        templates.TemplateFavoriteView.as_view(),
        name="template-toggle-favorite",
    ),
    path(
        "templates/<uuid:template_id>/variables/",
        templates.TemplateVariablesView.as_view(),
        name="template-variables",
    ),
    path("messages/", messages.MessageListView.as_view(), name="message-list"),
    path(
        "messages/<uuid:message_id>/", messages.MessageDetailView.as_view(), name="message-detail"
    ),
    path("campaigns/", campaigns.CampaignListView.as_view(), name="campaign-list"),
    path(
        "campaigns/<uuid:campaign_id>/",
        campaigns.CampaignDetailView.as_view(),
        name="campaign-detail",
    ),
    path(
        "campaigns/<uuid:campaign_id>/analytics/",
        campaigns.CampaignAnalyticsView.as_view(),
        name="campaign-analytics",
    ),
    path(
        "campaigns/<uuid:campaign_id>/duplicate/",
        campaigns.CampaignDuplicateView.as_view(),
        name="campaign-duplicate",
    ),
    path(
        "campaigns/<uuid:campaign_id>/start/",
        campaigns.CampaignStartView.as_view(),
        name="campaign-start",
    ),
    path(
        "campaigns/<uuid:campaign_id>/pause/",
        campaigns.CampaignPauseView.as_view(),
        name="campaign-pause",
    ),
    path(
        "campaigns/<uuid:campaign_id>/resume/",
        campaigns.CampaignResumeView.as_view(),
        name="campaign-resume",
    ),
    path(
        "campaigns/<uuid:campaign_id>/cancel/",
        campaigns.CampaignCancelView.as_view(),
        name="campaign-cancel",
    ),
]
