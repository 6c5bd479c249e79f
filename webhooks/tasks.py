"""Tasks of the webhooks app: applying stored provider status reports."""

from celery import shared_task

from webhooks import services


@shared_task
def status_events_process() -> dict[str, int]:
    return services.status_events_process()
