"""Operators find every tenant's API keys, webhook endpoints, deliveries and attempts here (all
public-schema rows). Pages are read-only; revoking a key, turning an endpoint on or off,
deleting it and retrying a delivery are actions that call integration.services."""

from django.contrib import admin
from django.db.models import Q

from integration.models import (
    API_KEY_PREFIX,
    ApiKey,
    WebhookAttempt,
    WebhookDelivery,
    WebhookEndpoint,
)
from integration.services import keys as key_services
from integration.services import webhooks as webhook_services
from tenants.admin_scope import ReadOnlyAdmin, service_each


@admin.register(ApiKey)
class ApiKeyAdmin(ReadOnlyAdmin):
    list_display = [
        "name",
        "masked_key",
        "tenant",
        "status",
        "permissions",
        "expires_at",
        "last_used_at",
        "total_uses",
        "created_at",
        "revoked_at",
    ]
    list_filter = ["status"]
    search_fields = ["key_prefix", "name", "tenant__name", "tenant__subdomain"]
    list_select_related = ["tenant", "created_by"]
    exclude = ["key_hash", "secret_hash"]  # hashes of secrets: nothing an operator reads
    actions = ["revoke_selected"]

    @admin.display(description="Key")
    def masked_key(self, api_key):
        return api_key.masked_key

    def get_search_results(self, request, queryset, search_term):
        """Also finds a key by the whole key pasted (its hash), or by its masked form."""
        results, may_have_duplicates = super().get_search_results(request, queryset, search_term)
        term = search_term.strip().rstrip("*")
        if term.startswith(API_KEY_PREFIX):
            results = results | queryset.filter(
                Q(key_hash=key_services.key_hash(term)) | Q(key_prefix__startswith=term)
            )
        return results, may_have_duplicates

    @admin.action(
        description="Revoke the selected keys (they stop at once)", permissions=["operate"]
    )
    def revoke_selected(self, request, queryset):
        service_each(
            self,
            request,
            queryset.filter(status=ApiKey.Status.ACTIVE),
            lambda k: key_services.api_key_revoke(api_key=k),
            "Revoked",
        )


@admin.register(WebhookEndpoint)
class WebhookEndpointAdmin(ReadOnlyAdmin):
    list_display = [
        "url",
        "tenant",
        "events",
        "is_active",
        "disabled_reason",
        "total_deliveries",
        "failed_deliveries",
        "last_delivery_at",
        "created_at",
    ]
    list_filter = ["is_active"]
    search_fields = ["=id", "url", "tenant__name", "tenant__subdomain"]
    list_select_related = ["tenant"]
    exclude = ["secret"]  # the customer's signing secret
    actions = ["turn_on_selected", "turn_off_selected", "delete_selected_endpoints"]

    @admin.action(description="Turn the selected endpoints on", permissions=["operate"])
    def turn_on_selected(self, request, queryset):
        service_each(
            self,
            request,
            queryset,
            lambda e: webhook_services.webhook_endpoint_toggle(endpoint=e, is_active=True),
            "Turned on",
        )

    @admin.action(
        description="Turn the selected endpoints off (their pending deliveries are canceled)",
        permissions=["operate"],
    )
    def turn_off_selected(self, request, queryset):
        service_each(
            self,
            request,
            queryset,
            lambda e: webhook_services.webhook_endpoint_toggle(endpoint=e, is_active=False),
            "Turned off",
        )

    @admin.action(
        description="Delete the selected endpoints with their deliveries", permissions=["operate"]
    )
    def delete_selected_endpoints(self, request, queryset):
        service_each(
            self,
            request,
            queryset,
            lambda e: webhook_services.webhook_endpoint_delete(endpoint=e),
            "Deleted",
        )


class WebhookAttemptInline(admin.TabularInline):
    model = WebhookAttempt
    extra = 0
    fields = ("attempted_at", "status_code", "duration_ms", "error")
    readonly_fields = fields

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(WebhookDelivery)
class WebhookDeliveryAdmin(ReadOnlyAdmin):
    list_display = [
        "id",
        "event_type",
        "event_id",
        "url",
        "tenant",
        "state",
        "attempts",
        "next_attempt_at",
        "created_at",
        "finished_at",
    ]
    list_filter = ["state", "event_type"]
    search_fields = ["event_id", "url", "tenant__name", "tenant__subdomain"]
    list_select_related = ["tenant"]
    # One row per event and target: a large table.
    show_full_result_count = False
    show_facets = admin.ShowFacets.NEVER
    inlines = [WebhookAttemptInline]
    actions = ["retry_selected"]

    @admin.action(
        description="Retry the selected failed or canceled deliveries now",
        permissions=["operate"],
    )
    def retry_selected(self, request, queryset):
        service_each(
            self,
            request,
            queryset,
            lambda d: webhook_services.webhook_delivery_retry(delivery=d),
            "Retrying",
        )


@admin.register(WebhookAttempt)
class WebhookAttemptAdmin(ReadOnlyAdmin):
    list_display = ["attempted_at", "delivery", "status_code", "duration_ms", "error"]
    list_filter = ["status_code"]
    search_fields = ["delivery__event_id", "delivery__url", "error"]
    list_select_related = ["delivery"]
    show_full_result_count = False
    show_facets = admin.ShowFacets.NEVER
