"""Leases that prove a worker is still at work, kept in Redis so every worker and beat see them.

A lease lives SMS_LEASE_SECONDS unless its holder renews it; while a block runs, a heartbeat
thread renews it every SMS_LEASE_RENEW_SECONDS. A worker killed mid-batch stops renewing, so
what it held (its tenant's send slot, the claim on its batch's messages) is known to be
abandoned within SMS_LEASE_SECONDS, not after a guess at how long a batch might take.
"""

import contextlib
import logging
import threading
from collections.abc import Callable, Iterable, Iterator

from django.conf import settings
from django_redis import get_redis_connection

from mifumo.principals import shared_key

logger = logging.getLogger(__name__)


@contextlib.contextmanager
def heartbeat(renew: Callable[[], object]) -> Iterator[None]:
    """Call `renew` every SMS_LEASE_RENEW_SECONDS in a thread while the block runs."""
    stop = threading.Event()

    def beat() -> None:
        while not stop.wait(settings.SMS_LEASE_RENEW_SECONDS):
            try:
                renew()
            except Exception:  # Redis briefly away: the next beat tries again
                logger.warning("Could not renew a lease", exc_info=True)

    thread = threading.Thread(target=beat, name="lease-heartbeat", daemon=True)
    thread.start()
    try:
        yield
    finally:
        stop.set()
        thread.join()


def _claim_key(claim_id: str) -> str:
    return shared_key("sms", "claim", claim_id)


@contextlib.contextmanager
def claim_lease(claim_id: str) -> Iterator[None]:
    """Holds the lease of one batch's claim while the block runs, and ends it after."""
    redis = get_redis_connection("default")
    key = _claim_key(claim_id)
    redis.set(key, 1, ex=settings.SMS_LEASE_SECONDS)
    try:
        with heartbeat(lambda: redis.set(key, 1, ex=settings.SMS_LEASE_SECONDS)):
            yield
    finally:
        redis.delete(key)


def claims_alive(claim_ids: Iterable[str]) -> set[str]:
    """The claims among `claim_ids` whose lease is still held."""
    claim_ids = list(claim_ids)
    if not claim_ids:
        return set()
    redis = get_redis_connection("default")
    held = redis.mget([_claim_key(claim_id) for claim_id in claim_ids])
    return {claim_id for claim_id, value in zip(claim_ids, held, strict=True) if value}
