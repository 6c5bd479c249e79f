"""Celery tasks of the messaging app: thin wrappers that take ids."""

from celery import shared_task
from django.db import connection

from messaging.services import imports
from mifumo.celery import TenantOnlyTask


@shared_task(base=TenantOnlyTask)
def contact_import_run(*, import_id: str) -> None:
    imports.contact_import_run(import_id=import_id, region=connection.tenant.country)


@shared_task
def campaigns_advance_all() -> None:
    """Beat: start due scheduled campaigns and keep running ones' counters, in every tenant."""
    from django.conf import settings
    from django_tenants.utils import get_tenant_model, tenant_context

    from messaging.services.campaigns import campaigns_advance

    tenants = get_tenant_model().objects.exclude(
        schema_name__in=["public", settings.TENANT_BASE_SCHEMA]
    )
    for tenant in tenants:
        with tenant_context(tenant):
            campaigns_advance()
