"""Applying provider status reports to messages (DESIGN section 5): the moves after a message
left the outbox, sent -> delivered | undelivered | failed, made by message_status_reports_apply.

A report only ever moves a message forward (STATUS_RANK), so duplicate and out-of-order reports
change nothing. Every move is published as a message event (message.sent, message.delivered,
message.failed) once the transaction commits. Statuses and ranks reach the SQL as parameters.
"""

import uuid
from collections import defaultdict
from collections.abc import Iterable

from django.db import connection, transaction
from django.utils import timezone

from messaging.models import STATUS_RANK, Message
from mifumo import events
from sms.providers.base import StatusReport

Status = Message.Status

# One statement: find the reports' messages, move forward those a report outranks, and
# answer which keys were found (key, -, -) and which messages moved (-, id, status).
_APPLY_SQL = """
WITH r AS (
    SELECT * FROM unnest(%(keys)s::text[], %(statuses)s::text[], %(ranks)s::int[],
        %(error_codes)s::text[], %(at)s::timestamptz[])
        AS r(key, status, rank, error_code, at)
), found AS (
    SELECT m.id AS message_id, r.* FROM messaging_message AS m JOIN r ON {match}
), moved AS (
    UPDATE messaging_message AS m SET
        status = f.status,
        sent_at = COALESCE(m.sent_at, f.at),
        delivered_at = CASE WHEN f.status = %(delivered)s THEN f.at ELSE m.delivered_at END,
        failed_at = CASE WHEN f.status = ANY(%(failures)s::text[]) THEN f.at
            ELSE m.failed_at END,
        error_code = CASE WHEN f.error_code <> '' THEN f.error_code ELSE m.error_code END,
        updated_at = now()
    FROM found AS f
    -- the message's rank, looked up in the parallel arrays: a filter on each row found
    WHERE m.id = f.message_id
        AND (%(rank_values)s::int[])[array_position(%(rank_statuses)s::text[], m.status::text)]
            < f.rank
    RETURNING m.id, m.status
)
SELECT DISTINCT key, NULL, NULL FROM found
UNION ALL SELECT NULL, id::text, status FROM moved
"""

_MATCH_BY = {"id": "m.id = r.key::uuid", "provider_message_id": "m.provider_message_id = r.key"}

_EVENT_OF_STATUS = {
    Status.SENT: "message.sent",
    Status.DELIVERED: "message.delivered",
    Status.UNDELIVERED: "message.failed",
    Status.FAILED: "message.failed",
}


def _newest_per_message(reports: Iterable[StatusReport]) -> dict[str, StatusReport]:
    """The highest-ranked report per message key; out-of-order duplicates fall away here."""
    best: dict[str, StatusReport] = {}
    for report in reports:
        key = report.reference or report.provider_message_id
        current = best.get(key)
        if current is None or STATUS_RANK[report.status] > STATUS_RANK[current.status]:
            best[key] = report
    return best


def _apply(column: str, reports: dict[str, StatusReport]) -> tuple[set[str], list[tuple[str, str]]]:
    """Apply reports keyed by our id or the provider's; returns the keys whose message exists
    and the (message id, new status) of the messages that moved."""
    if not reports:
        return set(), []
    now = timezone.now()
    rows = list(reports.values())
    with connection.cursor() as cursor:
        cursor.execute(
            _APPLY_SQL.format(match=_MATCH_BY[column]),
            {
                "keys": list(reports),
                "statuses": [r.status for r in rows],
                "ranks": [STATUS_RANK[r.status] for r in rows],
                "error_codes": [r.error_code or "" for r in rows],
                "at": [r.occurred_at or now for r in rows],
                "rank_statuses": list(STATUS_RANK),
                "rank_values": list(STATUS_RANK.values()),
                "delivered": Status.DELIVERED,
                "failures": [Status.FAILED, Status.UNDELIVERED],
            },
        )
        found = cursor.fetchall()
    return {key for key, _, _ in found if key is not None}, [
        (message_id, status) for key, message_id, status in found if key is None
    ]


def _is_uuid(value: str) -> bool:
    try:
        uuid.UUID(value)
    except ValueError:
        return False
    return True


@transaction.atomic
def message_status_reports_apply(*, reports: list[StatusReport]) -> list[StatusReport]:
    """Apply provider status reports in the current tenant schema, in two statements.

    Returns the reports whose message was not found (yet): a callback can outrun the outbox's
    recording of the provider's message id.
    """
    best = _newest_per_message(r for r in reports if r.status in STATUS_RANK)
    by_reference = {k: r for k, r in best.items() if r.reference and _is_uuid(r.reference)}
    by_provider_id = {k: r for k, r in best.items() if k not in by_reference}
    found_by_id, moved_by_id = _apply("id", by_reference)
    found_by_provider, moved_by_provider = _apply("provider_message_id", by_provider_id)
    _publish(moved_by_id + moved_by_provider)
    found = found_by_id | found_by_provider
    return [r for k, r in best.items() if k not in found]


def _publish(moved: list[tuple[str, str]]) -> None:
    """One event per kind of move, naming the messages that made it (after commit)."""
    by_event: dict[str, list[str]] = defaultdict(list)
    for message_id, status in moved:
        by_event[_EVENT_OF_STATUS[Status(status)]].append(message_id)
    for event_type, message_ids in by_event.items():
        events.publish(event_type, {"message_ids": message_ids})
