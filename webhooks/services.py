"""Storing provider status reports as they arrive, and applying them in batches.

Callbacks answer as soon as their reports are stored (one INSERT); a task applies pending
reports a moment later, grouped by tenant, one set-based UPDATE per tenant (DESIGN section 6).
"""

from collections import defaultdict
from datetime import timedelta

from django.conf import settings
from django.db import transaction
from django.db.models import F
from django.utils import timezone
from django_redis import get_redis_connection
from django_tenants.utils import get_tenant_model, tenant_context

from mifumo.principals import shared_key
from sms.providers.base import StatusReport
from webhooks.models import CallbackRoute, StatusEvent

_KICK_KEY = shared_key("webhooks", "status-events", "kick")


def callback_routes_record(*, provider: str, provider_message_ids, schema_name: str) -> None:
    routes = [
        CallbackRoute(provider=provider, provider_message_id=pid, schema_name=schema_name)
        for pid in set(provider_message_ids)
        if pid
    ]
    CallbackRoute.objects.bulk_create(routes, ignore_conflicts=True)


def status_events_store(
    *, provider: str, reports: list[StatusReport], payload, schema_name: str = ""
) -> None:
    """Keep each report once (a repeated one is dropped here) and have them applied soon."""
    StatusEvent.objects.bulk_create(
        [
            StatusEvent(
                provider=provider,
                event_id=report.event_id[:200],
                schema_name=schema_name,
                status=report.status,
                reference=report.reference[:64],
                provider_message_id=report.provider_message_id[:64],
                error_code=report.error_code[:64],
                occurred_at=report.occurred_at,
                payload=payload,
            )
            for report in reports
        ],
        ignore_conflicts=True,
    )
    transaction.on_commit(_kick)


def _kick() -> None:
    """At most one processing task per second, however many callbacks arrive."""
    from webhooks.tasks import status_events_process

    if get_redis_connection("default").set(_KICK_KEY, 1, nx=True, ex=1):
        status_events_process.apply_async(countdown=settings.STATUS_EVENT_PROCESS_DELAY_SECONDS)


def _schemas_of(events: list[StatusEvent]) -> dict[int, str]:
    unrouted = {(e.provider, e.provider_message_id) for e in events if not e.schema_name}
    routes = {}
    if unrouted:
        rows = CallbackRoute.objects.filter(
            provider__in={p for p, _ in unrouted},
            provider_message_id__in={pid for _, pid in unrouted},
        ).values_list("provider", "provider_message_id", "schema_name")
        routes = {(p, pid): schema for p, pid, schema in rows}
    return {
        e.pk: e.schema_name or routes.get((e.provider, e.provider_message_id), "") for e in events
    }


def _report(event: StatusEvent) -> StatusReport:
    return StatusReport(
        event_id=event.event_id,
        status=event.status,
        provider_message_id=event.provider_message_id,
        reference=event.reference,
        error_code=event.error_code,
        occurred_at=event.occurred_at,
    )


@transaction.atomic
def status_events_process(*, limit: int = 5000) -> dict[str, int]:
    """Apply up to `limit` pending events; returns counts. Concurrent runs skip each other's
    rows (FOR UPDATE SKIP LOCKED)."""
    from messaging.services.messages import message_status_reports_apply

    events = list(
        StatusEvent.objects.select_for_update(skip_locked=True)
        .filter(state=StatusEvent.State.PENDING)
        .order_by("id")[:limit]
    )
    schemas = _schemas_of(events)
    by_schema: dict[str, list[StatusEvent]] = defaultdict(list)
    for event in events:
        by_schema[schemas[event.pk]].append(event)
    tenants = get_tenant_model().objects.in_bulk(
        [schema for schema in by_schema if schema], field_name="schema_name"
    )
    unmatched_ids: set[int] = set()
    for schema, group in by_schema.items():
        tenant = tenants.get(schema)
        if tenant is None:
            unmatched_ids.update(e.pk for e in group)
            continue
        with tenant_context(tenant):
            missing = message_status_reports_apply(reports=[_report(e) for e in group])
        missing_ids = {r.event_id for r in missing}
        unmatched_ids.update(e.pk for e in group if e.event_id in missing_ids)

    now = timezone.now()
    applied = [e.pk for e in events if e.pk not in unmatched_ids]
    StatusEvent.objects.filter(pk__in=applied).update(
        state=StatusEvent.State.APPLIED, processed_at=now
    )
    window = now - timedelta(seconds=settings.STATUS_EVENT_MATCH_WINDOW_SECONDS)
    retry = StatusEvent.objects.filter(pk__in=unmatched_ids)
    retry.filter(received_at__lt=window).update(state=StatusEvent.State.UNMATCHED, processed_at=now)
    retry.filter(received_at__gte=window).update(attempts=F("attempts") + 1)
    return {"applied": len(applied), "unmatched": len(unmatched_ids)}
