"""The Celery app. Tasks carry the schema they were sent from (tenant-schemas-celery)."""

import gc
import os

from celery.signals import task_postrun, task_prerun, worker_init, worker_process_init
from django.db import close_old_connections, connection, connections
from tenant_schemas_celery.app import CeleryApp
from tenant_schemas_celery.task import TenantTask

from mifumo.tenancy import current_schema_name, current_tenant

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "mifumo.settings")

app = CeleryApp("mifumo")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()


@worker_init.connect
def _connections_health_checked(**kwargs):
    """In a worker, a kept connection is checked (`SELECT 1`) before each task's first query
    and replaced if the server has gone (a restart, a failover), so no task fails on it."""
    for alias in connections:
        connections[alias].settings_dict["CONN_HEALTH_CHECKS"] = True


@worker_process_init.connect
def _startup_objects_frozen(**kwargs):
    """Each pool process, once forked with Django loaded, collects what start-up left over and
    freezes the rest (`gc.freeze`): the garbage collector's full passes had walked every object
    Django loaded, about 200 ms each in a send worker, 2.2 s of CPU over a personalised and a
    plain campaign of 100,000; 0.15 s frozen. What a task makes is collected as before.

    Not in gunicorn's workers: their first requests load much more after start-up, and with
    the start-up objects frozen the collector passed over those far more often (the health
    route lost a third of its rate)."""
    gc.collect()
    gc.freeze()


@task_prerun.connect
@task_postrun.connect
def _connections_checked(sender=None, **kwargs):
    """Around each task, what Django does around each request: a connection that is unusable
    or older than CONN_MAX_AGE is closed, and the next task's first query checks it. Not for a
    task run eagerly inside another, whose transaction may still be open."""
    if not getattr(sender.request, "is_eager", False):
        close_old_connections()


class TenantOnlyTask(TenantTask):
    """Base for tasks that work on one tenant's data: refuses to run in the public schema."""

    abstract = True

    def __call__(self, *args, **kwargs):
        from django_tenants.utils import get_public_schema_name, get_tenant_model

        if current_schema_name() == get_public_schema_name():
            raise RuntimeError(f"{self.name} must run in a tenant schema, not the public one.")
        # After a task run inside another (eager), tenant-schemas-celery restores the schema by
        # name, leaving a FakeTenant; a tenant task reads connection.tenant, so it gets the real.
        if not isinstance(current_tenant(), get_tenant_model()):
            connection.set_tenant(self.get_tenant_for_schema(current_schema_name()))
        return super().__call__(*args, **kwargs)
