"""The settings API's key routes, under /api/auth/ (both seeds' spellings)."""

from django.urls import path

from integration.views import keys

urlpatterns = [
    path("keys/create/", keys.KeyCreateView.as_view(), name="api-key-create"),
    path("keys/<uuid:key_id>/revoke/", keys.KeyRevokeView.as_view(), name="api-key-revoke"),
    path(
        "keys/<uuid:key_id>/regenerate/",
        keys.KeyRegenerateView.as_view(),
        name="api-key-regenerate",
    ),
    path("api-key/generate/", keys.KeyCreateView.as_view(), name="api-key-generate"),
    path("api-key/revoke/", keys.KeyRevokeByBodyView.as_view(), name="api-key-revoke-by-body"),
]
