"""Celery tasks of the messaging app: thin wrappers that take ids."""

import logging
from typing import Any

from celery import shared_task
from django.conf import settings

from messaging import outbox
from messaging.services import campaign_progress, campaign_sends, conversations, imports
from messaging.services.messages import contacts_mark_contacted
from messaging.status_reports import message_status_reports_apply
from mifumo.celery import TenantOnlyTask
from mifumo.periodic import cron_task, for_each_tenant
from mifumo.tenancy import current_schema_name, current_tenant
from sms.providers.base import StatusReport

logger = logging.getLogger(__name__)


@shared_task(base=TenantOnlyTask)
def contact_import_run(*, import_id: str) -> None:
    imports.contact_import_run(import_id=import_id, region=current_tenant().country)


# --- The outbox (queue `sends`)


@shared_task(base=TenantOnlyTask)
def outbox_batch_send(*, message_ids: list[str]) -> int:
    return outbox.outbox_batch_send(tenant=current_tenant(), message_ids=message_ids)


@shared_task(base=TenantOnlyTask)
def outbox_send_release(*, send_request_id: str, mark_contacted: bool = False) -> int:
    """A committed send's queued messages go to batch tasks; a new send's contacts are then
    marked contacted (one task per send: the broker is asked once per request)."""
    released = outbox.outbox_send_release(send_request_id=send_request_id)
    if mark_contacted:
        contacts_mark_contacted(send_request_id=send_request_id)
    return released


@shared_task(base=TenantOnlyTask)
def outbox_drain() -> int:
    """The tenant's small sends of the moment, sent together in shared batches
    (outbox.outbox_enqueue_ready), each batch's contacts then marked contacted."""
    return outbox.outbox_drain(
        tenant=current_tenant(),
        after_batch=lambda message_ids: contacts_mark_contacted(message_ids=message_ids),
    )


@cron_task(time_limit=60)
def outbox_sweep_all() -> int:
    """Beat: sweep every tenant's outbox (scheduled releases, lost tasks, crashed workers).
    The send queue is measured once, for every tenant's sweep."""
    return for_each_tenant(
        outbox_sweep,
        expires_in=settings.OUTBOX_SWEEP_SECONDS,
        send_queue_empty=outbox.send_queue_length() == 0,
    )


@cron_task(base=TenantOnlyTask, time_limit=120)
def outbox_sweep(*, send_queue_empty: bool = True) -> dict[str, int]:
    counts = outbox.outbox_sweep(tenant=current_tenant(), send_queue_empty=send_queue_empty)
    if any(counts.values()):
        logger.info("Outbox sweep of %s: %s", current_schema_name(), counts)
    return counts


@shared_task(base=TenantOnlyTask)
def status_reports_apply(*, reports: list[dict[str, Any]]) -> None:
    """Reports a provider handed back with its results (the sandbox's delivery reports),
    applied when the outbox scheduled them."""
    message_status_reports_apply(reports=[StatusReport.from_json(report) for report in reports])


# --- Campaigns


@shared_task(base=TenantOnlyTask)
def campaign_fan_out(*, campaign_id: str, started_by_id: int | None = None) -> None:
    campaign_sends.campaign_fan_out(
        campaign_id=campaign_id, tenant=current_tenant(), started_by_id=started_by_id
    )


@cron_task(time_limit=60)
def campaigns_advance_all() -> int:
    """Beat: advance every tenant's campaigns, one task per tenant."""
    return for_each_tenant(campaigns_advance, expires_in=settings.CAMPAIGNS_ADVANCE_SECONDS)


@cron_task(base=TenantOnlyTask, time_limit=300)
def campaigns_advance() -> dict[str, int]:
    """Due starts and recurring runs, lost fan-outs and counters (a recurring run's fan-out
    is made here: up to a million messages in under a minute)."""
    return campaign_progress.campaigns_advance(tenant=current_tenant())


# --- Conversations


@cron_task(time_limit=60)
def conversations_wake_all() -> int:
    """Beat: wake every tenant's snoozed conversations whose time came, one task per tenant."""
    return for_each_tenant(conversations_wake, expires_in=settings.CONVERSATIONS_WAKE_SECONDS)


@cron_task(base=TenantOnlyTask, time_limit=60)
def conversations_wake() -> int:
    return conversations.conversations_wake_due()
