from django.urls import path

from webhooks import views

urlpatterns = [
    path("beem/dlr/<str:token>/", views.beem_delivery_report, name="beem-dlr"),
    path("twilio/status/", views.twilio_status, name="twilio-status"),
    path("twilio/inbound/", views.twilio_inbound, name="twilio-inbound"),
    path("sandbox/inbound/", views.sandbox_inbound, name="sandbox-inbound"),
    path("zenopay/", views.zenopay_callback, name="zenopay-callback"),
    path("stripe/", views.stripe_webhook, name="stripe-webhook"),
]
