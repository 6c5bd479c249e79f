"""The Celery app. Tasks carry the schema they were sent from (tenant-schemas-celery)."""

import os

from django.db import connection
from tenant_schemas_celery.app import CeleryApp
from tenant_schemas_celery.task import TenantTask

from mifumo.tenancy import current_schema_name, current_tenant

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "mifumo.settings")

app = CeleryApp("mifumo")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()


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
