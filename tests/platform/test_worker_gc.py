"""Each Celery pool process freezes what it made while starting (mifumo.celery), so the garbage
collector's full passes skip it."""

import gc

import pytest
from celery.signals import worker_process_init


@pytest.fixture
def unfrozen():
    gc.unfreeze()
    yield
    gc.unfreeze()


def test_a_celery_pool_process_freezes_what_start_up_made(unfrozen):
    assert gc.get_freeze_count() == 0

    worker_process_init.send(sender=None)  # what the pool does in each process it forks

    assert gc.get_freeze_count() > 100_000  # Django and the apps, loaded
