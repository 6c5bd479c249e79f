"""A real Celery worker process, for the tests that need one: on the test database, Redis and
broker, one process (the solo pool), quiet."""

import os
import subprocess
import sys
from pathlib import Path

from django.conf import settings
from django.db import connection

ROOT = Path(__file__).resolve().parents[1]


def start_worker(queues: str, env: dict[str, str] | None = None) -> subprocess.Popen:
    """A worker taking `queues` (comma-separated), with `env` added to its environment."""
    database = connection.settings_dict
    environment = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "mifumo.settings",
        "DATABASE_URL": f"postgres://{database['USER']}@{database['HOST']}:{database['PORT']}/"
        f"{database['NAME']}",
        "REDIS_URL": settings.REDIS_URL,
        "CELERY_BROKER_URL": settings.CELERY_BROKER_URL,
        **(env or {}),
    }
    command = [sys.executable, "-m", "celery", "-A", "mifumo", "worker", "-Q", queues]
    return subprocess.Popen(
        [*command, "-P", "solo", "-l", "warning", "--without-heartbeat", "--without-gossip"],
        cwd=ROOT,
        env=environment,
        stdout=subprocess.DEVNULL,
    )
