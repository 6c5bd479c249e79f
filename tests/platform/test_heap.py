"""Server processes freeze what they made while starting (mifumo.heap), so the garbage
collector's full passes skip it: each Celery pool process, and each gunicorn worker once it has
loaded the application."""

import gc
import runpy

import pytest
from celery.signals import worker_process_init

from tests.workers import ROOT


@pytest.fixture
def unfrozen():
    gc.unfreeze()
    yield
    gc.unfreeze()


def test_a_celery_pool_process_freezes_what_start_up_made(unfrozen):
    assert gc.get_freeze_count() == 0

    worker_process_init.send(sender=None)  # what the pool does in each process it forks

    assert gc.get_freeze_count() > 100_000  # Django and the apps, loaded


def test_a_web_worker_freezes_once_it_has_loaded_the_application(unfrozen):
    hooks = runpy.run_path(str(ROOT / "mifumo/gunicorn.conf.py"))

    hooks["post_worker_init"](worker=None)

    assert gc.get_freeze_count() > 100_000
