"""Beat's outbox sweep: one dispatcher measures the send queue once and sends a sweep to every
active tenant's schema, where due scheduled messages are released."""

import datetime as dt

from django.db import connection
from django.utils import timezone
from django_tenants.utils import get_public_schema_name, tenant_context

from messaging.models import Message
from messaging.tasks import outbox_sweep, outbox_sweep_all
from tests.messaging.helpers import message_fields


def a_due_scheduled_message(tenant) -> str:
    with tenant_context(tenant):
        message = Message.objects.create(
            **message_fields(
                status=Message.Status.SCHEDULED,
                scheduled_at=timezone.now() - dt.timedelta(seconds=1),
            )
        )
    return str(message.pk)


def status_of(tenant, message_id: str) -> str:
    with tenant_context(tenant):
        return Message.objects.get(pk=message_id).status


def test_the_dispatcher_sweeps_every_tenant_in_its_own_schema(a, b):
    in_a, in_b = a_due_scheduled_message(a.tenant), a_due_scheduled_message(b.tenant)

    swept = outbox_sweep_all.apply().get()

    assert swept >= 2  # the session's tenants, and any other active one
    assert (status_of(a.tenant, in_a), status_of(b.tenant, in_b)) == ("queued", "queued")
    assert connection.schema_name == get_public_schema_name()


def test_a_tenant_sweep_reports_what_it_did(a):
    a_due_scheduled_message(a.tenant)

    counts = outbox_sweep.apply(
        kwargs={"send_queue_empty": True}, headers={"_schema_name": a.tenant.schema_name}
    ).get()

    assert counts == {"released": 1, "recovered": 0, "interrupted": 0, "requeued": 0}
