"""The sms app's own routes: sender IDs. The SMS send routes beside them under
/api/messaging/sms/ are messaging's (messaging.urls.sms_urlpatterns); mifumo/urls.py mounts
both."""

from django.urls import path

from sms.views import sender_ids

urlpatterns = [
    path("sender-ids/", sender_ids.SenderIdListView.as_view(), name="sender-id-list"),
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
