"""The tenant a piece of work runs for, as django-tenants keeps it, typed in one place.

django-tenants puts the schema and the tenant on the database connection (its DatabaseWrapper)
and tenants.middleware puts the tenant and the caller's membership on the request; the Django
and DRF stubs know neither. Code reads them through `current_schema_name()`,
`current_tenant()` and `TenantRequest`. The tenant and the membership are typed `Any`:
their models live in tenants, which mifumo may not import.
"""

from typing import Any

from django.db import connection
from rest_framework.request import Request


def current_schema_name() -> str:
    """The schema the connection works in (the public one unless a tenant was chosen)."""
    schema_name: str = connection.schema_name  # type: ignore[attr-defined]  # not in the stubs
    return schema_name


def current_tenant() -> Any:
    """The tenant the connection works for: a tenants.models.Tenant (django-tenants' FakeTenant
    when only a schema name was set)."""
    return connection.tenant  # type: ignore[attr-defined]  # not in the stubs


def task_headers(schema_name: str) -> dict[str, str]:
    """The headers that run a Celery task in `schema_name` (tenant-schemas-celery reads them).
    Read the schema when the task is scheduled: an on_commit may run after the caller has left
    it."""
    return {"_schema_name": schema_name}


class TenantRequest(Request):
    """A DRF request on a tenant's route, for annotations only: tenants.middleware has set
    `tenant` and `membership` (the caller's active Membership) before any view runs."""

    tenant: Any
    membership: Any
