"""Celery tasks of the sms app (queue `sends`); thin wrappers around providers and services."""

import logging

from celery import shared_task
from django_tenants.utils import get_tenant_model, tenant_context

from messaging.services.messages import contacts_mark_contacted
from mifumo.celery import TenantOnlyTask
from sms import pipeline
from sms.providers import get_provider
from sms.providers.base import OutboundSms, StatusReport

logger = logging.getLogger(__name__)


class TransientSendError(Exception):
    pass


@shared_task(
    autoretry_for=(TransientSendError,),
    retry_backoff=5,
    retry_backoff_max=60,
    max_retries=3,
)
def platform_sms_deliver(*, reference: str, to: str, text: str, sender: str) -> None:
    message = OutboundSms(reference=reference, to=to, text=text, sender=sender)
    (result,) = get_provider().send_batch([message])
    if result.accepted:
        return
    if result.transient:
        raise TransientSendError(result.error_message)
    logger.error(
        "Platform SMS %s to %s refused: %s %s",
        reference,
        to,
        result.error_code,
        result.error_message,
    )


@shared_task(base=TenantOnlyTask)
def outbox_batch_send(*, message_ids: list[str]) -> int:
    return pipeline.outbox_batch_send(message_ids=message_ids)


@shared_task(base=TenantOnlyTask)
def outbox_send_release(*, send_request_id: str, mark_contacted: bool = False) -> int:
    """A committed send's queued messages go to batch tasks; a new send's contacts are then
    marked contacted (one task per send: the broker is asked once per request)."""
    released = pipeline.outbox_send_release(send_request_id=send_request_id)
    if mark_contacted:
        contacts_mark_contacted(send_request_id=send_request_id)
    return released


@shared_task
def outbox_sweep_all() -> None:
    """Beat: sweep every tenant's outbox (scheduled releases, lost tasks, crashed workers)."""
    tenants = get_tenant_model().objects.exclude(schema_name__in=["public", "tenant_template"])
    send_queue_empty = pipeline.send_queue_length() == 0
    for tenant in tenants.only("pk", "schema_name", "settings"):
        with tenant_context(tenant):
            counts = pipeline.outbox_sweep(send_queue_empty=send_queue_empty)
        if any(counts.values()):
            logger.info("Outbox sweep of %s: %s", tenant.schema_name, counts)


@shared_task(base=TenantOnlyTask)
def sandbox_reports_deliver(*, references: list[str]) -> None:
    """The sandbox provider's delivery reports, applied a moment after it accepted."""
    from messaging.services.messages import message_status_reports_apply

    reports = [
        StatusReport(event_id=f"sandbox:{ref}:delivered", status="delivered", reference=ref)
        for ref in references
    ]
    message_status_reports_apply(reports=reports)
