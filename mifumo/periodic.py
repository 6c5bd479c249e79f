"""Periodic work (DESIGN section 8): the one way beat's tasks are written.

`cron_task` makes a Celery task that never overlaps itself: it runs under a Redis lock named
after the task and the schema it runs in, so a slow run makes the next one a no-op instead of
a second run beside it, and the lock lapses with the hard time limit if a worker dies holding
it. `for_each_tenant` is the one place that lists the tenants periodic work runs for, and
sends a task to each, in its schema: one tenant's slow run never delays another's.

    @cron_task(time_limit=120)
    def outbox_sweep_all():
        for_each_tenant(outbox_sweep)

    @cron_task(base=TenantOnlyTask, time_limit=120)
    def outbox_sweep():
        ...  # one tenant, read from the connection
"""

import contextlib
import functools
import logging
from collections.abc import Callable
from typing import Any

from celery import shared_task
from django.conf import settings
from django_redis import get_redis_connection
from django_tenants.utils import get_public_schema_name, get_tenant_model
from redis.exceptions import LockError

from mifumo.principals import shared_key
from mifumo.tenancy import current_schema_name, task_headers

logger = logging.getLogger(__name__)


def cron_task(*, time_limit: int = 300, **task_options: Any) -> Callable:
    """A shared task that runs at most once at a time per schema, killed after `time_limit`
    seconds (a SoftTimeLimitExceeded is raised in it 10% earlier)."""
    soft_limit = max(1, int(time_limit * 0.9))

    def decorate(func: Callable) -> Any:
        @functools.wraps(func)
        def run_locked(*args: Any, **kwargs: Any) -> Any:
            name = f"{func.__module__}.{func.__name__}"
            key = shared_key("periodic", name, current_schema_name())
            lock = get_redis_connection("default").lock(key, timeout=time_limit + 5)
            if not lock.acquire(blocking=False):
                logger.info("%s in %s: the previous run is still going", name, key)
                return None
            try:
                return func(*args, **kwargs)
            finally:
                with contextlib.suppress(LockError):  # it lapsed during a run over the limit
                    lock.release()

        return shared_task(time_limit=time_limit, soft_time_limit=soft_limit, **task_options)(
            run_locked
        )

    return decorate


def active_tenant_schemas() -> list[str]:
    """The schemas periodic work runs in: every active tenant's (not the public schema, not
    the template new tenants are cloned from)."""
    excluded = [get_public_schema_name(), settings.TENANT_BASE_SCHEMA]
    tenants = get_tenant_model().objects.filter(is_active=True).exclude(schema_name__in=excluded)
    return list(tenants.order_by("schema_name").values_list("schema_name", flat=True))


def for_each_tenant(task: Any, *, expires_in: float | None = None, **kwargs: Any) -> int:
    """Send `task` (with these JSON keyword arguments) to every active tenant's schema;
    returns how many were sent. With `expires_in` (seconds: the period of the dispatcher), a
    task still waiting when the next run has sent its own is dropped, so a backlog never
    piles up runs of the same work."""
    schemas = active_tenant_schemas()
    for schema in schemas:
        task.apply_async(kwargs=kwargs, headers=task_headers(schema), expires=expires_in)
    return len(schemas)
