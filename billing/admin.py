"""Operators read balances and the ledger here; credits change only through credit_add.
They manage the SMS packages (saved through sms_package_save) and the coupons (through
coupon_save; their uses are counted by orders only), and read payments, which only
billing.payments.services changes, and the invoices it makes."""

from typing import Any, cast

from django import forms
from django.contrib import admin, messages
from django.http import HttpRequest

from accounts.models import User
from billing.coupons import coupon_save
from billing.models import (
    Coupon,
    CreditBalance,
    CreditLedgerEntry,
    Invoice,
    PaymentTransaction,
    SmsPackage,
)
from billing.selectors import credit_balance_get
from billing.services import credit_add, sms_package_save
from mifumo.errors import ApplicationError

Kind = CreditLedgerEntry.Kind
ADMIN_REFERENCE = "admin"


class CreditBalanceForm(forms.ModelForm[CreditBalance]):
    add_credits = forms.IntegerField(
        required=False,
        help_text="Written to the ledger: a positive number is a purchase, a negative one an "
        "adjustment. The balance never goes below zero.",
    )
    reason = forms.CharField(required=False, max_length=255, help_text="Recorded with the entry")

    class Meta:
        model = CreditBalance
        fields = ["tenant"]

    def clean(self) -> dict[str, Any]:
        cleaned = cast(dict[str, Any], super().clean())  # a ModelForm returns cleaned_data
        tenant = cleaned.get("tenant") or getattr(self.instance, "tenant", None)
        credits = cleaned.get("add_credits")
        if credits == 0 or (credits is None and self.instance._state.adding):
            self.add_error("add_credits", "Enter a number of credits other than 0.")
        elif credits and tenant is not None:
            available = credit_balance_get(tenant_id=tenant.pk).credits
            if available + credits < 0:
                self.add_error(
                    "add_credits", f"The balance is {available}; it cannot go below zero."
                )
        return cleaned


@admin.register(CreditBalance)
class CreditBalanceAdmin(admin.ModelAdmin[CreditBalance]):
    form = CreditBalanceForm
    list_display = ["tenant", "credits", "updated_at"]
    search_fields = ["tenant__name", "tenant__subdomain"]
    list_select_related = ["tenant"]
    autocomplete_fields = ["tenant"]
    ordering = ["tenant__name"]

    def get_fields(self, request: HttpRequest, obj: CreditBalance | None = None) -> tuple[str, ...]:
        if obj is None:
            return ("tenant", "add_credits", "reason")
        return ("tenant", "credits", "updated_at", "add_credits", "reason")

    def get_readonly_fields(
        self, request: HttpRequest, obj: CreditBalance | None = None
    ) -> list[str]:
        return [] if obj is None else ["tenant", "credits", "updated_at"]

    def has_delete_permission(self, request: HttpRequest, obj: CreditBalance | None = None) -> bool:
        return False  # the balance is the sum of the ledger; deleting it would break that

    def save_model(
        self, request: HttpRequest, obj: CreditBalance, form: forms.Form, change: bool
    ) -> None:
        # The form never writes the number: credit_add locks the row and writes the ledger.
        credits = form.cleaned_data.get("add_credits")
        if not credits:
            return
        try:
            entry = credit_add(
                tenant_id=obj.tenant_id,
                credits=credits,
                kind=Kind.PURCHASE if credits > 0 else Kind.ADJUSTMENT,
                reason=form.cleaned_data.get("reason", "").strip(),
                reference=ADMIN_REFERENCE,
                created_by=cast(User, request.user),  # the admin lets in signed-in staff only
            )
        except ApplicationError as exc:
            self.message_user(request, exc.message, messages.ERROR)
            return
        obj.refresh_from_db()
        self.message_user(
            request, f"{credits:+d} credits; the balance is now {entry.balance_after}."
        )


@admin.register(CreditLedgerEntry)
class CreditLedgerEntryAdmin(admin.ModelAdmin[CreditLedgerEntry]):
    list_display = [
        "created_at",
        "tenant",
        "kind",
        "credits",
        "balance_after",
        "reference",
        "reason",
        "created_by",
    ]
    list_filter = ["kind"]
    search_fields = ["tenant__subdomain", "tenant__name", "reference"]
    list_select_related = ["tenant", "created_by"]
    date_hierarchy = "created_at"

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(
        self, request: HttpRequest, obj: CreditLedgerEntry | None = None
    ) -> bool:
        return False

    def has_delete_permission(
        self, request: HttpRequest, obj: CreditLedgerEntry | None = None
    ) -> bool:
        return False


@admin.register(SmsPackage)
class SmsPackageAdmin(admin.ModelAdmin[SmsPackage]):
    list_display = [
        "name",
        "package_type",
        "sms_count",
        "bonus_sms",
        "price",
        "currency",
        "validity_days",
        "is_active",
        "is_popular",
        "sort_order",
    ]
    list_filter = ["is_active", "package_type"]
    list_editable = ["is_active", "sort_order"]
    search_fields = ["name"]

    def save_model(
        self, request: HttpRequest, obj: SmsPackage, form: forms.Form, change: bool
    ) -> None:
        sms_package_save(package=obj)

    def has_delete_permission(self, request: HttpRequest, obj: SmsPackage | None = None) -> bool:
        return False  # payments point to their package: retire one with is_active instead


@admin.register(Coupon)
class CouponAdmin(admin.ModelAdmin[Coupon]):
    list_display = [
        "code",
        "discount_type",
        "value",
        "currency",
        "valid_from",
        "valid_until",
        "uses",
        "max_uses",
        "is_active",
        "is_public",
    ]
    list_filter = ["is_active", "is_public", "discount_type"]
    search_fields = ["code", "description"]
    filter_horizontal = ["packages"]
    readonly_fields = ["uses"]

    def save_model(self, request: HttpRequest, obj: Coupon, form: forms.Form, change: bool) -> None:
        coupon_save(coupon=obj, packages=list(form.cleaned_data.get("packages", [])))

    def save_related(
        self, request: HttpRequest, form: forms.ModelForm[Coupon], formsets: Any, change: bool
    ) -> None:
        """coupon_save has set the packages; the form must not write them a second time."""

    def has_delete_permission(self, request: HttpRequest, obj: Coupon | None = None) -> bool:
        return False  # orders point to their coupon: retire one with is_active instead


@admin.register(PaymentTransaction)
class PaymentTransactionAdmin(admin.ModelAdmin[PaymentTransaction]):
    list_display = [
        "created_at",
        "order_id",
        "tenant",
        "status",
        "amount",
        "currency",
        "discount",
        "coupon",
        "paid_amount",
        "provider",
        "payment_method",
        "credits",
        "bonus_credits",
    ]
    list_filter = ["status", "provider", "payment_method"]
    search_fields = ["order_id", "tenant__subdomain", "tenant__name", "provider_reference"]
    list_select_related = ["tenant", "coupon"]
    date_hierarchy = "created_at"

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(
        self, request: HttpRequest, obj: PaymentTransaction | None = None
    ) -> bool:
        return False

    def has_delete_permission(
        self, request: HttpRequest, obj: PaymentTransaction | None = None
    ) -> bool:
        return False


@admin.register(Invoice)
class InvoiceAdmin(admin.ModelAdmin[Invoice]):
    list_display = ["number", "issued_at", "tenant", "buyer_name", "total", "tax", "currency"]
    list_filter = ["year", "currency"]
    search_fields = ["number", "payment__order_id", "tenant__subdomain", "tenant__name"]
    list_select_related = ["tenant"]
    date_hierarchy = "issued_at"

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Invoice | None = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Invoice | None = None) -> bool:
        return False
