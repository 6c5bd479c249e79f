"""Subscribing a tenant to a plan: checks the plan, cycle and way of paying, opens (or reuses)
its subscription through billing.subscriptions, and starts what pays for it: the period's order
(billing.payments.services.payment_initiate), or for cards taken by Stripe a Checkout Session
that starts a Stripe subscription. It sits above both, which never import it.
"""

import uuid
from dataclasses import dataclass
from typing import TYPE_CHECKING

from rest_framework import status as http_status

from billing.models import PaymentTransaction, Subscription
from billing.payments.providers import payment_provider_for
from billing.payments.providers.stripe import StripeProvider
from billing.payments.services import Buyer, payment_initiate
from billing.plans import plan_get
from billing.subscriptions import (
    STRIPE_INTERVALS,
    subscription_free_choose,
    subscription_open,
)
from mifumo.errors import ApplicationError, ErrorCode, field_error

if TYPE_CHECKING:
    from accounts.models import User
    from tenants.models import Tenant


@dataclass(frozen=True, slots=True)
class SubscriptionCheckout:
    """What subscribing started: the subscription (None for the free plan), the order that
    pays its period (None for a trial, the free plan or Stripe), and where to pay."""

    subscription: Subscription | None
    payment: PaymentTransaction | None
    payment_url: str


def subscription_create(
    *,
    tenant: "Tenant",
    plan_id: uuid.UUID,
    billing_cycle: str,
    payment_method: str,
    buyer: Buyer,
    mobile_money_provider: str = "",
    coupon_code: str = "",
    created_by: "User | None" = None,
) -> SubscriptionCheckout:
    """Subscribe the tenant to a plan (billing.subscriptions.subscription_open says which
    subscription that is, and when it is a 409):
    - the free default plan needs no payment and no subscription;
    - a new trial needs nothing until it ends;
    - by card with Stripe: a Checkout Session for a Stripe subscription (coupons do not apply);
    - otherwise an order for the subscription's next period, with the coupon if any.
    400 when the way of paying is not available or does not take the plan's currency; 502
    when the provider refuses (the subscription stays incomplete until it is paid, replaced
    or given up by subscriptions_advance)."""
    plan = plan_get(plan_id=plan_id, tenant_id=tenant.pk)
    if plan.price_for(billing_cycle) <= 0:
        subscription_free_choose(tenant_id=tenant.pk, plan=plan)
        return SubscriptionCheckout(subscription=None, payment=None, payment_url="")
    provider = payment_provider_for(payment_method)
    if provider is None:
        raise field_error(
            "payment_method", f"Payments by {payment_method.replace('_', ' ')} are not available."
        )
    if plan.currency not in provider.currencies:
        raise field_error("plan_id", f"{provider.name} does not take {plan.currency}.")
    if isinstance(provider, StripeProvider) and coupon_code.strip():
        raise field_error(
            "coupon_code",
            "Coupons apply to plans paid by mobile money, not to card subscriptions.",
            code=ErrorCode.INVALID_COUPON,
        )
    opened = subscription_open(
        tenant_id=tenant.pk,
        plan=plan,
        billing_cycle=billing_cycle,
        provider=provider.name,
        payment_method=payment_method,
        created_by=created_by,
    )
    subscription = opened.subscription
    if opened.trial_started:
        return SubscriptionCheckout(subscription=subscription, payment=None, payment_url="")
    if isinstance(provider, StripeProvider):
        started = provider.subscription_checkout_start(
            subscription_id=str(subscription.pk),
            plan_name=plan.name,
            amount=plan.price_for(billing_cycle),
            currency=plan.currency,
            interval=STRIPE_INTERVALS[plan.Cycle(billing_cycle)],
            customer_email=buyer.email,
        )
        if not started.accepted or not started.payment_url:
            raise ApplicationError(
                "Stripe did not start the card checkout; nothing was charged. Try again.",
                code=ErrorCode.PAYMENT_PROVIDER_ERROR,
                status_code=http_status.HTTP_502_BAD_GATEWAY,
                details={"subscription_id": str(subscription.pk), "reason": started.error},
            )
        return SubscriptionCheckout(
            subscription=subscription, payment=None, payment_url=started.payment_url
        )
    payment = payment_initiate(
        tenant=tenant,
        payment_method=payment_method,
        buyer=buyer,
        mobile_money_provider=mobile_money_provider,
        coupon_code=coupon_code,
        created_by=created_by,
        subscription=subscription,
    )
    return SubscriptionCheckout(
        subscription=subscription, payment=payment, payment_url=payment.payment_url
    )
