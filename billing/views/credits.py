"""The dashboard's /api/billing/ routes: the package catalogue, coupons, buying credits and
following a payment, the balance, the purchase and ledger history, invoices (and their PDFs),
the cost of a send, saved payment methods and the month's usage."""

from typing import TYPE_CHECKING, Any, cast

from django.conf import settings
from django.http import HttpResponse
from drf_yasg import openapi
from rest_framework import status
from rest_framework.renderers import BaseRenderer
from rest_framework.request import Request
from rest_framework.response import Response

from billing import selectors
from billing import serializers as s
from billing.coupons import coupon_discount, coupon_validate, coupons_listed
from billing.expiry import credit_next_expiry
from billing.invoices import invoice_get, invoice_pdf, invoices_of
from billing.models import CreditLedgerEntry, PaymentTransaction
from billing.payment_methods import (
    payment_method_add,
    payment_method_delete,
    payment_method_set_default,
    payment_methods_of,
)
from billing.payments.providers import payment_provider_for
from billing.payments.services import Buyer, payment_initiate, payment_verify
from mifumo.errors import ApplicationError, ErrorCode
from mifumo.idempotency import idempotent
from mifumo.openapi import api_doc, enveloped
from mifumo.pagination import paginated
from mifumo.permissions import require_manager
from mifumo.phone import InvalidPhoneNumber, normalize_phone
from mifumo.responses import envelope
from mifumo.tenancy import TenantRequest
from mifumo.validation import validated, validated_query
from mifumo.views import TenantScopedView
from sms.segments import segment_info

if TYPE_CHECKING:
    from accounts.models import User

TAGS = ["billing"]
Kind = CreditLedgerEntry.Kind
Network = PaymentTransaction.Network


def transaction_data(payment: PaymentTransaction) -> dict[str, Any]:
    """A payment as every billing route shows it."""
    return cast(dict[str, Any], s.PaymentTransactionSerializer(payment).data)


class SmsPackagesView(TenantScopedView):
    @api_doc(
        summary="The SMS packages on sale, cheapest first (credits = sms_count + bonus_sms)",
        responses={200: enveloped(s.SmsPackageSerializer, paginated=True)},
        errors=(401, 403),
        tags=TAGS,
        paginated=True,
    )
    def get(self, request: TenantRequest) -> Response:
        packages = selectors.sms_packages_on_sale()
        return paginated(
            request, packages, lambda page: s.SmsPackageSerializer(page, many=True).data, view=self
        )


def buyer_of(request: TenantRequest, *, name: str, email: str, phone: str) -> Buyer:
    """Who pays: what the body gave, else the signed-in member's name, email and phone."""
    user = cast("User", request.user)  # IsTenantMember: a signed-in member
    raw_phone = phone or user.phone_number
    try:
        e164 = normalize_phone(raw_phone, request.tenant.country) if raw_phone else ""
    except InvalidPhoneNumber as exc:
        raise ApplicationError(
            str(exc),
            code=ErrorCode.INVALID_PHONE_FORMAT,
            errors={"buyer_phone": [str(exc)]},
        ) from exc
    if not e164:
        raise ApplicationError(
            "A phone number pays by mobile money; give buyer_phone.",
            code=ErrorCode.VALIDATION_ERROR,
            errors={"buyer_phone": ["This field is required."]},
        )
    return Buyer(name=name or user.full_name or user.email, email=email or user.email, phone=e164)


def _created(payment: PaymentTransaction) -> Response:
    return envelope(
        transaction_data(payment),
        message="Payment started: confirm it on your phone."
        if payment.payment_method == "mobile_money"
        else "Payment started.",
        status=status.HTTP_201_CREATED,
    )


class SmsPurchaseView(TenantScopedView):
    @api_doc(
        summary=(
            "Buy an SMS package (owners and admins): a pending payment, completed when the "
            "provider confirms it; the credits and bonus then reach the balance"
        ),
        request=s.PurchaseInputSerializer,
        responses={201: enveloped(s.PaymentTransactionSerializer)},
        errors=(400, 401, 403, 404, 409, 422, 502),
        tags=TAGS,
    )
    @idempotent
    def post(self, request: TenantRequest) -> Response:
        require_manager(request, "buy credits")
        body = validated(s.PurchaseInputSerializer, request)
        network = body.get("provider", "")
        payment = payment_initiate(
            tenant=request.tenant,
            payment_method=body["payment_method"],
            buyer=buyer_of(request, name="", email="", phone=body.get("phone_number", "")),
            package=selectors.sms_package_get(package_id=body["package_id"]),
            mobile_money_provider=network if network in Network.values else "",
            coupon_code=body.get("coupon_code", ""),
            created_by=cast("User", request.user),
        )
        return _created(payment)


class PaymentInitiateView(TenantScopedView):
    @api_doc(
        summary=(
            "Start a payment for a package or a number of credits (owners and admins); "
            "follow it at transactions/{id}/status/"
        ),
        request=s.InitiateInputSerializer,
        responses={201: enveloped(s.PaymentTransactionSerializer)},
        errors=(400, 401, 403, 404, 409, 422, 502),
        tags=TAGS,
    )
    @idempotent
    def post(self, request: TenantRequest) -> Response:
        require_manager(request, "buy credits")
        body = validated(s.InitiateInputSerializer, request)
        package_id = body.get("package_id")
        payment = payment_initiate(
            tenant=request.tenant,
            payment_method=body["payment_method"],
            buyer=buyer_of(
                request,
                name=body.get("buyer_name", ""),
                email=body.get("buyer_email", ""),
                phone=body.get("buyer_phone", ""),
            ),
            package=selectors.sms_package_get(package_id=package_id) if package_id else None,
            credits=body.get("credits"),
            mobile_money_provider=body.get("mobile_money_provider", ""),
            coupon_code=body.get("coupon_code", ""),
            created_by=cast("User", request.user),
        )
        return _created(payment)


class CouponsView(TenantScopedView):
    @api_doc(
        summary=(
            "The public coupons a tenant may use now (active, in their window, not used up); "
            "coupons that are not public are never listed, only accepted by their code"
        ),
        responses={200: enveloped(s.CouponSerializer, paginated=True)},
        errors=(401, 403),
        tags=TAGS,
        paginated=True,
    )
    def get(self, request: TenantRequest) -> Response:
        return paginated(
            request,
            coupons_listed(),
            lambda page: s.CouponSerializer(page, many=True).data,
            view=self,
        )


class CouponValidateView(TenantScopedView):
    @api_doc(
        summary=(
            "Whether a coupon code applies now (to package_id when given, with the discount and "
            "the amount to pay); 400 INVALID_COUPON says why not. No use is taken"
        ),
        request=s.CouponValidateInputSerializer,
        responses={200: enveloped(s.CouponCheckSerializer)},
        errors=(400, 401, 403, 404),
        tags=TAGS,
    )
    def post(self, request: TenantRequest) -> Response:
        body = validated(s.CouponValidateInputSerializer, request)
        package_id = body.get("package_id")
        package = selectors.sms_package_get(package_id=package_id) if package_id else None
        coupon = coupon_validate(code=body["code"], package=package)
        discount = coupon_discount(coupon=coupon, price=package.price) if package else None
        data = {
            "valid": True,
            "coupon": coupon,
            "discount": discount.discount if discount else None,
            "amount": discount.amount if discount else None,
        }
        return envelope(s.CouponCheckSerializer(data).data, message="The coupon applies.")


class PaymentStatusView(TenantScopedView):
    @api_doc(
        summary="A payment's status as recorded (no call to the provider)",
        responses={200: enveloped(s.PaymentTransactionSerializer)},
        errors=(401, 403, 404),
        tags=TAGS,
    )
    def get(self, request: TenantRequest, transaction_id: str) -> Response:
        payment = selectors.payment_get(tenant_id=request.tenant.pk, transaction_id=transaction_id)
        return envelope(transaction_data(payment))


class PaymentVerifyView(TenantScopedView):
    @api_doc(
        summary="A payment by its order id, after asking the provider while it is still pending",
        responses={200: enveloped(s.PaymentTransactionSerializer)},
        errors=(401, 403, 404),
        tags=TAGS,
    )
    def get(self, request: TenantRequest, order_id: str) -> Response:
        payment = selectors.payment_by_order_get(tenant_id=request.tenant.pk, order_id=order_id)
        return envelope(transaction_data(payment_verify(payment=payment)))


class PaymentProvidersView(TenantScopedView):
    @api_doc(
        summary="How a tenant can pay here: each payment method, its provider and networks",
        responses={200: enveloped(s.ProviderListSerializer)},
        errors=(401, 403),
        tags=TAGS,
    )
    def get(self, request: TenantRequest) -> Response:
        networks = [{"id": value, "name": label} for value, label in Network.choices]
        rows = []
        for method, label in PaymentTransaction.Method.choices:
            provider = payment_provider_for(method)
            rows.append(
                {
                    "payment_method": method,
                    "provider": provider.name if provider else "",
                    "name": label,
                    "currencies": list(provider.currencies) if provider else [],
                    "networks": networks
                    if method == PaymentTransaction.Method.MOBILE_MONEY
                    else [],
                    "available": provider is not None,
                }
            )
        return envelope(s.ProviderListSerializer(rows).data)


class SmsBalanceView(TenantScopedView):
    rate_limit_scopes = ("balance",)

    @api_doc(
        summary="The tenant's credits, with what was bought and used in all and this month",
        responses={200: enveloped(s.CreditBalanceSerializer)},
        errors=(401, 403, 429),
        tags=TAGS,
    )
    def get(self, request: TenantRequest) -> Response:
        summary = selectors.credit_summary(tenant_id=request.tenant.pk)
        expiring = credit_next_expiry(tenant_id=request.tenant.pk)
        data = {
            **summary,
            "balance": summary,
            "usage": {
                "used_this_month": summary["used_this_month"],
                "remaining": summary["credits"],
            },
            "next_expiry": expiring["expires_at"] if expiring else None,
            "next_expiry_credits": expiring["credits"] if expiring else None,
        }
        return envelope(s.CreditBalanceSerializer(data).data)


class PurchaseHistoryView(TenantScopedView):
    @api_doc(
        summary="The tenant's payments for credits, newest first (filter by status)",
        responses={200: enveloped(s.PaymentTransactionSerializer, paginated=True)},
        errors=(400, 401, 403),
        tags=TAGS,
        paginated=True,
        manual_parameters=[
            openapi.Parameter(
                "status",
                openapi.IN_QUERY,
                "Only payments in this status",
                type=openapi.TYPE_STRING,
                enum=PaymentTransaction.Status.values,
            )
        ],
    )
    def get(self, request: TenantRequest) -> Response:
        query = validated_query(s.PurchaseHistoryQuerySerializer, request)
        payments = selectors.payments_of(tenant_id=request.tenant.pk, status=query.get("status"))
        return paginated(
            request,
            payments,
            lambda page: s.PaymentTransactionSerializer(page, many=True).data,
            view=self,
        )


_ENTRY_TYPES = {kind: name for name, kinds in s.HISTORY_KINDS.items() for kind in kinds}


def _entry_item(entry: CreditLedgerEntry) -> dict[str, Any]:
    return {
        "id": entry.id,
        "type": _ENTRY_TYPES[entry.kind],
        "kind": entry.kind,
        "description": entry.reason or entry.get_kind_display(),
        "credits": entry.credits,
        "balance_after": entry.balance_after,
        "amount": None,
        "currency": None,
        "reference": entry.reference,
        "created_at": entry.created_at,
    }


def _payment_item(payment: PaymentTransaction) -> dict[str, Any]:
    if payment.subscription is not None:
        name = f"Plan {payment.subscription.plan.name}"
    else:
        name = payment.package.name if payment.package else f"{payment.credits} credits"
    return {
        "id": payment.id,
        "type": "payment",
        "kind": payment.status,
        "description": f"{name} by {payment.get_payment_method_display().lower()}",
        "credits": payment.credits + payment.bonus_credits,
        "balance_after": None,
        "amount": payment.amount,
        "currency": payment.currency,
        "reference": payment.order_id,
        "created_at": payment.created_at,
    }


class BillingHistoryView(TenantScopedView):
    @api_doc(
        summary=(
            "The tenant's billing history, newest first: ledger entries (type=purchase: "
            "purchases and bonuses; usage: sends and refunds; adjustment: operators' "
            "corrections and refunded payments; expiry: credits that lapsed) or its payments "
            "(type=payment)"
        ),
        responses={200: enveloped(s.HistoryItemSerializer, paginated=True)},
        errors=(400, 401, 403),
        tags=TAGS,
        paginated=True,
        manual_parameters=[
            openapi.Parameter(
                "type",
                openapi.IN_QUERY,
                "What to list (default: every ledger entry)",
                type=openapi.TYPE_STRING,
                enum=s.HISTORY_TYPES,
            )
        ],
    )
    def get(self, request: TenantRequest) -> Response:
        kind = validated_query(s.HistoryQuerySerializer, request).get("type")
        tenant_id = request.tenant.pk
        if kind == "payment":
            payments = selectors.payments_of(tenant_id=tenant_id)
            return paginated(
                request,
                payments,
                lambda page: (
                    s.HistoryItemSerializer(map(_payment_item, page or []), many=True).data
                ),
                view=self,
            )
        kinds = s.HISTORY_KINDS.get(kind or "")
        entries = selectors.ledger_of(tenant_id=tenant_id, kinds=kinds)
        return paginated(
            request,
            entries,
            lambda page: s.HistoryItemSerializer(map(_entry_item, page or []), many=True).data,
            view=self,
        )


class CostCalculatorView(TenantScopedView):
    @api_doc(
        summary="What sending `message` to `recipient_count` recipients costs (credits, money)",
        responses={200: enveloped(s.CostSerializer)},
        errors=(400, 401, 403),
        tags=TAGS,
        query_serializer=s.CostQuerySerializer,
    )
    def get(self, request: TenantRequest) -> Response:
        query = validated_query(s.CostQuerySerializer, request)
        info = segment_info(query["message"])
        credits = info.segments * query["recipient_count"]
        data = {
            "segments": info.segments,
            "encoding": info.encoding,
            "characters": len(query["message"]),
            "recipient_count": query["recipient_count"],
            "credits": credits,
            "unit_price": settings.SMS_CREDIT_PRICE,
            "price": selectors.credits_cost(credits),
            "currency": settings.SMS_CREDIT_CURRENCY,
        }
        return envelope(s.CostSerializer(data).data)


class InvoicesView(TenantScopedView):
    @api_doc(
        summary="The tenant's invoices, one per completed payment, newest first",
        responses={200: enveloped(s.InvoiceSerializer, paginated=True)},
        errors=(401, 403),
        tags=TAGS,
        paginated=True,
    )
    def get(self, request: TenantRequest) -> Response:
        return paginated(
            request,
            invoices_of(tenant_id=request.tenant.pk),
            lambda page: s.InvoiceSerializer(page, many=True).data,
            view=self,
        )


class InvoiceView(TenantScopedView):
    @api_doc(
        summary="One invoice: its lines, the discount, the VAT it includes and the total paid",
        responses={200: enveloped(s.InvoiceSerializer)},
        errors=(401, 403, 404),
        tags=TAGS,
    )
    def get(self, request: TenantRequest, invoice_id: str) -> Response:
        invoice = invoice_get(tenant_id=request.tenant.pk, invoice_id=invoice_id)
        return envelope(s.InvoiceSerializer(invoice).data)


class InvoicePdfView(TenantScopedView):
    @api_doc(
        summary="One invoice as a PDF document (application/pdf); errors in the JSON envelope",
        responses={
            200: openapi.Response(
                "The invoice, a one-page PDF", schema=openapi.Schema(type=openapi.TYPE_FILE)
            )
        },
        errors=(401, 403, 404),
        tags=TAGS,
        produces=["application/pdf", "application/json"],
    )
    def get(self, request: TenantRequest, invoice_id: str) -> HttpResponse:
        invoice = invoice_get(tenant_id=request.tenant.pk, invoice_id=invoice_id)
        response = HttpResponse(invoice_pdf(invoice=invoice), content_type="application/pdf")
        response["Content-Disposition"] = f'inline; filename="{invoice.number}.pdf"'
        return response

    def perform_content_negotiation(
        self, request: Request, force: bool = False
    ) -> tuple[BaseRenderer, str]:
        """Errors answer in the JSON envelope whatever the Accept header asks for (the PDF
        itself is not rendered by DRF)."""
        return super().perform_content_negotiation(request, force=True)


class PaymentMethodsView(TenantScopedView):
    @api_doc(
        summary=(
            "The tenant's saved mobile-money numbers, the default first (card methods from "
            "Stripe are not listed yet)"
        ),
        responses={200: enveloped(s.PaymentMethodSerializer, paginated=True)},
        errors=(401, 403),
        tags=TAGS,
        paginated=True,
    )
    def get(self, request: TenantRequest) -> Response:
        return paginated(
            request,
            payment_methods_of(tenant_id=request.tenant.pk),
            lambda page: s.PaymentMethodSerializer(page, many=True).data,
            view=self,
        )

    @api_doc(
        summary=(
            "Save a mobile-money number (owners and admins), read in the tenant's country; the "
            "first saved, or one saved with is_default, is the default"
        ),
        request=s.PaymentMethodInputSerializer,
        responses={201: enveloped(s.PaymentMethodSerializer)},
        errors=(400, 401, 403, 409),
        tags=TAGS,
    )
    def post(self, request: TenantRequest) -> Response:
        require_manager(request, "save payment methods")
        body = validated(s.PaymentMethodInputSerializer, request)
        method = payment_method_add(
            tenant=request.tenant,
            network=body["network"],
            phone_number=body["phone_number"],
            label=body.get("label", ""),
            is_default=body.get("is_default", False),
            created_by=cast("User", request.user),
        )
        return envelope(
            s.PaymentMethodSerializer(method).data,
            message="Payment method saved.",
            status=status.HTTP_201_CREATED,
        )


class PaymentMethodView(TenantScopedView):
    @api_doc(
        summary=(
            "Forget a saved payment method (owners and admins); when it was the default, the "
            "oldest one left becomes the default"
        ),
        responses={200: enveloped(None)},
        errors=(401, 403, 404),
        tags=TAGS,
    )
    def delete(self, request: TenantRequest, payment_method_id: str) -> Response:
        require_manager(request, "remove payment methods")
        payment_method_delete(tenant_id=request.tenant.pk, method_id=payment_method_id)
        return envelope(message="Payment method removed.")


class PaymentMethodDefaultView(TenantScopedView):
    @api_doc(
        summary="Make a saved payment method the default (owners and admins)",
        responses={200: enveloped(s.PaymentMethodSerializer)},
        errors=(401, 403, 404),
        tags=TAGS,
    )
    def post(self, request: TenantRequest, payment_method_id: str) -> Response:
        require_manager(request, "choose the default payment method")
        method = payment_method_set_default(
            tenant_id=request.tenant.pk, method_id=payment_method_id
        )
        return envelope(
            s.PaymentMethodSerializer(method).data, message="Default payment method set."
        )


class UsageView(TenantScopedView):
    @api_doc(
        summary=(
            "Credits used in a calendar month (default this one; period=YYYY-MM), by day and in "
            "all: reserved for sends less refunded, with their cost"
        ),
        responses={200: enveloped(s.UsagePeriodSerializer)},
        errors=(400, 401, 403),
        tags=TAGS,
        query_serializer=s.UsageQuerySerializer,
    )
    def get(self, request: TenantRequest) -> Response:
        query = validated_query(s.UsageQuerySerializer, request)
        usage = selectors.credit_usage(tenant_id=request.tenant.pk, period=query.get("period", ""))
        return envelope(s.UsagePeriodSerializer(usage).data)
