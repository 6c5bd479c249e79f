"""Tasks of the billing app: asking a provider about an order, expiring unpaid ones, expiring
credit lots, moving subscriptions through their periods, and the daily check that every
balance equals its ledger."""

from celery import shared_task

from billing import expiry, subscriptions
from billing.integrity import ledger_integrity_check
from billing.models import PaymentTransaction
from billing.payments import services
from mifumo.periodic import cron_task


@shared_task
def payment_verify_task(transaction_id: str) -> str | None:
    payment = PaymentTransaction.objects.filter(pk=transaction_id).first()
    if payment is None:
        return None
    return services.payment_verify(payment=payment).status


@cron_task(time_limit=60)
def payments_expire() -> int:
    return services.payments_expire()


@cron_task(time_limit=600)
def ledger_integrity_check_task() -> int:
    return len(ledger_integrity_check())


@cron_task(time_limit=600)
def credit_lots_expire() -> int:
    return expiry.credit_lots_expire()


@cron_task(time_limit=300)
def subscriptions_advance() -> int:
    return subscriptions.subscriptions_advance()
