"""Celery tasks of the messaging app: thin wrappers that take ids."""

from celery import shared_task
from django.db import connection

from messaging.services import imports
from mifumo.celery import TenantOnlyTask


@shared_task(base=TenantOnlyTask)
def contact_import_run(*, import_id: str) -> None:
    imports.contact_import_run(import_id=import_id, region=connection.tenant.country)
