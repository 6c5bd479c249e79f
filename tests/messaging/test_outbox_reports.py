"""Reports a provider hands back with its results (the sandbox's delivery reports): the outbox
schedules them for when they are due, in the tenant's schema, and they are applied through
messaging.status_reports."""

import datetime as dt

from celery.signals import before_task_publish
from django.utils import timezone
from django_tenants.utils import tenant_context

from messaging import outbox
from messaging.models import Message
from mifumo import events
from mifumo.celery import app as celery_app
from tests.messaging.helpers import queued_messages

REPORTS_TASK = "messaging.tasks.status_reports_apply"


def test_the_sandbox_reports_are_applied_after_the_send_is_recorded(a, on_commit, settings):
    settings.SMS_PROVIDER = "sandbox"
    ids = queued_messages(a.tenant, 2)
    published = []

    def record(event):
        published.append((event.type, sorted(event.payload["message_ids"])))

    events.subscribe("message.*", record)
    try:
        with tenant_context(a.tenant), on_commit():
            assert outbox.outbox_batch_send(tenant=a.tenant, message_ids=ids) == 2
    finally:
        events._subscribers["message.*"].remove(record)

    with tenant_context(a.tenant):
        messages = list(Message.objects.filter(pk__in=ids))
    assert {m.status for m in messages} == {Message.Status.DELIVERED}
    assert all(m.sent_at and m.delivered_at for m in messages)
    # Sent, then delivered: the report runs once the outbox has recorded the send.
    assert published == [("message.sent", sorted(ids)), ("message.delivered", sorted(ids))]


def test_the_reports_are_scheduled_for_their_delay_in_the_tenants_schema(
    a, django_capture_on_commit_callbacks, settings
):
    settings.SMS_PROVIDER = "sandbox"
    settings.SANDBOX_DELIVERY_DELAY_SECONDS = 30
    ids = queued_messages(a.tenant, 2)
    sent = []

    def capture(sender=None, headers=None, body=None, **kwargs):
        if sender == REPORTS_TASK:
            sent.append((headers, body))

    with tenant_context(a.tenant), django_capture_on_commit_callbacks() as callbacks:
        outbox.outbox_batch_send(tenant=a.tenant, message_ids=ids)
    before_task_publish.connect(capture)
    celery_app.conf.task_always_eager = False  # published to the broker, not run
    try:
        with tenant_context(a.tenant):
            for callback in callbacks:
                callback()
    finally:
        celery_app.conf.task_always_eager = True
        before_task_publish.disconnect(capture)

    ((headers, (_, kwargs, _)),) = sent
    assert headers["_schema_name"] == a.tenant.schema_name
    eta = dt.datetime.fromisoformat(headers["eta"])
    assert dt.timedelta(seconds=25) < eta - timezone.now() <= dt.timedelta(seconds=30)
    assert sorted(r["reference"] for r in kwargs["reports"]) == sorted(ids)
    assert {r["status"] for r in kwargs["reports"]} == {"delivered"}
    with tenant_context(a.tenant):
        assert set(Message.objects.values_list("status", flat=True)) == {Message.Status.SENT}
