"""Celery tasks of the integration app (queue `webhooks`): thin wrappers around
integration.services.webhooks."""

from celery import shared_task

from integration.services import webhooks
from mifumo.celery import TenantOnlyTask


@shared_task(base=TenantOnlyTask)
def message_events_deliver(*, event_type: str, message_ids: list[str]) -> int:
    return webhooks.message_events_deliver(event_type=event_type, message_ids=message_ids)


@shared_task
def webhook_delivery_attempt(*, delivery_id: int) -> str | None:
    """Runs in the public schema, where deliveries live (the sender names it in the headers)."""
    return webhooks.webhook_delivery_attempt(delivery_id=delivery_id)


@shared_task
def webhook_deliveries_due_send() -> int:
    return webhooks.webhook_deliveries_due_send()
