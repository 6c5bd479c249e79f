"""Periodic work (mifumo/periodic.py): a cron task never overlaps itself in one schema, its
lock is released after a run (and after a run that raised), and for_each_tenant sends one task
to every active tenant's schema, never the public one, the template or an inactive tenant,
expiring with the next run; the outbox sweeps do not queue behind the sends."""

from unittest import mock

import pytest
from django.conf import settings
from django.db import connection
from django_redis import get_redis_connection
from django_tenants.utils import get_public_schema_name, tenant_context

from mifumo.celery import TenantOnlyTask
from mifumo.celery import app as celery_app
from mifumo.periodic import active_tenant_schemas, cron_task, for_each_tenant
from mifumo.principals import shared_key
from tenants.models import Tenant

RUNS: list[str] = []
SWEEP_AND_SEND_TASKS = (
    "messaging.tasks.outbox_sweep_all",
    "messaging.tasks.outbox_sweep",
    "messaging.tasks.outbox_batch_send",
    "messaging.tasks.outbox_send_release",
    "messaging.tasks.outbox_drain",
    "messaging.tasks.status_reports_apply",
)


@cron_task(time_limit=30, name="tests.platform.periodic_run")
def periodic_run() -> str:
    RUNS.append(connection.schema_name)
    return connection.schema_name


@cron_task(time_limit=30, name="tests.platform.periodic_failure")
def periodic_failure() -> None:
    raise RuntimeError("this run fails")


@cron_task(base=TenantOnlyTask, time_limit=30, name="tests.platform.periodic_per_tenant")
def periodic_per_tenant() -> None:
    RUNS.append(connection.schema_name)


@pytest.fixture(autouse=True)
def runs():
    RUNS.clear()
    return RUNS


def lock_key(name: str, schema: str) -> str:
    return shared_key("periodic", f"tests.platform.test_periodic.{name}", schema)


def test_a_run_while_the_last_one_holds_the_lock_does_nothing(db, runs):
    lock = get_redis_connection("default").lock(lock_key("periodic_run", "public"), timeout=30)
    assert lock.acquire(blocking=False)

    assert periodic_run.apply().get() is None
    assert runs == []

    lock.release()
    assert periodic_run.apply().get() == get_public_schema_name()
    assert runs == [get_public_schema_name()]


def test_the_lock_is_free_again_after_a_run_that_raised(db):
    with pytest.raises(RuntimeError):
        periodic_failure.apply().get()

    key = lock_key("periodic_failure", get_public_schema_name())
    assert not get_redis_connection("default").exists(key)


def test_a_lock_is_per_schema(a, b, runs):
    busy = lock_key("periodic_run", a.tenant.schema_name)
    get_redis_connection("default").set(busy, "held", ex=30)

    with tenant_context(a.tenant):
        assert periodic_run.apply().get() is None
    with tenant_context(b.tenant):
        assert periodic_run.apply().get() == b.tenant.schema_name


def test_the_time_limits_come_from_the_decorator():
    assert (periodic_run.time_limit, periodic_run.soft_time_limit) == (30, 27)


def test_each_active_tenant_gets_one_task_in_its_schema(a, b, runs):
    Tenant.objects.filter(pk=b.tenant.pk).update(is_active=False)

    sent = for_each_tenant(periodic_per_tenant)

    schemas = active_tenant_schemas()
    assert sent == len(schemas)
    assert sorted(runs) == sorted(schemas)
    assert a.tenant.schema_name in runs
    assert b.tenant.schema_name not in runs
    assert not {get_public_schema_name(), settings.TENANT_BASE_SCHEMA} & set(runs)


def test_a_dispatchers_tasks_expire_with_its_next_run(a, runs):
    with mock.patch.object(
        periodic_per_tenant, "apply_async", wraps=periodic_per_tenant.apply_async
    ) as sent:
        for_each_tenant(periodic_per_tenant, expires_in=15)

    assert {call.kwargs["expires"] for call in sent.call_args_list} == {15}
    assert a.tenant.schema_name in runs


def test_the_sweeps_wait_on_the_default_queue_not_behind_the_sends():
    router = celery_app.amqp.router
    route = {name: router.route({}, name)["queue"].name for name in SWEEP_AND_SEND_TASKS}
    assert route == {
        "messaging.tasks.outbox_sweep_all": "default",
        "messaging.tasks.outbox_sweep": "default",
        "messaging.tasks.outbox_batch_send": "sends",
        "messaging.tasks.outbox_send_release": "sends",
        "messaging.tasks.outbox_drain": "transactional",
        "messaging.tasks.status_reports_apply": "sends",
    }
