"""Tasks of the billing app: asking a provider about an order, and expiring unpaid ones."""

from celery import shared_task

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
