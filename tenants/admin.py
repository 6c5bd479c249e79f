from django.contrib import admin

from tenants.models import Domain, Invitation, Membership, Tenant


class DomainInline(admin.TabularInline):
    model = Domain
    extra = 0


class MembershipInline(admin.TabularInline):
    model = Membership
    extra = 0
    autocomplete_fields = ["user"]


@admin.register(Tenant)
class TenantAdmin(admin.ModelAdmin):
    list_display = [
        "name",
        "subdomain",
        "schema_name",
        "business_type",
        "country",
        "is_active",
        "created_at",
    ]
    list_filter = ["is_active", "country", "business_type"]
    search_fields = ["name", "subdomain", "business_name", "contact_email", "contact_phone"]
    readonly_fields = ["id", "schema_name", "created_at", "updated_at"]
    inlines = [DomainInline, MembershipInline]

    def get_readonly_fields(self, request, obj=None):
        # The subdomain names the schema; it is fixed once the tenant exists.
        return [*self.readonly_fields, "subdomain"] if obj else ["id", "created_at", "updated_at"]


@admin.register(Domain)
class DomainAdmin(admin.ModelAdmin):
    list_display = ["domain", "tenant", "is_primary", "created_at"]
    list_filter = ["is_primary"]
    search_fields = ["domain", "tenant__name", "tenant__subdomain"]
    list_select_related = ["tenant"]
    autocomplete_fields = ["tenant"]


@admin.register(Membership)
class MembershipAdmin(admin.ModelAdmin):
    list_display = ["user", "tenant", "role", "status", "created_at"]
    list_filter = ["role", "status"]
    search_fields = ["user__email", "tenant__name", "tenant__subdomain"]
    list_select_related = ["user", "tenant"]
    autocomplete_fields = ["user", "tenant"]


@admin.register(Invitation)
class InvitationAdmin(admin.ModelAdmin):
    list_display = ["email", "tenant", "role", "status", "invited_by", "expires_at", "created_at"]
    list_filter = ["status", "role"]
    search_fields = ["email", "tenant__name", "tenant__subdomain"]
    list_select_related = ["tenant", "invited_by"]
    readonly_fields = ["token_hash", "accepted_by", "accepted_at", "created_at"]
    autocomplete_fields = ["tenant", "invited_by"]
