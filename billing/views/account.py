"""The dashboard's view of a tenant's billing account (/api/billing/): what the plan allows
against what is used (usage/limits/), and the billing page in one read (overview/): the plan
and subscription, current usage and credits, the next invoice, saved payment methods, the last
invoices and six months of spending. Every member may read them."""

from typing import Any

from rest_framework import serializers
from rest_framework.response import Response

from billing import serializers as s
from billing.account_selectors import billing_overview, usage_limits
from billing.models import Subscription
from billing.views.subscriptions import PlanSerializer
from mifumo.openapi import api_doc, enveloped
from mifumo.responses import envelope
from mifumo.tenancy import TenantRequest
from mifumo.views import TenantScopedView

TAGS = ["billing"]


def _money(help_text: str = "") -> "serializers.DecimalField":
    return serializers.DecimalField(
        max_digits=14, decimal_places=2, coerce_to_string=False, help_text=help_text
    )


class AccountPlanRefSerializer(serializers.Serializer[Any]):
    id = serializers.UUIDField()
    code = serializers.CharField()
    name = serializers.CharField()


class AccountPeriodSerializer(serializers.Serializer[Any]):
    start = serializers.DateTimeField()
    end = serializers.DateTimeField(help_text="Exclusive")


class AccountMessagesSerializer(serializers.Serializer[Any]):
    limit = serializers.IntegerField(
        allow_null=True, help_text="The plan's messages for the period; null: unlimited"
    )
    used = serializers.IntegerField(help_text="Credits spent in the period: reserved less refunded")
    remaining = serializers.IntegerField(allow_null=True, help_text="Never below 0")
    percent = serializers.FloatField(
        allow_null=True, help_text="used / limit, in percent (may pass 100)"
    )


class AccountUsersSerializer(serializers.Serializer[Any]):
    limit = serializers.IntegerField(allow_null=True, help_text="null: any number")
    used = serializers.IntegerField(help_text="Active members plus pending invitations not expired")
    remaining = serializers.IntegerField(allow_null=True, help_text="Never below 0")


class UsageLimitsSerializer(serializers.Serializer[Any]):
    plan = AccountPlanRefSerializer(
        allow_null=True, help_text="The plan whose limits hold; null: none"
    )
    period = AccountPeriodSerializer(
        help_text="The subscription's current period, else this calendar month"
    )
    messages = AccountMessagesSerializer()
    users = AccountUsersSerializer()


class AccountSubscriptionSerializer(serializers.ModelSerializer[Subscription]):
    class Meta:
        model = Subscription
        fields = [
            "id",
            "status",
            "billing_cycle",
            "current_period_start",
            "current_period_end",
            "cancel_at_period_end",
            "trial_end",
            "provider",
        ]
        read_only_fields = fields


class AccountCurrentUsageSerializer(serializers.Serializer[Any]):
    period = AccountPeriodSerializer()
    messages = AccountMessagesSerializer()
    users = AccountUsersSerializer()
    credits = serializers.IntegerField(help_text="The credit balance")
    currency = serializers.CharField(help_text="What a credit is priced in")


class AccountUpcomingInvoiceSerializer(serializers.Serializer[Any]):
    amount = _money("The plan's price for the subscription's cycle")
    currency = serializers.CharField()
    due_date = serializers.DateTimeField(
        allow_null=True, help_text="The current period's end, else the trial's"
    )


class AccountUsageMonthSerializer(serializers.Serializer[Any]):
    period = serializers.CharField(help_text="YYYY-MM")
    credits = serializers.IntegerField(help_text="Reserved less refunded")
    cost = _money()


class OverviewSerializer(serializers.Serializer[Any]):
    current_plan = PlanSerializer(
        allow_null=True, help_text="The plan whose limits hold, as /plans/ lists it; null: none"
    )
    subscription = AccountSubscriptionSerializer(
        allow_null=True, help_text="The subscription that is not canceled; null: none"
    )
    current_usage = AccountCurrentUsageSerializer()
    upcoming_invoice = AccountUpcomingInvoiceSerializer(
        allow_null=True,
        help_text="null without a started subscription, or when it ends at its period's end",
    )
    payment_methods = s.PaymentMethodSerializer(many=True, help_text="Saved, the default first")
    recent_invoices = s.InvoiceSerializer(many=True, help_text="The last 5, newest first")
    usage_history = AccountUsageMonthSerializer(
        many=True, help_text="The last 6 calendar months, this one last"
    )


class UsageLimitsView(TenantScopedView):
    @api_doc(
        summary=(
            "The plan's allowances against what is used: messages in the subscription's "
            "current period (else this calendar month) and users (members plus pending "
            "invitations); null limits are unlimited"
        ),
        responses={200: enveloped(UsageLimitsSerializer)},
        errors=(401, 403),
        tags=TAGS,
    )
    def get(self, request: TenantRequest) -> Response:
        return envelope(UsageLimitsSerializer(usage_limits(tenant=request.tenant)).data)


class OverviewView(TenantScopedView):
    @api_doc(
        summary=(
            "The billing page in one read: current plan and subscription, current usage and "
            "credits, the upcoming invoice, saved payment methods, the last 5 invoices and 6 "
            "months of spending"
        ),
        responses={200: enveloped(OverviewSerializer)},
        errors=(401, 403),
        tags=TAGS,
    )
    def get(self, request: TenantRequest) -> Response:
        return envelope(OverviewSerializer(billing_overview(tenant=request.tenant)).data)
