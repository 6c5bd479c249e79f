"""Applying Stripe's subscription events (issue 14): a Stripe subscription started through a
subscription-mode Checkout Session, and the invoices of its periods.

An event names the object it is about and nothing more is read from it: each handler asks
Stripe for the object (billing.payments.providers.stripe) and applies what Stripe answers.

    checkout.session.completed (subscription mode)  the session's subscription is synced
    customer.subscription.created|updated|deleted   the subscription is synced
    invoice.payment_succeeded | invoice.paid        a paid invoice's subscription is synced,
        then its period is granted (billing.payments.services.subscription_invoice_paid, once
        per invoice)
    invoice.payment_failed                          the invoice's subscription is synced
        (Stripe says past_due)

Syncing (billing.subscriptions.subscription_stripe_sync) finds ours by the Stripe id, else by
the id we put in the Stripe subscription's metadata at checkout: which of our subscriptions
an event moves is Stripe's answer, never the event's body. Each handler says whether it found
ours; the events arrive in any order and any number of times.
"""

from billing.models import Subscription
from billing.payments.providers.stripe import StripeProvider
from billing.payments.services import subscription_invoice_paid
from billing.subscriptions import subscription_stripe_sync

CHECKOUT_COMPLETED = "checkout.session.completed"
SUBSCRIPTION_EVENTS = frozenset(
    {
        "customer.subscription.created",
        "customer.subscription.updated",
        "customer.subscription.deleted",
    }
)
INVOICE_PAID_EVENTS = frozenset({"invoice.payment_succeeded", "invoice.paid"})
INVOICE_FAILED = "invoice.payment_failed"
INVOICE_EVENTS = INVOICE_PAID_EVENTS | {INVOICE_FAILED}


def _synced(provider: StripeProvider, stripe_subscription_id: str) -> Subscription | None:
    """Ours, moved to what Stripe says of its subscription now; None when Stripe does not
    answer or the subscription is none of ours."""
    found = (
        provider.subscription_retrieve(stripe_subscription_id) if stripe_subscription_id else None
    )
    if found is None:
        return None
    return subscription_stripe_sync(
        stripe_subscription_id=found.id,
        subscription_id=found.subscription_id,
        stripe_customer_id=found.customer,
        stripe_status=found.status,
        current_period_start=found.current_period_start,
        current_period_end=found.current_period_end,
        cancel_at_period_end=found.cancel_at_period_end,
    )


def stripe_checkout_subscription_apply(*, session_id: str) -> bool:
    """Sync the subscription a completed subscription-mode session started."""
    provider = StripeProvider()
    stripe_id = provider.checkout_subscription_id(session_id) if session_id else None
    if not stripe_id:
        return False
    return _synced(provider, stripe_id) is not None


def stripe_subscription_event_apply(*, stripe_subscription_id: str) -> bool:
    """Sync the subscription the event is about."""
    return _synced(StripeProvider(), stripe_subscription_id) is not None


def stripe_invoice_event_apply(*, invoice_id: str, paid_event: bool) -> bool:
    """Sync the invoice's subscription; after a payment event, grant the period of an invoice
    Stripe says is paid (a failed payment grants nothing; Stripe's status moves ours)."""
    provider = StripeProvider()
    invoice = provider.invoice_retrieve(invoice_id) if invoice_id else None
    if invoice is None or not invoice.subscription:
        return False
    subscription = _synced(provider, invoice.subscription)
    if subscription is None:
        return False
    if paid_event and invoice.paid:
        if invoice.period_start is None or invoice.period_end is None:
            return False
        subscription_invoice_paid(
            subscription=subscription,
            invoice_id=invoice.id,
            amount=invoice.amount_paid,
            currency=invoice.currency,
            period_start=invoice.period_start,
            period_end=invoice.period_end,
        )
    return True
