"""Small sends drained together (messaging.outbox, "Small sends"): a burst of one-recipient
sends publishes one drain task, not a task or two per send; the drain sends each message once
and marks its contact contacted; a send that comes after the drain found the list empty starts
the next one; a long drain hands over to a fresh task; large and scheduled sends keep their own
release task."""

import datetime as dt
import time

import pytest
from celery.signals import before_task_publish
from django.utils import timezone
from django_redis import get_redis_connection
from django_tenants.utils import tenant_context

from messaging import outbox
from messaging.models import Message
from messaging.services import messages
from messaging.services.messages import SendInput, send_to_numbers
from messaging.tasks import outbox_drain
from mifumo.celery import app as celery_app
from sms.throttle import tenant_send_slot
from tests.conftest import committed
from tests.fakes.beem import FakeBeem
from tests.messaging.helpers import make_contact, new_phone
from tests.messaging.test_outbox_worker_kill import start_worker, wait_for
from tests.sms.helpers import fund

DRAIN = "messaging.tasks.outbox_drain"


@pytest.fixture
def published(django_capture_on_commit_callbacks):
    """Run a block's on-commit callbacks with tasks published to the broker, not run: yields
    the list of (task name, headers) published."""
    sent: list[tuple[str, dict]] = []

    def capture(sender=None, headers=None, **kwargs):
        sent.append((sender, headers))

    before_task_publish.connect(capture)
    celery_app.conf.task_always_eager = False
    try:
        yield sent
    finally:
        celery_app.conf.task_always_eager = True
        before_task_publish.disconnect(capture)


def send_one(tenant, phone: str, on_commit) -> str:
    with tenant_context(tenant), on_commit():
        send = send_to_numbers(
            tenant=tenant, data=SendInput(recipients=[phone], sender="Mifumo", text="Code 4821")
        )
    with tenant_context(tenant):
        return str(Message.objects.get(send_request=send).pk)


def ready_list(tenant) -> list[str]:
    key = outbox._ready_keys(tenant.schema_name)[0]
    return [value.decode() for value in get_redis_connection("default").lrange(key, 0, -1)]


def drain_due(tenant) -> bool:
    return bool(get_redis_connection("default").exists(outbox._ready_keys(tenant.schema_name)[1]))


def test_a_burst_of_one_recipient_sends_publishes_one_drain(a, published, on_commit, settings):
    settings.SMS_PROVIDER = "sandbox"
    fund(a.tenant, 10)
    known = make_contact(a.tenant, phone_e164=new_phone())
    phones = [known.phone_e164, *(new_phone() for _ in range(4))]
    before = timezone.now()

    ids = [send_one(a.tenant, phone, on_commit) for phone in phones]

    (drain,) = published  # no release or batch task of their own
    assert drain[0] == DRAIN
    assert drain[1]["_schema_name"] == a.tenant.schema_name
    eta = dt.datetime.fromisoformat(drain[1]["eta"])  # DRAIN_DELAY_SECONDS after the first
    assert before < eta < before + dt.timedelta(seconds=1)
    assert ready_list(a.tenant) == ids
    with tenant_context(a.tenant):
        assert set(Message.objects.values_list("status", flat=True)) == {Message.Status.QUEUED}

    celery_app.conf.task_always_eager = True
    with tenant_context(a.tenant), on_commit():
        assert outbox_drain.apply(headers={"_schema_name": a.tenant.schema_name}).get() == 5

    assert ready_list(a.tenant) == []
    assert not drain_due(a.tenant)  # the take that found the list empty ended it
    with tenant_context(a.tenant):  # the sandbox's reports ran at once, as tasks do here
        statuses = set(Message.objects.values_list("status", flat=True))
        assert statuses == {Message.Status.DELIVERED}
        known.refresh_from_db()
        assert known.last_contacted_at == Message.objects.get(pk=ids[0]).send_request.created_at


def test_a_send_after_the_drain_found_the_list_empty_starts_the_next_drain(a, published, on_commit):
    fund(a.tenant, 10)
    send_one(a.tenant, new_phone(), on_commit)
    send_one(a.tenant, new_phone(), on_commit)  # the first's drain is due: it takes this too
    assert [name for name, _ in published] == [DRAIN]

    assert len(list(outbox.outbox_ready_batches(a.tenant.schema_name))) == 1
    send_one(a.tenant, new_phone(), on_commit)

    assert [name for name, _ in published] == [DRAIN, DRAIN]


def test_the_drain_takes_the_list_a_batch_at_a_time(a, settings):
    settings.SMS_SEND_BATCH_SIZE = 2
    ids = [f"id-{n}" for n in range(5)]
    ready, drain = outbox._ready_keys(a.tenant.schema_name)
    get_redis_connection("default").rpush(ready, *ids)
    get_redis_connection("default").set(drain, 1)

    assert list(outbox.outbox_ready_batches(a.tenant.schema_name)) == [ids[:2], ids[2:4], ids[4:]]
    assert ready_list(a.tenant) == []
    assert not drain_due(a.tenant)


def test_a_drain_past_its_time_hands_over_to_a_fresh_task(a, published, monkeypatch):
    monkeypatch.setattr(outbox, "DRAIN_MAX_SECONDS", 0.0)
    ready, drain = outbox._ready_keys(a.tenant.schema_name)
    get_redis_connection("default").rpush(ready, "id-1")
    get_redis_connection("default").set(drain, 1)

    assert list(outbox.outbox_ready_batches(a.tenant.schema_name)) == []

    assert [(name, headers["_schema_name"]) for name, headers in published] == [
        (DRAIN, a.tenant.schema_name)
    ]
    assert ready_list(a.tenant) == ["id-1"]
    assert drain_due(a.tenant)  # still held: the new task takes what is left


def test_a_drain_without_a_send_slot_leaves_the_list_and_comes_back_on_its_queue(
    a, published, on_commit, settings
):
    settings.SMS_SEND_CONCURRENCY = 1
    settings.SMS_SLOT_WAIT_SECONDS = 0.0
    fund(a.tenant, 10)
    ids = [send_one(a.tenant, new_phone(), on_commit)]
    published.clear()
    batches: list[list[str]] = []

    with tenant_send_slot(a.tenant.schema_name) as granted:  # a campaign's batch holds it
        assert granted
        assert outbox.outbox_drain(tenant=a.tenant, after_batch=batches.append) == 0

    ((name, headers),) = published
    assert name == DRAIN
    assert dt.datetime.fromisoformat(headers["eta"]) > timezone.now()  # SMS_SLOT_RETRY_SECONDS
    assert (ready_list(a.tenant), batches) == (ids, [])
    assert drain_due(a.tenant)


def test_large_and_scheduled_sends_keep_their_own_release(a, published, on_commit, monkeypatch):
    monkeypatch.setattr(messages, "DRAINED_MAX", 2)
    fund(a.tenant, 10)
    later = timezone.now() + dt.timedelta(hours=1)

    with tenant_context(a.tenant), on_commit():
        send_to_numbers(
            tenant=a.tenant,
            data=SendInput(recipients=[new_phone() for _ in range(3)], sender="Mifumo", text="Hi"),
        )
        send_to_numbers(
            tenant=a.tenant,
            data=SendInput(
                recipients=[new_phone()], sender="Mifumo", text="Hi", scheduled_at=later
            ),
        )

    assert [name for name, _ in published] == ["messaging.tasks.outbox_send_release"] * 2
    assert ready_list(a.tenant) == []


@committed
def test_a_worker_sends_each_of_many_small_sends_once(committed_tenant, on_commit):
    """One-recipient sends made while a real worker drains: every message reaches Beem once."""
    tenant = committed_tenant.tenant
    fund(tenant, 100)
    phones = [new_phone() for _ in range(40)]
    with FakeBeem() as beem:
        worker = start_worker(beem)
        try:
            celery_app.conf.task_always_eager = False
            for phone in phones:
                send_one(tenant, phone, on_commit)
                time.sleep(0.005)

            def all_sent() -> bool:
                with tenant_context(tenant):
                    return not Message.objects.exclude(status=Message.Status.SENT).exists()

            wait_for(all_sent)
        finally:
            celery_app.conf.task_always_eager = True
            worker.terminate()
            worker.wait()
        posted = sorted(sms.to for sms in beem.accepted)
    assert posted == sorted(phone.lstrip("+") for phone in phones)
