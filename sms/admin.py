"""Operators review every tenant's sender ID requests here; reviews go through sms.services.
They read the callback routes the outbox records (read-only). ProviderFilter is the provider
filter of the other apps' admins (messages, status reports)."""

from collections.abc import Callable
from typing import Any, cast

from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest

from accounts.models import User
from mifumo.errors import ApplicationError
from sms import services
from sms.models import CallbackRoute, SenderId
from sms.providers import PROVIDERS
from tenants.admin_scope import ReadOnlyAdmin


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
