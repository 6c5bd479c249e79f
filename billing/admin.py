"""Operators read balances and the ledger here; credits change only through credit_correct
(an operator's entry is a correction, with its reason). They manage the SMS packages (saved
through sms_package_save) and the coupons (through coupon_save; their uses are counted by
orders only), read payments, which only billing.payments.services changes, and refund
completed ones (billing.refunds), and read the invoices."""

from decimal import Decimal
from typing import Any, cast

from django import forms
from django.contrib import admin, messages
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect

from accounts.models import User
from billing.coupons import coupon_save
from billing.models import (
    Coupon,
    CreditBalance,
    CreditLedgerEntry,
    Invoice,
    PaymentTransaction,
    Plan,
    SmsPackage,
    Subscription,
)
from billing.plans import plan_save
from billing.refunds import payment_amount_paid, payment_currency_paid, payment_refund
from billing.selectors import credit_balance_get
from billing.services import credit_correct, sms_package_save
from mifumo.errors import ApplicationError

Kind = CreditLedgerEntry.Kind
ADMIN_REFERENCE = "admin"
# save_model cannot stop the admin's "changed successfully": a refusal marks the object, and
# the response goes back to the form with the refusal's message only.
_REFUSED = "_service_refused"


class CreditBalanceForm(forms.ModelForm[CreditBalance]):
    add_credits = forms.IntegerField(
        required=False,
        label="Correction (credits)",
        help_text="Written to the ledger as a correction: a positive number adds credits, a "
        "negative one takes them away. Purchases come from payments only. The balance never "
        "goes below zero.",
    )
    reason = forms.CharField(
        max_length=255, help_text="Why the correction is made; recorded with the entry"
    )

    class Meta:
        model = CreditBalance
        fields = ["tenant"]

    def clean(self) -> dict[str, Any]:
        cleaned = cast(dict[str, Any], super().clean())  # a ModelForm returns cleaned_data
        tenant = cleaned.get("tenant") or getattr(self.instance, "tenant", None)
        credits = cleaned.get("add_credits")
        if not credits:
            self.add_error("add_credits", "Enter a number of credits other than 0.")
        elif tenant is not None:
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
        # The form never writes the number: credit_correct locks the row and writes the ledger.
        credits = form.cleaned_data["add_credits"]
        try:
            entry = credit_correct(
                tenant_id=obj.tenant_id,
                credits=credits,
                reason=form.cleaned_data["reason"],
                reference=ADMIN_REFERENCE,
                created_by=cast(User, request.user),  # the admin lets in signed-in staff only
            )
        except ApplicationError as exc:  # spent meanwhile: the form checked the balance before
            setattr(obj, _REFUSED, True)
            self.message_user(request, exc.message, messages.ERROR)
            return
        obj.refresh_from_db()
        self.message_user(
            request,
            f"Correction of {credits:+d} credits; the balance is now {entry.balance_after}.",
        )

    def response_add(
        self, request: HttpRequest, obj: CreditBalance, post_url_continue: str | None = None
    ) -> HttpResponse:
        if getattr(obj, _REFUSED, False):
            return HttpResponseRedirect(request.path)
        return super().response_add(request, obj, post_url_continue)

    def response_change(self, request: HttpRequest, obj: CreditBalance) -> HttpResponse:
        if getattr(obj, _REFUSED, False):
            return HttpResponseRedirect(request.path)
        return super().response_change(request, obj)


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


class PaymentRefundForm(forms.ModelForm[PaymentTransaction]):
    """The refund of a completed payment, on its page; nothing of the payment itself is edited."""

    refund_amount = forms.DecimalField(
        required=False,
        min_value=Decimal("0.01"),
        max_digits=12,
        decimal_places=2,
        help_text="Empty: everything paid. A Stripe payment is refunded through Stripe; "
        "mobile money you send back by hand. Its credits still unspent are taken back.",
    )
    # Not `refund_reason`: the model's field of that name is shown read-only above it.
    refund_note = forms.CharField(
        label="Reason for the refund",
        max_length=200,
        help_text="Why the money goes back (recorded as refund_reason); saving refunds it",
    )

    class Meta:
        model = PaymentTransaction
        fields: list[str] = []

    def clean(self) -> dict[str, Any]:
        cleaned = cast(dict[str, Any], super().clean())  # a ModelForm returns cleaned_data
        amount = cleaned.get("refund_amount")
        paid = payment_amount_paid(self.instance)
        if amount is not None and amount > paid:
            currency = payment_currency_paid(self.instance)
            self.add_error("refund_amount", f"At most the {paid} {currency} paid.")
        return cleaned


@admin.register(PaymentTransaction)
class PaymentTransactionAdmin(admin.ModelAdmin[PaymentTransaction]):
    """Payments are read here; a completed one's page also refunds it (billing.refunds)."""

    form = PaymentRefundForm
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
        "refunded_amount",
        "provider",
        "payment_method",
        "credits",
        "bonus_credits",
    ]
    list_filter = ["status", "provider", "payment_method"]
    search_fields = [
        "order_id",
        "tenant__subdomain",
        "tenant__name",
        "provider_reference",
        "provider_transid",
    ]
    list_select_related = ["tenant", "coupon"]
    date_hierarchy = "created_at"
    readonly_fields = [
        "order_id",
        "tenant",
        "status",
        "package",
        "subscription",
        "period_start",
        "period_end",
        "credits",
        "bonus_credits",
        "amount",
        "currency",
        "coupon",
        "discount",
        "provider",
        "payment_method",
        "mobile_money_provider",
        "buyer_name",
        "buyer_email",
        "buyer_phone",
        "payment_url",
        "provider_reference",
        "provider_transid",
        "paid_amount",
        "paid_currency",
        "failure_reason",
        "created_by",
        "expires_at",
        "completed_at",
        "refunded_amount",
        "refunded_at",
        "refund_reason",
    ]

    def get_fields(
        self, request: HttpRequest, obj: PaymentTransaction | None = None
    ) -> tuple[str, ...]:
        refundable = obj is not None and self.has_change_permission(request, obj)
        refund = ("refund_amount", "refund_note") if refundable else ()
        return (*self.readonly_fields, *refund)

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(
        self, request: HttpRequest, obj: PaymentTransaction | None = None
    ) -> bool:
        # The only change an operator makes is a refund, of a completed payment.
        refundable = obj is None or obj.status == PaymentTransaction.Status.COMPLETED
        return refundable and super().has_change_permission(request, obj)

    def has_delete_permission(
        self, request: HttpRequest, obj: PaymentTransaction | None = None
    ) -> bool:
        return False

    def save_model(
        self, request: HttpRequest, obj: PaymentTransaction, form: forms.Form, change: bool
    ) -> None:
        try:
            payment = payment_refund(
                payment_id=obj.pk,
                amount=form.cleaned_data.get("refund_amount"),
                reason=form.cleaned_data["refund_note"],
                created_by=cast(User, request.user),  # the admin lets in signed-in staff only
            )
        except ApplicationError as exc:
            setattr(obj, _REFUSED, True)
            self.message_user(request, exc.message, messages.ERROR)
            return
        reversal = payment.credit_entries.filter(kind=Kind.REVERSAL).first()
        taken = -reversal.credits if reversal is not None else 0
        self.message_user(
            request,
            f"Refunded {payment.refunded_amount} {payment_currency_paid(payment)}: "
            f"{payment.refund_reason}. {taken} credits taken back.",
        )

    def response_change(self, request: HttpRequest, obj: PaymentTransaction) -> HttpResponse:
        if getattr(obj, _REFUSED, False):
            return HttpResponseRedirect(request.path)
        return super().response_change(request, obj)


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


@admin.register(Plan)
class PlanAdmin(admin.ModelAdmin[Plan]):
    list_display = [
        "name",
        "code",
        "price_monthly",
        "price_yearly",
        "currency",
        "messages_per_month",
        "users",
        "trial_days",
        "is_default",
        "is_active",
        "sort_order",
    ]
    list_filter = ["is_active", "is_default"]
    search_fields = ["name", "code"]

    def save_model(self, request: HttpRequest, obj: Plan, form: forms.Form, change: bool) -> None:
        plan_save(plan=obj)  # and the user limits of the tenants it holds for

    def has_delete_permission(self, request: HttpRequest, obj: Plan | None = None) -> bool:
        return False  # subscriptions point to their plan: retire one with is_active instead


@admin.register(Subscription)
class SubscriptionAdmin(admin.ModelAdmin[Subscription]):
    """Read only: billing.subscriptions moves subscriptions, on payments, Stripe's events and
    the periodic run."""

    list_display = [
        "created_at",
        "tenant",
        "plan",
        "billing_cycle",
        "status",
        "provider",
        "current_period_end",
        "cancel_at_period_end",
    ]
    list_filter = ["status", "provider", "billing_cycle", "plan"]
    search_fields = ["tenant__subdomain", "tenant__name", "stripe_subscription_id"]
    list_select_related = ["tenant", "plan"]
    date_hierarchy = "created_at"

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Subscription | None = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Subscription | None = None) -> bool:
        return False
