"""Calls that race: one function run in many threads released together, as concurrent requests
or workers would arrive. Each thread uses its own database connection and closes it after, so
the tests that race need committed data (tests.conftest.committed)."""

import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import TypeVar

from django.db import connection

T = TypeVar("T")


def at_once(work: Callable[[int], T], workers: int) -> list[T]:
    """`work(0)` ... `work(workers - 1)`, each in its own thread, all started at the same moment;
    their results in order (an exception in one is raised here)."""
    start = threading.Barrier(workers)

    def run(index: int) -> T:
        try:
            start.wait(timeout=30)
            return work(index)
        finally:
            connection.close()

    with ThreadPoolExecutor(max_workers=workers) as pool:
        return list(pool.map(run, range(workers)))
