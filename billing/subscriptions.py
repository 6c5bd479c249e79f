"""Subscriptions: the only writer of Subscription.status (its docstring has the states); the
plans are billing.plans'.

A tenant has at most one subscription that is not canceled (a partial unique index); every
move below locks that row first (SELECT ... FOR UPDATE) or is one conditional UPDATE, so a
payment, a cancel, a Stripe event and the periodic run never move it from a state it has left.

Ours to move through its periods are the subscriptions without a Stripe subscription
(`stripe_subscription_id` empty): each period is an order (billing.payments.services), and
subscriptions_advance reminds, then lets an unpaid one fall past due and, after the grace
days, canceled. A Stripe subscription is moved by Stripe's events (subscription_stripe_sync)
and its paid invoices (billing.payments.services.subscription_invoice_paid).

Whenever the plan that holds for a tenant (billing.selectors.plan_current) may have changed,
its user limit is set again (billing.plans.plan_limits_apply).

This module must not import billing.payments.services, which calls it when an order is paid.
"""

import logging
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any, cast

from django.conf import settings
from django.db import IntegrityError, connection, transaction
from django.utils import timezone
from rest_framework import status as http_status

from billing.expiry import credit_lot_open
from billing.models import PaymentTransaction, Plan, Subscription
from billing.payments.providers.stripe import StripeProvider
from billing.plans import CYCLE_MONTHS, months_after, plan_limits_apply
from billing.selectors import subscription_current
from mifumo.errors import ApplicationError, ErrorCode, field_error
from mifumo.tasks import email_send
from tenants.models import Membership, Role, Tenant

if TYPE_CHECKING:
    from accounts.models import User

logger = logging.getLogger(__name__)

Status = Subscription.Status
Cycle = Plan.Cycle
Provider = PaymentTransaction.Provider

STARTED = Subscription.STARTED
STRIPE_INTERVALS = {Cycle.MONTHLY: "month", Cycle.YEARLY: "year"}
# A Stripe Checkout Session stays open 24 hours: an incomplete Stripe subscription may still
# be paid until then.
STRIPE_CHECKOUT_HOURS = 25
# Stripe's words for its statuses, in ours. Unpaid and paused keep the plan but are not paid.
STRIPE_STATUSES = {
    "trialing": Status.TRIALING,
    "active": Status.ACTIVE,
    "past_due": Status.PAST_DUE,
    "canceled": Status.CANCELED,
    "incomplete": Status.INCOMPLETE,
    "incomplete_expired": Status.CANCELED,
    "unpaid": Status.PAST_DUE,
    "paused": Status.PAST_DUE,
}


def subscription_next_period(
    *, subscription: Subscription, now: datetime | None = None
) -> tuple[datetime, datetime]:
    """The period an order made now pays for: from the current period's end while it is
    still ahead (a renewal, or the end of a trial), else from now; one billing cycle long."""
    now = now or timezone.now()
    end = subscription.current_period_end
    start = end if end is not None and end > now else now
    return start, months_after(start, CYCLE_MONTHS[Cycle(subscription.billing_cycle)])


# --- Opening, paying and canceling


def _conflict(message: str, subscription: Subscription) -> ApplicationError:
    return ApplicationError(
        message,
        code=ErrorCode.CONFLICT,
        status_code=http_status.HTTP_409_CONFLICT,
        details={
            "subscription_id": str(subscription.pk),
            "plan": subscription.plan.name,
            "billing_cycle": subscription.billing_cycle,
            "status": subscription.status,
        },
    )


def _status_refused(action: str, current: str | None, allowed: list[str]) -> ApplicationError:
    return ApplicationError(
        f"There is no subscription to {action}."
        if current is None
        else f"Cannot {action} the subscription: it is {current}.",
        code=ErrorCode.INVALID_STATUS,
        status_code=http_status.HTTP_409_CONFLICT,
        details={"current_status": current, "allowed_statuses": allowed},
    )


def _live_locked(tenant_id: uuid.UUID) -> Subscription | None:
    """The tenant's subscription that is not canceled, locked until the transaction ends."""
    return (
        Subscription.objects.select_for_update()
        .filter(tenant_id=tenant_id)
        .exclude(status=Status.CANCELED)
        .first()
    )


def _end_now(subscription: Subscription, now: datetime) -> None:
    """-> canceled, at once (the caller holds the row's lock and checked the state)."""
    subscription.status = Status.CANCELED
    subscription.canceled_at = subscription.canceled_at or now
    subscription.ended_at = now
    subscription.save(update_fields=["status", "canceled_at", "ended_at", "updated_at"])


@dataclass(frozen=True, slots=True)
class Opened:
    """The subscription a purchase is for; `trial_started`: it was just opened as a trial,
    which nothing pays for until it ends."""

    subscription: Subscription
    trial_started: bool


def _renewal_check(live: Subscription, *, plan: Plan, billing_cycle: str, provider: str) -> None:
    if live.plan_id != plan.pk or live.billing_cycle != billing_cycle:
        raise _conflict(
            f"The tenant is subscribed to {live.plan.name} ({live.billing_cycle}). Cancel that "
            "subscription first: another plan can start once it has ended.",
            live,
        )
    if live.stripe_subscription_id:
        raise _conflict("This subscription is paid by card through Stripe, which renews it.", live)
    if provider == Provider.STRIPE and live.status != Status.TRIALING:
        raise _conflict(
            "This subscription is renewed by paying each period as it was paid; to pay by card, "
            "cancel it and subscribe again once it has ended.",
            live,
        )


def _ever_started(tenant_id: uuid.UUID) -> bool:
    """Whether the tenant ever had a trial or a paid period (an abandoned start does not
    count)."""
    subscriptions = Subscription.objects.filter(tenant_id=tenant_id)
    return (
        subscriptions.filter(trial_end__isnull=False).exists()
        or subscriptions.filter(current_period_start__isnull=False).exists()
    )


@transaction.atomic
def subscription_open(
    *,
    tenant_id: uuid.UUID,
    plan: Plan,
    billing_cycle: str,
    provider: str,
    payment_method: str,
    created_by: "User | None" = None,
) -> Opened:
    """The subscription a purchase of `plan` pays for:
    - none live: a new one, trialing for the plan's trial days when the tenant never had a
      trial or a paid period, otherwise incomplete until its first period is paid;
    - an incomplete one: canceled (its pending order is left to expire), and a new one;
    - a live one on the same plan and cycle, renewed by orders: itself (the order is for its
      next period); a trial may change how it will be paid;
    - any other live one: 409 CONFLICT, it is to be canceled first.
    """
    now = timezone.now()
    live = _live_locked(tenant_id)
    if live is not None and live.status == Status.INCOMPLETE:
        _end_now(live, now)
        live = None
    if live is not None:
        _renewal_check(live, plan=plan, billing_cycle=billing_cycle, provider=provider)
        if live.status == Status.TRIALING:
            live.provider, live.payment_method = provider, payment_method
            live.save(update_fields=["provider", "payment_method", "updated_at"])
        return Opened(subscription=live, trial_started=False)
    trial_end = (
        now + timedelta(days=plan.trial_days)
        if plan.trial_days and not _ever_started(tenant_id)
        else None
    )
    try:
        with transaction.atomic():
            subscription = Subscription.objects.create(
                tenant_id=tenant_id,
                plan=plan,
                billing_cycle=billing_cycle,
                status=Status.TRIALING if trial_end else Status.INCOMPLETE,
                provider=provider,
                payment_method=payment_method,
                trial_end=trial_end,
                current_period_start=now if trial_end else None,
                current_period_end=trial_end,
                created_by=created_by,
            )
    except IntegrityError as exc:  # subscription_one_live_per_tenant: another started meanwhile
        raise ApplicationError(
            "Another subscription was started at the same moment; look at it before trying again.",
            code=ErrorCode.CONFLICT,
            status_code=http_status.HTTP_409_CONFLICT,
        ) from exc
    if trial_end is not None:
        plan_limits_apply(tenant_id=tenant_id)
    return Opened(subscription=subscription, trial_started=trial_end is not None)


@transaction.atomic
def subscription_free_choose(*, tenant_id: uuid.UUID, plan: Plan) -> None:
    """Go back to the default free plan, which needs no subscription: refused (409 CONFLICT)
    while a subscription has started; an incomplete one is canceled."""
    if not plan.is_default:
        raise field_error("plan_id", "This plan cannot be chosen: it has no price to pay.")
    live = _live_locked(tenant_id)
    if live is not None and live.status in STARTED:
        raise _conflict(
            f"The tenant is subscribed to {live.plan.name}. Cancel it: the free plan holds "
            "once its period has ended.",
            live,
        )
    if live is not None:
        _end_now(live, timezone.now())
    plan_limits_apply(tenant_id=tenant_id)


@transaction.atomic
def subscription_period_paid(*, payment: PaymentTransaction) -> Subscription:
    """A completed order paid a period of its subscription (billing.payments.services calls
    it in the transaction that completes the order). Under the subscription's lock: the
    period is the order's, moved to start at the current end when a period paid meanwhile
    already covers it (money always buys a whole period); Stripe's invoices give their own.
    The subscription becomes active, a cancellation at the period's end is taken back, its
    reminder may go again, the period's credits expire at its end (a lot), and the plan's
    user limit holds.

    A canceled subscription is not revived: it stays canceled and a warning is logged (the
    credits are granted all the same; an operator refunds)."""
    if payment.subscription_id is None:
        raise ValueError(f"Order {payment.order_id} pays for no subscription.")
    subscription = Subscription.objects.select_for_update().get(pk=payment.subscription_id)
    months = CYCLE_MONTHS[Cycle(subscription.billing_cycle)]
    start = payment.period_start or timezone.now()
    end = payment.period_end or months_after(start, months)
    on_stripe = bool(subscription.stripe_subscription_id)
    current_end = subscription.current_period_end
    if not on_stripe and current_end is not None and current_end > start:
        start, end = current_end, months_after(current_end, months)
    credit_lot_open(
        payment_id=payment.pk,
        tenant_id=payment.tenant_id,
        credits=payment.credits + payment.bonus_credits,
        expires_at=end,
    )
    if subscription.status == Status.CANCELED:
        logger.warning(
            "Order %s paid a period of subscription %s, which is canceled: refund it",
            payment.order_id,
            subscription.pk,
        )
        return subscription
    running = current_end is not None and current_end > timezone.now()
    if on_stripe or not running or subscription.current_period_start is None:
        subscription.current_period_start = start
    subscription.current_period_end = end
    subscription.status = Status.ACTIVE
    subscription.renewal_reminded_at = None
    if not on_stripe:  # paying another period takes a cancellation back; Stripe keeps its own
        subscription.cancel_at_period_end = False
        subscription.canceled_at = None
    subscription.save(
        update_fields=[
            "current_period_start",
            "current_period_end",
            "status",
            "renewal_reminded_at",
            "cancel_at_period_end",
            "canceled_at",
            "updated_at",
        ]
    )
    plan_limits_apply(tenant_id=subscription.tenant_id)
    return subscription


def subscription_cancel(*, tenant_id: uuid.UUID) -> Subscription:
    """Cancel the tenant's subscription: an incomplete one, or one past due (renewed by
    orders), ends at once; a trialing or active one at the end of its period
    (cancel_at_period_end). A Stripe subscription is told first (502 when Stripe does not
    agree, and nothing changes). 409 INVALID_STATUS when there is nothing to cancel."""
    live = subscription_current(tenant_id=tenant_id)
    if live is None:
        raise _status_refused("cancel", None, [*STARTED, Status.INCOMPLETE])
    stripe_asked = (
        bool(live.stripe_subscription_id)
        and live.status in STARTED
        and not live.cancel_at_period_end
    )
    # Outside the transaction: an HTTP call; Stripe's own event confirms it later.
    if stripe_asked and not StripeProvider().subscription_cancel_at_period_end(
        live.stripe_subscription_id
    ):
        raise ApplicationError(
            "Stripe did not cancel the subscription; nothing was changed. Try again.",
            code=ErrorCode.PAYMENT_PROVIDER_ERROR,
            status_code=http_status.HTTP_502_BAD_GATEWAY,
        )
    return _cancel_apply(subscription_id=live.pk)


@transaction.atomic
def _cancel_apply(*, subscription_id: uuid.UUID) -> Subscription:
    subscription = (
        Subscription.objects.select_for_update(of=("self",))
        .select_related("plan")
        .get(pk=subscription_id)
    )
    now = timezone.now()
    if subscription.status == Status.CANCELED:
        raise _status_refused("cancel", subscription.status, [*STARTED, Status.INCOMPLETE])
    ours = not subscription.stripe_subscription_id
    if subscription.status == Status.INCOMPLETE or (
        ours and subscription.status == Status.PAST_DUE
    ):
        _end_now(subscription, now)
        plan_limits_apply(tenant_id=subscription.tenant_id)
    elif not subscription.cancel_at_period_end:
        subscription.cancel_at_period_end = True
        subscription.canceled_at = now
        subscription.save(update_fields=["cancel_at_period_end", "canceled_at", "updated_at"])
    return subscription


# --- The periodic run


_REMIND_SQL = """
UPDATE billing_subscription SET renewal_reminded_at = %(now)s, updated_at = %(now)s
WHERE status IN (%(active)s, %(trialing)s) AND stripe_subscription_id = ''
    AND NOT cancel_at_period_end AND renewal_reminded_at IS NULL
    AND current_period_end > %(now)s AND current_period_end <= %(remind_until)s
RETURNING tenant_id, plan_id, current_period_end
"""

# Trialing or active past its end, unpaid: canceled when that was asked, else past due.
_PERIOD_END_SQL = """
UPDATE billing_subscription SET
    status = CASE WHEN cancel_at_period_end THEN %(canceled)s ELSE %(past_due)s END,
    ended_at = CASE WHEN cancel_at_period_end THEN %(now)s END,
    updated_at = %(now)s
WHERE status IN (%(active)s, %(trialing)s) AND stripe_subscription_id = ''
    AND COALESCE(current_period_end, trial_end) <= %(now)s
RETURNING tenant_id, status
"""

_GRACE_END_SQL = """
UPDATE billing_subscription SET status = %(canceled)s, canceled_at = COALESCE(canceled_at, %(now)s),
    ended_at = %(now)s, updated_at = %(now)s
WHERE status = %(past_due)s AND stripe_subscription_id = ''
    AND COALESCE(current_period_end, trial_end) <= %(grace_until)s
RETURNING tenant_id
"""

# Incomplete and no longer payable: no pending order (mobile money), or a Checkout Session
# that has closed (Stripe).
_ABANDONED_SQL = """
UPDATE billing_subscription AS s SET status = %(canceled)s, canceled_at = %(now)s,
    ended_at = %(now)s, updated_at = %(now)s
WHERE s.status = %(incomplete)s AND s.stripe_subscription_id = ''
    AND s.created_at <= CASE WHEN s.provider = %(stripe)s THEN %(checkout_until)s
        ELSE %(order_until)s END
    AND NOT EXISTS (
        SELECT 1 FROM billing_paymenttransaction AS p
        WHERE p.subscription_id = s.id AND p.status = %(pending)s
    )
RETURNING s.tenant_id
"""


def _returned(sql: str, params: dict[str, Any]) -> list[tuple[Any, ...]]:
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return cast(list[tuple[Any, ...]], cursor.fetchall())


@transaction.atomic
def subscriptions_advance(*, now: datetime | None = None) -> int:
    """Move the subscriptions renewed by orders along their periods; returns how many were
    reminded or moved. Each step is one conditional UPDATE:
    (1) a renewal reminder to the tenant's owners, once a period, SUBSCRIPTION_RENEWAL_
        REMINDER_DAYS before the end of a trialing or active one not being canceled;
    (2) trialing or active past its end unpaid -> past_due, or -> canceled when
        cancel_at_period_end;
    (3) past_due SUBSCRIPTION_GRACE_DAYS after its end -> canceled;
    (4) incomplete with nothing left to pay it (no pending order once twice
        PAYMENT_EXPIRY_MINUTES have passed; for Stripe, once its checkout has closed)
        -> canceled.
    A tenant whose subscription was canceled gets the limits of the plan that now holds."""
    now = now or timezone.now()
    params: dict[str, Any] = {
        "now": now,
        "active": Status.ACTIVE,
        "trialing": Status.TRIALING,
        "past_due": Status.PAST_DUE,
        "canceled": Status.CANCELED,
        "incomplete": Status.INCOMPLETE,
        "stripe": Provider.STRIPE,
        "pending": PaymentTransaction.Status.PENDING,
        "remind_until": now + timedelta(days=settings.SUBSCRIPTION_RENEWAL_REMINDER_DAYS),
        "grace_until": now - timedelta(days=settings.SUBSCRIPTION_GRACE_DAYS),
        "order_until": now - timedelta(minutes=settings.PAYMENT_EXPIRY_MINUTES * 2),
        "checkout_until": now - timedelta(hours=STRIPE_CHECKOUT_HOURS),
    }
    reminded = _returned(_REMIND_SQL, params)
    _reminders_send(reminded)
    ended = _returned(_PERIOD_END_SQL, params)
    lapsed = _returned(_GRACE_END_SQL, params)
    abandoned = _returned(_ABANDONED_SQL, params)
    # Past due keeps its plan, and an incomplete one never held: only cancellations of a
    # started subscription change the plan that holds.
    canceled = {row[0] for row in ended if row[1] == Status.CANCELED} | {row[0] for row in lapsed}
    for tenant_id in canceled:
        plan_limits_apply(tenant_id=tenant_id)
    return len(reminded) + len(ended) + len(lapsed) + len(abandoned)


def _reminders_send(reminded: list[tuple[Any, ...]]) -> None:
    """One email to each owner of each reminded tenant, after the run commits."""
    if not reminded:
        return
    tenant_ids = {row[0] for row in reminded}
    plans = dict(Plan.objects.filter(pk__in={row[1] for row in reminded}).values_list("pk", "name"))
    tenants = dict(Tenant.objects.filter(pk__in=tenant_ids).values_list("pk", "name"))
    owners: dict[uuid.UUID, list[str]] = {}
    for tenant_id, email in Membership.objects.filter(
        tenant_id__in=tenant_ids, role=Role.OWNER, status=Membership.Status.ACTIVE
    ).values_list("tenant_id", "user__email"):
        owners.setdefault(tenant_id, []).append(email)
    for tenant_id, plan_id, period_end in reminded:
        ends = timezone.localtime(period_end).date()
        for email in owners.get(tenant_id, []):
            email_send.delay_on_commit(  # type: ignore[attr-defined]  # a DjangoTask at run time
                subject=f"Your Mifumo {plans[plan_id]} plan renews on {ends:%d %B %Y}",
                body=(
                    f"The {plans[plan_id]} plan of {tenants[tenant_id]} on Mifumo runs until "
                    f"{ends:%d %B %Y}. Mobile money cannot be charged without you, so renew "
                    f"it before then: {settings.FRONTEND_URL.rstrip('/')}/billing/subscription\n\n"
                    f"Unpaid, it falls past due, and after {settings.SUBSCRIPTION_GRACE_DAYS} "
                    "days the tenant returns to the free plan."
                ),
                to=email,
            )


# --- Stripe


@transaction.atomic
def subscription_stripe_sync(
    *,
    stripe_subscription_id: str,
    subscription_id: str,
    stripe_customer_id: str,
    stripe_status: str,
    current_period_start: datetime | None,
    current_period_end: datetime | None,
    cancel_at_period_end: bool,
) -> Subscription | None:
    """Apply what Stripe answers about a Stripe subscription to ours: found by its Stripe id,
    else by our id (`subscription_id`, from the metadata given at checkout); None when there
    is none. Stripe's ids, period and cancellation are recorded and its status mapped
    (STRIPE_STATUSES). A canceled subscription never changes, and a started one never goes
    back to incomplete; the plan's limits then hold."""
    subscription = None
    if stripe_subscription_id:
        subscription = (
            Subscription.objects.select_for_update()
            .filter(stripe_subscription_id=stripe_subscription_id)
            .first()
        )
    if subscription is None and subscription_id:
        try:
            ours = uuid.UUID(subscription_id)
        except ValueError:
            logger.warning("Stripe subscription %s names no subscription of ours", subscription_id)
            return None
        subscription = Subscription.objects.select_for_update().filter(pk=ours).first()
        # Read under the lock: a sync of the same Stripe subscription may have just named it.
        if subscription is not None and subscription.stripe_subscription_id not in (
            "",
            stripe_subscription_id,
        ):
            logger.error(
                "Stripe subscription %s is for subscription %s, which is already Stripe's %s",
                stripe_subscription_id,
                ours,
                subscription.stripe_subscription_id,
            )
            return None
    if subscription is None:
        logger.warning("Stripe subscription %s matches none of ours", stripe_subscription_id)
        return None
    target = STRIPE_STATUSES.get(stripe_status)
    if subscription.status == Status.CANCELED:
        if target in STARTED and not cancel_at_period_end:
            logger.error(
                "Stripe subscription %s is %s but ours (%s) is canceled: cancel it in Stripe",
                stripe_subscription_id,
                stripe_status,
                subscription.pk,
            )
        return subscription
    if target is None:
        logger.warning("Unknown Stripe status %r for %s", stripe_status, stripe_subscription_id)
        target = Status(subscription.status)
    if target == Status.INCOMPLETE:
        target = Status(subscription.status)
    now = timezone.now()
    subscription.stripe_subscription_id = stripe_subscription_id or (
        subscription.stripe_subscription_id
    )
    subscription.stripe_customer_id = stripe_customer_id or subscription.stripe_customer_id
    subscription.provider = Provider.STRIPE
    subscription.payment_method = PaymentTransaction.Method.CARD
    if current_period_start is not None:
        subscription.current_period_start = current_period_start
    if current_period_end is not None:
        subscription.current_period_end = current_period_end
    if cancel_at_period_end and not subscription.cancel_at_period_end:
        subscription.canceled_at = now
    elif not cancel_at_period_end and target != Status.CANCELED:
        subscription.canceled_at = None
    subscription.cancel_at_period_end = cancel_at_period_end
    if target == Status.CANCELED:
        subscription.canceled_at = subscription.canceled_at or now
        subscription.ended_at = now
    subscription.status = target
    subscription.save()
    plan_limits_apply(tenant_id=subscription.tenant_id)
    return subscription
