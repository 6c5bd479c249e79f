"""A real worker keeps its database connection from one task to the next (Celery's Django fixup
would open a new one for each: a Postgres backend forked per task), and a task after the
connection was lost still runs, on a new one."""

import time

from django.db import connection

from mifumo.celery import app as celery_app
from tests.workers import start_worker
from webhooks.models import StatusEvent
from webhooks.tasks import status_events_process


def worker_backends() -> set[int]:
    """The other sessions on the test database: the worker's."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT pid FROM pg_stat_activity WHERE datname = current_database() "
            "AND pid <> pg_backend_pid() AND backend_type = 'client backend'"
        )
        return {pid for (pid,) in cursor.fetchall()}


def process_once_more(attempts: int) -> set[int]:
    """Have the worker process the pending report once more; then the worker's sessions."""
    status_events_process.delay()
    deadline = time.monotonic() + 30
    while StatusEvent.objects.get().attempts < attempts:
        assert time.monotonic() < deadline, f"not processed a time more: {attempts - 1} so far"
        time.sleep(0.05)
    return worker_backends()


def test_a_worker_keeps_its_connection_between_tasks(transactional_db):
    # A report of a message nobody sent: each run puts it back to pending, one attempt more.
    StatusEvent.objects.create(provider="beem", event_id="evt-1", status="delivered")
    celery_app.conf.task_always_eager = False
    worker = start_worker("default")
    try:
        seen = [process_once_more(attempts) for attempts in (1, 2, 3)]
        assert seen[0] == seen[1] == seen[2] and len(seen[0]) == 1
        (kept,) = seen[0]

        with connection.cursor() as cursor:  # the connection is lost (a restart, a failover)
            cursor.execute("SELECT pg_terminate_backend(%s)", [kept])
        after = process_once_more(4)

        assert len(after) == 1 and kept not in after
    finally:
        celery_app.conf.task_always_eager = True
        worker.kill()
        worker.wait()
