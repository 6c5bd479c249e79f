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
]
