"""Operators review every tenant's sender ID requests here; reviews go through sms.services.
They read the callback routes the outbox records (read-only). ProviderFilter is the provider
filter of the other apps' admins (messages, status reports).

Channels are read-only here, their credentials shown masked only (the encrypted token never
leaves the database), and may be tested. Operators attach a platform-owned number to a tenant
by adding a channel address, and take it back by deleting one; both go through sms.channels.
"""

from collections.abc import Callable
from typing import Any, cast

from django import forms
from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest

from accounts.models import User
from mifumo.errors import ApplicationError
from sms import channels, services
from sms.models import CallbackRoute, Channel, ChannelAddress, SenderId
from sms.providers import PROVIDERS
from tenants.admin_scope import ReadOnlyAdmin, service_each


class ChoicesFilter(admin.SimpleListFilter):
    """A filter over a plain text column with known values: no DISTINCT over a large table."""

    choices_of: list[tuple[str, str]] = []
    parameter_name: str  # every subclass names its column

    def lookups(
        self, request: HttpRequest, model_admin: admin.ModelAdmin[Any]
    ) -> list[tuple[str, str]]:
        return self.choices_of

    def queryset(self, request: HttpRequest, queryset: QuerySet[Any]) -> QuerySet[Any]:
        value = self.value()
        return queryset.filter(**{self.parameter_name: value}) if value else queryset


class ProviderFilter(ChoicesFilter):
    """The `provider` column of messages, status events and callback routes."""

    title = "provider"
    parameter_name = "provider"
    choices_of = [(name, name) for name in sorted(PROVIDERS)]


def _reviewer(request: HttpRequest) -> User:
    return cast(User, request.user)  # the admin lets in signed-in staff only


@admin.register(SenderId)
class SenderIdAdmin(admin.ModelAdmin[SenderId]):
    list_display = ["name", "tenant", "status", "created_by", "reviewed_by", "created_at"]
    list_filter = ["status"]
    search_fields = ["name", "tenant__name", "tenant__subdomain"]
    list_select_related = ["tenant", "created_by", "reviewed_by"]
    readonly_fields = [
        "id",
        "tenant",
        "name",
        "purpose",
        "sample_message",
        "status",
        "rejection_reason",
        "reviewed_by",
        "reviewed_at",
        "created_by",
        "created_at",
        "updated_at",
    ]
    actions = ["approve_selected", "reject_selected", "revoke_selected"]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False  # tenants request sender IDs through the API; statuses change by actions

    def _review(
        self,
        request: HttpRequest,
        queryset: QuerySet[SenderId],
        review: Callable[[SenderId], SenderId],
        done: str,
    ) -> None:
        changed: list[str] = []
        refused: list[str] = []
        for sender_id in queryset.select_related("tenant"):
            try:
                review(sender_id)
            except ApplicationError as exc:
                refused.append(f"{sender_id.name} ({sender_id.tenant.subdomain}): {exc.message}")
            else:
                changed.append(sender_id.name)
        if changed:
            self.message_user(request, f"{done}: {', '.join(changed)}.", messages.SUCCESS)
        for message in refused:
            self.message_user(request, message, messages.WARNING)

    @admin.action(description="Approve selected sender IDs", permissions=["change"])
    def approve_selected(self, request: HttpRequest, queryset: QuerySet[SenderId]) -> None:
        reviewer = _reviewer(request)
        self._review(
            request,
            queryset,
            lambda s: services.sender_id_approve(sender_id=s, reviewed_by=reviewer),
            "Approved",
        )

    @admin.action(description="Reject selected sender IDs", permissions=["change"])
    def reject_selected(self, request: HttpRequest, queryset: QuerySet[SenderId]) -> None:
        reviewer = _reviewer(request)
        self._review(
            request,
            queryset,
            lambda s: services.sender_id_reject(
                sender_id=s, reason=services.OPERATOR_REJECTION_REASON, reviewed_by=reviewer
            ),
            "Rejected",
        )

    @admin.action(description="Revoke selected approved sender IDs", permissions=["change"])
    def revoke_selected(self, request: HttpRequest, queryset: QuerySet[SenderId]) -> None:
        reviewer = _reviewer(request)
        self._review(
            request,
            queryset,
            lambda s: services.sender_id_revoke(
                sender_id=s, reason=services.OPERATOR_REVOCATION_REASON, reviewed_by=reviewer
            ),
            "Revoked",
        )


@admin.register(CallbackRoute)
class CallbackRouteAdmin(ReadOnlyAdmin):
    list_display = ["provider_message_id", "provider", "schema_name", "created_at"]
    list_filter = [ProviderFilter]
    search_fields = ["provider_message_id", "=schema_name"]
    # The table grows with every message sent: no second COUNT, no counts per filter choice.
    show_full_result_count = False
    show_facets = admin.ShowFacets.NEVER


class ChannelAddressInline(admin.TabularInline[ChannelAddress, Channel]):
    model = ChannelAddress
    fields = readonly_fields = ("address", "kind", "assigned_by", "created_at")
    extra = 0
    can_delete = False
    show_change_link = True

    def has_add_permission(self, request: HttpRequest, obj: Channel | None = None) -> bool:
        return False


@admin.register(Channel)
class ChannelAdmin(ReadOnlyAdmin):
    list_display = [
        "name",
        "tenant",
        "provider",
        "is_platform",
        "is_default",
        "is_active",
        "verified_at",
        "deleted_at",
    ]
    list_filter = ["provider", "is_platform", "is_active"]
    search_fields = ["name", "tenant__name", "tenant__subdomain", "addresses__address"]
    list_select_related = ["tenant"]
    # `credentials` (the encrypted token) is never among them: the masked hint stands for it.
    fields = readonly_fields = (
        "id",
        "tenant",
        "name",
        "provider",
        "is_platform",
        "is_default",
        "is_active",
        "credentials_hint",
        "verified_at",
        "created_by",
        "created_at",
        "updated_at",
        "deleted_at",
    )
    inlines = [ChannelAddressInline]
    actions = ["test_selected"]

    @admin.action(description="Test the selected channels' accounts", permissions=["operate"])
    def test_selected(self, request: HttpRequest, queryset: QuerySet[Channel]) -> None:
        service_each(
            self,
            request,
            queryset.filter(deleted_at__isnull=True),
            lambda channel: channels.channel_test(channel=channel),
            "Accepted",
        )


class PlatformAddressForm(forms.ModelForm[ChannelAddress]):
    """Attach a platform-owned number to a tenant. The service runs here, in clean(), so that
    its refusal (taken, unreadable) is a form error; the admin view's transaction undoes it
    if the page fails later."""

    provider = forms.ChoiceField(
        choices=[(name, name) for name in sorted(PROVIDERS)],
        help_text="Whose account the address belongs to: the platform's",
    )
    address = forms.CharField(
        max_length=32, help_text="A number (+E.164), a shortcode (digits) or a sender ID"
    )

    class Meta:
        model = ChannelAddress
        fields = ["tenant"]

    def __init__(self, *args: Any, request: HttpRequest, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.request = request
        self.assigned: ChannelAddress | None = None

    def clean(self) -> dict[str, Any]:
        cleaned = cast(dict[str, Any], super().clean())  # a ModelForm returns cleaned_data
        tenant, provider, address = (cleaned.get(f) for f in ("tenant", "provider", "address"))
        if tenant is None or not provider or not address:
            return cleaned
        try:
            self.assigned = channels.channel_address_assign(
                tenant=tenant,
                provider=provider,
                address=address,
                assigned_by=cast(User, self.request.user),  # the admin lets in staff only
            )
        except ApplicationError as exc:
            self.add_error("address", exc.message)
        return cleaned


@admin.register(ChannelAddress)
class ChannelAddressAdmin(admin.ModelAdmin[ChannelAddress]):
    """The address -> tenant index. Adding one attaches a platform-owned address to a tenant
    (channel_address_assign); deleting one releases it (channel_address_release), which the
    addresses of a tenant's own account refuse."""

    list_display = ["address", "provider", "kind", "tenant", "channel", "assigned_by", "created_at"]
    list_filter = [ProviderFilter, "kind"]
    search_fields = ["address", "tenant__subdomain", "tenant__name"]
    list_select_related = ["tenant", "channel", "assigned_by"]
    autocomplete_fields = ["tenant"]
    readonly_fields = [
        "tenant",
        "channel",
        "provider",
        "kind",
        "address",
        "assigned_by",
        "created_at",
    ]
    actions = ["release_selected"]

    def get_form(
        self,
        request: HttpRequest,
        obj: ChannelAddress | None = None,
        change: bool = False,
        **kwargs: Any,
    ) -> Any:
        if obj is not None:
            return super().get_form(request, obj, change=change, **kwargs)
        # The service sets every other field: the form itself edits the tenant only.
        kwargs.update(form=PlatformAddressForm, fields=["tenant"])
        form = super().get_form(request, obj, change=change, **kwargs)

        class BoundToRequest(form):  # type: ignore[misc, valid-type]
            def __init__(self, *args: Any, **form_kwargs: Any) -> None:
                super().__init__(*args, request=request, **form_kwargs)

        return BoundToRequest

    def get_fields(self, request: HttpRequest, obj: ChannelAddress | None = None) -> Any:
        if obj is None:
            return ["tenant", "provider", "address"]
        return list(self.readonly_fields)

    def get_readonly_fields(
        self, request: HttpRequest, obj: ChannelAddress | None = None
    ) -> list[str]:
        return [] if obj is None else list(self.readonly_fields)

    def has_change_permission(
        self, request: HttpRequest, obj: ChannelAddress | None = None
    ) -> bool:
        return False

    def save_form(self, request: HttpRequest, form: Any, change: bool) -> ChannelAddress:
        assert form.assigned is not None  # clean() assigned it, or the form was invalid
        return cast(ChannelAddress, form.assigned)

    def save_model(
        self, request: HttpRequest, obj: ChannelAddress, form: Any, change: bool
    ) -> None:
        """Saved already, by channel_address_assign in the form's clean()."""

    def save_related(self, request: HttpRequest, form: Any, formsets: Any, change: bool) -> None:
        """The address has no relations the form sets."""

    def has_delete_permission(
        self, request: HttpRequest, obj: ChannelAddress | None = None
    ) -> bool:
        # A tenant's own account's addresses are the tenant's to remove, through the API.
        if obj is not None and not obj.channel.is_platform:
            return False
        return bool(super().has_delete_permission(request, obj))

    def get_actions(self, request: HttpRequest) -> dict[str, Any]:
        actions = super().get_actions(request)
        actions.pop("delete_selected", None)  # it would delete rows past the service
        return actions

    def delete_model(self, request: HttpRequest, obj: ChannelAddress) -> None:
        channels.channel_address_release(address=obj)

    @admin.action(
        description="Release the selected platform-owned addresses", permissions=["delete"]
    )
    def release_selected(self, request: HttpRequest, queryset: QuerySet[ChannelAddress]) -> None:
        service_each(
            self,
            request,
            queryset.select_related("channel"),
            lambda address: channels.channel_address_release(address=address),
            "Released",
        )
