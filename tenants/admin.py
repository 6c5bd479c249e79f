from functools import partial

from django import forms
from django.contrib import admin, messages
from django.http import HttpResponseRedirect
from django.urls import path

from sms.providers import PROVIDERS
from tenants import admin_scope
from tenants.models import Domain, Invitation, Membership, Tenant

SMS_PROVIDER_SETTING = Tenant.SMS_PROVIDER_SETTING


class TenantAdminForm(forms.ModelForm):
    """The tenant's fields plus its SMS provider, kept in `settings` (read by the pipeline)."""

    sms_provider = forms.ChoiceField(
        required=False,
        label="SMS provider",
        help_text="Overrides the platform's SMS_PROVIDER for this tenant; empty uses it.",
    )

    class Meta:
        model = Tenant
        fields = [
            "name", "subdomain", "business_name", "business_type", "country", "timezone",
            "contact_phone", "contact_email", "is_active",
        ]  # fmt: skip

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["sms_provider"].choices = [("", "Platform default")] + [
            (name, name) for name in sorted(PROVIDERS)
        ]
        self.initial["sms_provider"] = (self.instance.settings or {}).get(SMS_PROVIDER_SETTING, "")

    def save(self, commit=True):
        settings = dict(self.instance.settings or {})
        settings.pop(SMS_PROVIDER_SETTING, None)
        if self.cleaned_data["sms_provider"]:
            settings[SMS_PROVIDER_SETTING] = self.cleaned_data["sms_provider"]
        self.instance.settings = settings
        return super().save(commit=commit)


class DomainInline(admin.TabularInline):
    model = Domain
    extra = 0


class MembershipInline(admin.TabularInline):
    model = Membership
    extra = 0
    autocomplete_fields = ["user"]


@admin.register(Tenant)
class TenantAdmin(admin.ModelAdmin):
    form = TenantAdminForm
    exclude = ["settings"]  # edited through the form's own fields
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
    actions = ["pick_for_tenant_pages"]

    def get_urls(self):
        picker = self.admin_site.admin_view(partial(admin_scope.tenant_pick_view, model_admin=self))
        # Before the model's own "<object_id>/" routes, which would take "scope/" for an id.
        return [path("scope/", picker, name="tenants_tenant_scope"), *super().get_urls()]

    @admin.action(description="Show the selected tenant's data (contacts, messages, ...)")
    def pick_for_tenant_pages(self, request, queryset):
        if queryset.count() != 1:
            self.message_user(request, "Select exactly one tenant.", messages.WARNING)
            return None
        admin_scope.tenant_pick(request, queryset.get())
        return HttpResponseRedirect(admin_scope.picker_url())

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
