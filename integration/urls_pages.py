"""The developer pages, under /api/integration/: the dashboard and the API documentation."""

from django.urls import path

from integration.views import pages

urlpatterns = [
    path("dashboard/", pages.dashboard, name="integration-dashboard"),
    path("dashboard/login/", pages.dashboard_login, name="integration-dashboard-login"),
    path("dashboard/logout/", pages.dashboard_logout, name="integration-dashboard-logout"),
    path(
        "dashboard/keys/create/",
        pages.api_key_create_page,
        name="integration-dashboard-key-create",
    ),
    path(
        "dashboard/keys/<uuid:key_id>/revoke/",
        pages.api_key_revoke_page,
        name="integration-dashboard-key-revoke",
    ),
    path(
        "dashboard/webhooks/create/",
        pages.webhook_create_page,
        name="integration-dashboard-webhook-create",
    ),
    path(
        "dashboard/webhooks/<uuid:endpoint_id>/",
        pages.webhook_page,
        name="integration-dashboard-webhook",
    ),
    path(
        "dashboard/webhooks/<uuid:endpoint_id>/toggle/",
        pages.webhook_toggle_page,
        name="integration-dashboard-webhook-toggle",
    ),
    path(
        "dashboard/webhooks/<uuid:endpoint_id>/delete/",
        pages.webhook_delete_page,
        name="integration-dashboard-webhook-delete",
    ),
    path("documentation/", pages.documentation, name="integration-documentation"),
]
