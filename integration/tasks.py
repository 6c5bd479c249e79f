"""Celery tasks of the integration app (queue `webhooks`): thin wrappers around
integration.services.webhooks."""

from celery import shared_task

from integration.services.webhooks import deliveries, events
from mifumo.celery import TenantOnlyTask


@shared_task(base=TenantOnlyTask)
def message_events_deliver(*, event_type: str, message_ids: list[str]) -> int:
    return events.message_events_deliver(event_type=event_type, message_ids=message_ids)


@shared_task(base=TenantOnlyTask)
def campaign_event_deliver(*, event_type: str, campaign: dict) -> int:
    return events.campaign_event_deliver(event_type=event_type, campaign=campaign)


@shared_task
def webhook_delivery_attempt(*, delivery_id: int) -> str | None:
    """Runs in the public schema, where deliveries live (the sender names it in the headers)."""
    return deliveries.webhook_delivery_attempt(delivery_id=delivery_id)


@shared_task
def webhook_deliveries_due_send() -> int:
    return deliveries.webhook_deliveries_due_send()
