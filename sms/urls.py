"""The sms app's own routes: sender IDs and the SMS channels (the seed's providers/). The SMS
send routes beside them under /api/messaging/sms/ are messaging's
(messaging.urls.sms_urlpatterns); mifumo/urls.py mounts both, and the dashboard's sender-name
and channel routes at /api/messaging/."""

from django.urls import path

from sms.views import channels, sender_ids

urlpatterns = [
    path("sender-ids/", sender_ids.SenderIdListView.as_view(), name="sender-id-list"),
    path("providers/", channels.SmsProviderListView.as_view(), name="sms-provider-list"),
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

# Every channel, mounted at /api/messaging/ by mifumo/urls.py.
channel_urlpatterns = [
    path("channels/", channels.ChannelListView.as_view(), name="channel-list"),
    path(
        "channels/<uuid:channel_id>/", channels.ChannelDetailView.as_view(), name="channel-detail"
    ),
    path(
        "channels/<uuid:channel_id>/test/", channels.ChannelTestView.as_view(), name="channel-test"
    ),
]
