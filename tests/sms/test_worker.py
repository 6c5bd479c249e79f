"""A real Celery worker takes the verification SMS task from Redis (no eager mode)."""

import time

import pytest
from celery.contrib.testing.worker import start_worker

from mifumo.celery import app as celery_app
from sms.providers.sandbox import sandbox_outbox
from sms.tasks import platform_sms_deliver


@pytest.fixture
def worker(settings, db):
    celery_app.conf.task_always_eager = False
    try:
        with start_worker(
            celery_app,
            pool="solo",
            queues=["transactional"],
            perform_ping_check=False,
            shutdown_timeout=10,
        ):
            yield
    finally:
        celery_app.conf.task_always_eager = True


def test_a_worker_delivers_the_platform_sms_through_redis(worker):
    platform_sms_deliver.delay(
        reference="platform_test", to="+255712000123", text="Code 654321", sender="Taarifa-SMS"
    )

    deadline = time.monotonic() + 15
    while not sandbox_outbox(to="+255712000123") and time.monotonic() < deadline:
        time.sleep(0.05)

    (entry,) = sandbox_outbox(to="+255712000123")
    assert entry["reference"] == "platform_test"
    assert entry["text"] == "Code 654321"
