"""/api/integration/v1/: the routes an API key calls, one view per route."""

from django.urls import path

from integration.views import api

urlpatterns = [
    path("sms/send/", api.SmsSendView.as_view(), name="integration-sms-send"),
    path(
        "sms/status/<uuid:message_id>/", api.SmsStatusView.as_view(), name="integration-sms-status"
    ),
    path(
        "sms/delivery-reports/",
        api.DeliveryReportsView.as_view(),
        name="integration-delivery-reports",
    ),
    path("sms/balance/", api.BalanceView.as_view(), name="integration-balance"),
    path("contacts/create/", api.ContactCreateView.as_view(), name="integration-contact-create"),
    path("contacts/search/", api.ContactSearchView.as_view(), name="integration-contact-search"),
    path(
        "contacts/segments/create/",
        api.SegmentCreateView.as_view(),
        name="integration-segment-create",
    ),
    path(
        "contacts/segments/<uuid:segment_id>/",
        api.SegmentView.as_view(),
        name="integration-segment",
    ),
    path(
        "contacts/segments/<uuid:segment_id>/update/",
        api.SegmentUpdateView.as_view(),
        name="integration-segment-update",
    ),
    path(
        "contacts/segments/<uuid:segment_id>/delete/",
        api.SegmentDeleteView.as_view(),
        name="integration-segment-delete",
    ),
    path("contacts/<uuid:contact_id>/", api.ContactView.as_view(), name="integration-contact"),
    path(
        "contacts/<uuid:contact_id>/update/",
        api.ContactUpdateView.as_view(),
        name="integration-contact-update",
    ),
    path(
        "contacts/<uuid:contact_id>/delete/",
        api.ContactDeleteView.as_view(),
        name="integration-contact-delete",
    ),
]
