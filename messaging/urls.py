"""The messaging routes, mounted by mifumo/urls.py: `urlpatterns` at /api/messaging/, and
`sms_urlpatterns` beside sms.urls under both SMS prefixes (/api/messaging/sms/ and the seed's
/api/messaging/sms/sms/)."""

from django.urls import path

from messaging.views import (
    campaigns,
    contacts,
    conversations,
    messages,
    segments,
    sending,
    sms_channel,
    templates,
)
from messaging.views.keywords import KeywordSettingsView

sms_urlpatterns = [
    path("send/", sending.SmsSendView.as_view(), name="sms-send"),
    path("balance/", sending.SmsBalanceView.as_view(), name="sms-balance"),
    path("stats/", sending.SmsStatsView.as_view(), name="sms-stats"),
    path("validate-phone/", sending.ValidatePhoneView.as_view(), name="sms-validate-phone"),
    path("test-connection/", sending.TestConnectionView.as_view(), name="sms-test-connection"),
    path("<uuid:message_id>/status/", sending.SendStatusView.as_view(), name="sms-status"),
    # The seeds' other names for the same routes; a send's provider is always the tenant's.
    path("send-bulk/", sending.SmsSendView.as_view(), name="sms-send-bulk"),
    path("quick/", sending.SmsSendView.as_view(), name="sms-quick"),
    path("beem/send/", sending.SmsSendView.as_view(), name="sms-beem-send"),
    path("beem/send-bulk/", sending.SmsSendView.as_view(), name="sms-beem-send-bulk"),
    path(
        "beem/test-connection/",
        sending.TestConnectionView.as_view(),
        name="sms-beem-test-connection",
    ),
    path(
        "beem/validate-phone/", sending.ValidatePhoneView.as_view(), name="sms-beem-validate-phone"
    ),
    path(
        "beem/<uuid:message_id>/status/", sending.SendStatusView.as_view(), name="sms-beem-status"
    ),
    path("beem/balance/", sending.ProviderBalanceView.as_view(), name="sms-beem-balance"),
    path("templates/", sms_channel.SmsTemplateListView.as_view(), name="sms-template-list"),
    path("messages/", sms_channel.SmsMessageListView.as_view(), name="sms-message-list"),
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
    path("conversations/", conversations.ConversationListView.as_view(), name="conversation-list"),
    path(
        "conversations/<uuid:conversation_id>/",
        conversations.ConversationDetailView.as_view(),
        name="conversation-detail",
    ),
    path(
        "conversations/<uuid:conversation_id>/read/",
        conversations.ConversationReadView.as_view(),
        name="conversation-read",
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
    path("keywords/", KeywordSettingsView.as_view(), name="keyword-settings"),
]
