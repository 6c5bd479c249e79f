"""Tasks of the webhooks app: applying stored provider status reports and payment callbacks."""

from celery import shared_task

from webhooks import services


@shared_task
def status_events_process() -> dict[str, int]:
    return services.status_events_process()


@shared_task
def payment_callback_apply_task(callback_id: int) -> str | None:
    return services.payment_callback_apply(callback_id=callback_id)
