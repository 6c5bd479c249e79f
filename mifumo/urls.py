from django.contrib import admin
from django.urls import include, path, re_path
from drf_yasg import openapi
from drf_yasg.views import get_schema_view
from rest_framework.permissions import AllowAny

from messaging.urls import sms_urlpatterns as messaging_sms_urlpatterns
from messaging.views.sending import DeliveryReportsView
from mifumo.views import HealthView
from sms.urls import channel_urlpatterns, sender_name_urlpatterns

api_info = openapi.Info(
    title="Mifumo API",
    default_version="v1",
    description=(
        "Multi-tenant SMS and WhatsApp messaging for African businesses. Dashboard routes take "
        "a JWT access token (`Authorization: Bearer <access>`); pick a tenant other than the "
        "active one with `X-Tenant-ID`. Every response except the auth token routes is the "
        "envelope `{success, message, data, error_code, details}`."
    ),
)
# The schema and its pages are public: no authentication at all, so that whatever a client sends
# in Authorization (a JWT, an expired one, an API key) cannot turn reading them into a 401.
schema_view = get_schema_view(
    api_info, public=True, authentication_classes=(), permission_classes=(AllowAny,)
)

admin.site.site_header = "Mifumo operations"
admin.site.site_title = "Mifumo admin"
admin.site.site_url = "/swagger/"  # "View site": the API explorer (the API has no home page)
# List the tenant apps too (django-tenants' own index greys them out on the public schema).
admin.site.index_template = "admin/tenant_scope/index.html"
admin.site.app_index_template = "admin/tenant_scope/app_index.html"

# Every route under /api/messaging/sms/: the sms app's own (sender IDs) and messaging's (sends,
# their status, balance, statistics, checks, and the SMS-only lists).
sms_routes = [path("", include("sms.urls")), path("", include(messaging_sms_urlpatterns))]

urlpatterns = [
    path("admin/", admin.site.urls),
    path("api/health/", HealthView.as_view(), name="health"),
    path("api/auth/", include("accounts.urls")),
    path("api/auth/", include("integration.urls_settings")),
    path("api/integration/v1/", include("integration.urls_api")),
    path("api/integration/", include("integration.urls_pages")),
    path("api/tenants/", include("tenants.urls")),
    path("api/billing/", include("billing.urls")),
    path("api/messaging/sms/", include(sms_routes)),
    # "Complete API Documentation" prints every SMS route as sms/sms/<route>: the same list
    # again, namespaced so that reverse() keeps finding the routes above.
    path("api/messaging/sms/sms/", include((sms_routes, "sms-literal"))),
    path("api/messaging/", include(sender_name_urlpatterns)),
    path("api/messaging/", include(channel_urlpatterns)),
    path("api/messaging/", include("messaging.urls")),
    path(
        "api/sms/delivery-reports/",
        DeliveryReportsView.as_view(),
        name="sms-delivery-reports",
    ),
    path("webhooks/", include("webhooks.urls")),
    re_path(
        r"^swagger\.(?P<format>json|yaml)$",
        schema_view.without_ui(cache_timeout=0),
        name="schema-json",
    ),
    path("swagger/", schema_view.with_ui("swagger", cache_timeout=0), name="schema-swagger-ui"),
    path("redoc/", schema_view.with_ui("redoc", cache_timeout=0), name="schema-redoc"),
]
