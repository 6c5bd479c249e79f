"""Operators find a tenant's contacts, imports, segments, templates, sends, messages, campaigns
and runs here, in the schema of the tenant picked in tenants.admin_scope.

Every page is read-only: statuses and counters move only through messaging's services and the
outbox. What an operator may change is an action that calls the service (opt a contact in or
out, delete it, recount a segment, pause, resume or cancel a campaign).
"""

from django.contrib import admin

from messaging.models import (
    Campaign,
    CampaignRun,
    Contact,
    ContactImport,
    Message,
    Segment,
    SendRequest,
    Template,
)
from messaging.services import campaigns as campaign_services
from messaging.services import contacts as contact_services
from messaging.services import segments as segment_services
from mifumo.tenancy import current_tenant
from sms.admin import ProviderFilter
from tenants.admin_scope import TenantScopedAdmin, service_each

OPERATOR_OPT_OUT_REASON = "Opted out by a Mifumo operator"


@admin.register(Contact)
class ContactAdmin(TenantScopedAdmin):
    list_display = [
        "name",
        "phone_e164",
        "email",
        "tags",
        "is_active",
        "is_opted_in",
        "last_contacted_at",
        "created_at",
        "deleted_at",
    ]
    list_filter = ["is_active", "is_opted_in", ("deleted_at", admin.EmptyFieldListFilter)]
    search_fields = ["name", "phone_e164", "email"]
    actions = ["opt_in_selected", "opt_out_selected", "delete_softly_selected"]

    @admin.action(description="Opt the selected contacts in", permissions=["operate"])
    def opt_in_selected(self, request, queryset):
        service_each(
            self,
            request,
            queryset,
            lambda c: contact_services.contact_opt_in(contact=c),
            "Opted in",
        )

    @admin.action(description="Opt the selected contacts out", permissions=["operate"])
    def opt_out_selected(self, request, queryset):
        service_each(
            self,
            request,
            queryset,
            lambda c: contact_services.contact_opt_out(contact=c, reason=OPERATOR_OPT_OUT_REASON),
            "Opted out",
        )

    @admin.action(
        description="Delete the selected contacts (soft: importing them again brings them back)",
        permissions=["operate"],
    )
    def delete_softly_selected(self, request, queryset):
        service_each(
            self,
            request,
            queryset.filter(deleted_at__isnull=True),
            lambda c: contact_services.contact_delete(contact=c),
            "Deleted",
        )


@admin.register(ContactImport)
class ContactImportAdmin(TenantScopedAdmin):
    list_display = [
        "id",
        "status",
        "file_format",
        "total_rows",
        "rows_done",
        "imported_count",
        "updated_count",
        "skipped_count",
        "created_at",
        "finished_at",
    ]
    list_filter = ["status", "file_format"]
    search_fields = ["=id", "failure"]
    date_hierarchy = "created_at"


@admin.register(Segment)
class SegmentAdmin(TenantScopedAdmin):
    list_display = ["name", "contact_count", "counted_at", "created_at", "updated_at"]
    search_fields = ["name", "description"]
    actions = ["recount_selected"]

    @admin.action(
        description="Count the selected segments' contacts again", permissions=["operate"]
    )
    def recount_selected(self, request, queryset):
        service_each(
            self,
            request,
            queryset,
            lambda s: segment_services.segment_count_refresh(segment=s),
            "Counted",
        )


@admin.register(Template)
class TemplateAdmin(TenantScopedAdmin):
    list_display = [
        "name",
        "channel",
        "language",
        "category",
        "approval_status",
        "is_active",
        "usage_count",
        "updated_at",
    ]
    list_filter = ["channel", "language", "approval_status", "is_active"]
    search_fields = ["name", "category", "content"]


@admin.register(SendRequest)
class SendRequestAdmin(TenantScopedAdmin):
    list_display = [
        "id",
        "created_at",
        "source",
        "channel",
        "sender_id",
        "recipient_count",
        "segments",
        "credits",
        "scheduled_at",
    ]
    list_filter = ["source", "channel"]
    search_fields = ["=id", "sender_id", "text", "webhook_url"]


@admin.register(Message)
class MessageAdmin(TenantScopedAdmin):
    list_display = [
        "created_at",
        "direction",
        "channel",
        "recipient",
        "sender",
        "status",
        "provider",
        "segments",
        "credits",
        "error_code",
        "sent_at",
        "delivered_at",
    ]
    list_filter = ["status", "direction", "channel", ProviderFilter]
    search_fields = ["=id", "=send_request__id", "recipient", "sender", "provider_message_id"]


class CampaignRunInline(admin.TabularInline):
    model = CampaignRun
    extra = 0
    fields = ("scheduled_for", "started_at", "status", "recipients", "credits", "failure_reason")
    readonly_fields = fields
    show_change_link = True

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(Campaign)
class CampaignAdmin(TenantScopedAdmin):
    list_display = [
        "name",
        "status",
        "campaign_type",
        "is_recurring",
        "total_recipients",
        "sent_count",
        "delivered_count",
        "failed_count",
        "pending_count",
        "scheduled_at",
        "next_run_at",
        "created_at",
    ]
    list_filter = ["status", "is_recurring", "campaign_type"]
    search_fields = ["name", "description", "message_text"]
    date_hierarchy = "created_at"
    inlines = [CampaignRunInline]
    actions = ["pause_selected", "resume_selected", "cancel_selected"]

    @admin.action(description="Pause the selected running campaigns", permissions=["operate"])
    def pause_selected(self, request, queryset):
        service_each(
            self,
            request,
            queryset,
            lambda c: campaign_services.campaign_pause(campaign=c),
            "Paused",
        )

    @admin.action(description="Resume the selected paused campaigns", permissions=["operate"])
    def resume_selected(self, request, queryset):
        service_each(
            self,
            request,
            queryset,
            lambda c: campaign_services.campaign_resume(campaign=c),
            "Resumed",
        )

    @admin.action(
        description="Cancel the selected campaigns (unsent messages are refunded)",
        permissions=["operate"],
    )
    def cancel_selected(self, request, queryset):
        service_each(
            self,
            request,
            queryset,
            # The view runs in the picked tenant's schema; its tenant is the connection's.
            lambda c: campaign_services.campaign_cancel(campaign=c, tenant=current_tenant()),
            "Cancelled",
        )


@admin.register(CampaignRun)
class CampaignRunAdmin(TenantScopedAdmin):
    list_display = [
        "campaign",
        "scheduled_for",
        "started_at",
        "status",
        "recipients",
        "credits",
        "failure_reason",
    ]
    list_filter = ["status"]
    search_fields = ["campaign__name", "failure_reason"]
    list_select_related = ["campaign"]
    date_hierarchy = "scheduled_for"
