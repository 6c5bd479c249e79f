"""Tasks of the webhooks app: applying stored provider status reports, inbound messages,
payment callbacks and Stripe events."""

from celery import shared_task

from webhooks import inbound, services


@shared_task
def status_events_process() -> dict[str, int]:
    return services.status_events_process()


@shared_task
def inbound_messages_process() -> dict[str, int]:
    return inbound.inbound_process()


@shared_task
def payment_callback_apply_task(callback_id: int) -> str | None:
    return services.payment_callback_apply(callback_id=callback_id)


@shared_task
def stripe_event_apply_task(stored_id: int) -> str | None:
    return services.stripe_event_apply(stored_id=stored_id)
