from django.urls import path

from sms.views import sender_ids, sending

urlpatterns = [
    path("sender-ids/", sender_ids.SenderIdListView.as_view(), name="sender-id-list"),
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
]

# The dashboard's sender-name routes, mounted at /api/messaging/ by mifumo/urls.py.
sender_name_urlpatterns = [
    path("sender-ids/", sender_ids.SenderNameListView.as_view(), name="sender-name-list"),
    path(
        "sender-ids/request/",
        sender_ids.SenderNameRequestView.as_view(),
        name="sender-name-request",
    ),
    path(
        "sender-ids/<uuid:sender_id_pk>/status/",
        sender_ids.SenderNameStatusView.as_view(),
        name="sender-name-status",
    ),
]
