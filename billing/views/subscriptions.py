"""The dashboard's plan routes under /api/billing/: the plans on sale, the tenant's
subscription, subscribing (owners and admins) and canceling at the period's end."""

from typing import TYPE_CHECKING, Any, cast

from django.db.models import QuerySet
from rest_framework import serializers, status
from rest_framework.response import Response

from billing.models import PaymentTransaction, Plan, Subscription
from billing.payments.services import Buyer
from billing.plans import plans_on_sale
from billing.selectors import plan_current, subscription_current
from billing.serializers import PaymentTransactionSerializer
from billing.subscription_checkout import subscription_create
from billing.subscriptions import subscription_cancel
from billing.views.credits import buyer_of, transaction_data
from mifumo.idempotency import idempotent
from mifumo.openapi import api_doc, enveloped
from mifumo.permissions import require_manager
from mifumo.responses import envelope
from mifumo.tenancy import TenantRequest
from mifumo.validation import validated
from mifumo.views import TenantScopedView

if TYPE_CHECKING:
    from accounts.models import User

TAGS = ["billing"]
Method = PaymentTransaction.Method


class PlanPricesSerializer(serializers.Serializer[Any]):
    monthly = serializers.DecimalField(
        source="price_monthly", max_digits=12, decimal_places=2, coerce_to_string=False
    )
    yearly = serializers.DecimalField(
        source="price_yearly", max_digits=12, decimal_places=2, coerce_to_string=False
    )


class PlanLimitsSerializer(serializers.Serializer[Any]):
    messages_per_month = serializers.IntegerField(
        allow_null=True, help_text="SMS credits included each month; null: none counted"
    )
    users = serializers.IntegerField(
        allow_null=True, help_text="Members plus pending invitations; null: any number"
    )


class MonthlyCycleField(serializers.ChoiceField):
    """The cycle a plan's `price` is for: monthly (`prices` has the yearly one too)."""

    def get_attribute(self, instance: Any) -> str:
        return str(Plan.Cycle.MONTHLY)


class PlanSerializer(serializers.ModelSerializer[Plan]):
    price = serializers.DecimalField(
        source="price_monthly",
        max_digits=12,
        decimal_places=2,
        coerce_to_string=False,
        help_text="The monthly price; `prices` has both",
    )
    billing_cycle = MonthlyCycleField(
        Plan.Cycle.choices, read_only=True, help_text="The cycle `price` is for: monthly"
    )
    prices = PlanPricesSerializer(source="*", read_only=True)
    limits = PlanLimitsSerializer(source="*", read_only=True)
    features = serializers.ListField(child=serializers.CharField(), read_only=True)

    class Meta:
        model = Plan
        fields = [
            "id",
            "code",
            "name",
            "description",
            "price",
            "currency",
            "billing_cycle",
            "prices",
            "features",
            "limits",
            "trial_days",
            "is_default",
        ]
        read_only_fields = fields


class PlanListSerializer(serializers.ListSerializer[QuerySet[Plan]]):
    child = PlanSerializer()


class SubscriptionSerializer(serializers.ModelSerializer[Subscription]):
    plan = PlanSerializer(read_only=True)

    class Meta:
        model = Subscription
        fields = [
            "id",
            "plan",
            "status",
            "billing_cycle",
            "provider",
            "payment_method",
            "current_period_start",
            "current_period_end",
            "trial_end",
            "cancel_at_period_end",
            "canceled_at",
            "ended_at",
            "created_at",
        ]
        read_only_fields = fields


class SubscriptionStateSerializer(serializers.Serializer[Any]):
    subscription = SubscriptionSerializer(
        allow_null=True, help_text="The subscription that is not canceled; null: none"
    )
    plan = PlanSerializer(
        allow_null=True, help_text="The plan whose limits hold now (the default without one)"
    )


class SubscriptionCreateInputSerializer(serializers.Serializer[Any]):
    plan_id = serializers.UUIDField()
    billing_cycle = serializers.ChoiceField(Plan.Cycle.choices, default=Plan.Cycle.MONTHLY)
    payment_method = serializers.ChoiceField(Method.choices, default=Method.MOBILE_MONEY)
    coupon_code = serializers.CharField(required=False, allow_blank=True, max_length=64)
    phone_number = serializers.CharField(
        required=False,
        allow_blank=True,
        max_length=32,
        help_text="The number that pays by mobile money (default: the user's)",
    )
    mobile_money_provider = serializers.ChoiceField(
        PaymentTransaction.Network.choices, required=False, allow_blank=True
    )


class SubscriptionCheckoutSerializer(serializers.Serializer[Any]):
    subscription = SubscriptionSerializer(
        allow_null=True, help_text="null: the free plan, which needs no subscription"
    )
    payment = PaymentTransactionSerializer(
        allow_null=True,
        help_text="The order paying the period; null for a trial, the free plan or a card "
        "subscription (pay at payment_url)",
    )
    payment_url = serializers.CharField(allow_blank=True, help_text="Where to pay; may be empty")


class PlansView(TenantScopedView):
    @api_doc(
        summary=(
            "The plans on sale, cheapest first: the monthly price (both in `prices`), the "
            "included messages and users (`limits`) and the features"
        ),
        responses={200: enveloped(PlanListSerializer)},
        errors=(401, 403),
        tags=TAGS,
    )
    def get(self, request: TenantRequest) -> Response:
        return envelope(PlanListSerializer(plans_on_sale()).data)


class SubscriptionView(TenantScopedView):
    @api_doc(
        summary=(
            "The tenant's subscription (null when it has none) and the plan whose limits hold now"
        ),
        responses={200: enveloped(SubscriptionStateSerializer)},
        errors=(401, 403),
        tags=TAGS,
    )
    def get(self, request: TenantRequest) -> Response:
        tenant_id = request.tenant.pk
        data = {
            "subscription": subscription_current(tenant_id=tenant_id),
            "plan": plan_current(tenant_id=tenant_id),
        }
        return envelope(SubscriptionStateSerializer(data).data)


class SubscriptionCreateView(TenantScopedView):
    @api_doc(
        summary=(
            "Subscribe to a plan (owners and admins). Mobile money: an order for the period, "
            "paid like credits (the plan starts when it completes; the same plan again pays "
            "the next period); card with Stripe: pay at payment_url; a plan with trial days "
            "starts trialing for a first subscription; the free plan needs nothing. Another "
            "plan while one is live: 409, cancel it first"
        ),
        request=SubscriptionCreateInputSerializer,
        responses={
            200: enveloped(SubscriptionCheckoutSerializer),
            201: enveloped(SubscriptionCheckoutSerializer),
        },
        errors=(400, 401, 403, 404, 409, 422, 502),
        tags=TAGS,
    )
    @idempotent
    def post(self, request: TenantRequest) -> Response:
        require_manager(request, "change the plan")
        body = validated(SubscriptionCreateInputSerializer, request)
        user = cast("User", request.user)
        if body["payment_method"] == Method.MOBILE_MONEY:
            buyer = buyer_of(request, name="", email="", phone=body.get("phone_number", ""))
        else:
            buyer = Buyer(name=user.full_name or user.email, email=user.email, phone="")
        started = subscription_create(
            tenant=request.tenant,
            plan_id=body["plan_id"],
            billing_cycle=body["billing_cycle"],
            payment_method=body["payment_method"],
            buyer=buyer,
            mobile_money_provider=body.get("mobile_money_provider", ""),
            coupon_code=body.get("coupon_code", ""),
            created_by=user,
        )
        data = {
            "subscription": SubscriptionSerializer(started.subscription).data
            if started.subscription
            else None,
            "payment": transaction_data(started.payment) if started.payment else None,
            "payment_url": started.payment_url,
        }
        if started.subscription is None:
            return envelope(data, message="The free plan holds now.")
        message = (
            "Trial started."
            if started.payment is None and not started.payment_url
            else "Pay to start the period."
        )
        return envelope(data, message=message, status=status.HTTP_201_CREATED)


class SubscriptionCancelView(TenantScopedView):
    @api_doc(
        summary=(
            "Cancel the subscription (owners and admins): it ends with its period (an "
            "incomplete one, or one past due, at once); 409 INVALID_STATUS when there is none"
        ),
        responses={200: enveloped(SubscriptionSerializer)},
        errors=(401, 403, 409, 502),
        tags=TAGS,
    )
    def post(self, request: TenantRequest) -> Response:
        require_manager(request, "cancel the subscription")
        subscription = subscription_cancel(tenant_id=request.tenant.pk)
        message = (
            "Subscription canceled."
            if subscription.status == Subscription.Status.CANCELED
            else "The subscription ends with its period."
        )
        return envelope(SubscriptionSerializer(subscription).data, message=message)
