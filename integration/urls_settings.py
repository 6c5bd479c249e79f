"""The settings API, under /api/auth/: the overview, API keys (both seeds' spellings) and
customer webhook endpoints."""

from django.urls import path

from integration.views import keys, overview, webhooks

urlpatterns = [
    path("settings/", overview.SettingsView.as_view(), name="integration-settings"),
    path("keys/create/", keys.KeyCreateView.as_view(), name="api-key-create"),
    path("keys/<uuid:key_id>/revoke/", keys.KeyRevokeView.as_view(), name="api-key-revoke"),
    path(
        "keys/<uuid:key_id>/regenerate/",
        keys.KeyRegenerateView.as_view(),
        name="api-key-regenerate",
    ),
    path("api-key/generate/", keys.KeyCreateView.as_view(), name="api-key-generate"),
    path("api-key/revoke/", keys.KeyRevokeByBodyView.as_view(), name="api-key-revoke-by-body"),
    path("webhooks/create/", webhooks.WebhookCreateView.as_view(), name="webhook-create"),
    path(
        "webhooks/<uuid:endpoint_id>/toggle/",
        webhooks.WebhookToggleView.as_view(),
        name="webhook-toggle",
    ),
    path(
        "webhooks/<uuid:endpoint_id>/delete/",
        webhooks.WebhookDeleteView.as_view(),
        name="webhook-delete",
    ),
    path(
        "webhooks/<uuid:endpoint_id>/deliveries/",
        webhooks.WebhookDeliveryListView.as_view(),
        name="webhook-deliveries",
    ),
]
