"""Send-capacity controls of the pipeline, counted in Redis so every worker shares them.

- Per-sender rate: segments per second per sender id (settings.SMS_SENDER_SEGMENTS_PER_SECOND,
  overridden per sender by SMS_SENDER_RATE_LIMITS), as a generic cell rate algorithm with a
  one-second burst. A caller asks for n segments and is told how long to wait first.
- Per-tenant share: a tenant holds at most half of the send workers' slots
  (SMS_SEND_CONCURRENCY // 2, at least one), so one large send cannot starve the others. A slot
  is a lease (sms.leases): renewed while its batch runs, back within seconds of a worker's death.
"""

import contextlib
import time
import uuid
from collections.abc import Iterator

from django.conf import settings
from django_redis import get_redis_connection

from mifumo.principals import shared_key
from sms.leases import heartbeat

# KEYS[1] = the sender's theoretical arrival time; ARGV = segments, rate/s, burst seconds.
# Returns 0 when granted (and books the segments), else the seconds to wait, as a string.
_GCRA = """
local now_parts = redis.call('TIME')
local now = tonumber(now_parts[1]) + tonumber(now_parts[2]) / 1000000
local tat = tonumber(redis.call('GET', KEYS[1]) or '0')
if tat < now then tat = now end
local wait = tat - now - tonumber(ARGV[3])
if wait > 0 then return tostring(wait) end
local new_tat = tat + tonumber(ARGV[1]) / tonumber(ARGV[2])
redis.call('SET', KEYS[1], tostring(new_tat), 'EX', math.ceil(new_tat - now) + 1)
return '0'
"""

# KEYS[1] = the tenant's slot set; ARGV = holder, now, lease expiry, limit. 1 if taken.
_TAKE_SLOT = """
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', ARGV[2])
if redis.call('ZCARD', KEYS[1]) >= tonumber(ARGV[4]) then return 0 end
redis.call('ZADD', KEYS[1], ARGV[3], ARGV[1])
redis.call('EXPIRE', KEYS[1], math.ceil(tonumber(ARGV[3]) - tonumber(ARGV[2])) + 1)
return 1
"""

_BURST_SECONDS = 1.0
_SLOT_POLL_SECONDS = 0.01


def sender_rate(sender: str) -> float:
    return float(
        settings.SMS_SENDER_RATE_LIMITS.get(sender, settings.SMS_SENDER_SEGMENTS_PER_SECOND)
    )


def sender_segments_wait(sender: str, segments: int) -> float:
    """Book `segments` for `sender` if its rate allows now (returns 0), else return the wait."""
    redis = get_redis_connection("default")
    key = shared_key("sms", "sender-rate", sender)
    return float(redis.eval(_GCRA, 1, key, segments, sender_rate(sender), _BURST_SECONDS))


def tenant_slot_limit() -> int:
    concurrency: int = settings.SMS_SEND_CONCURRENCY
    return max(1, concurrency // 2)


@contextlib.contextmanager
def tenant_send_slot(schema_name: str) -> Iterator[bool]:
    """Yields True while this worker holds one of the tenant's send slots, False if they
    stay taken for SMS_SLOT_WAIT_SECONDS. A killed worker's slot frees itself when its lease
    runs out."""
    lease_seconds = settings.SMS_LEASE_SECONDS
    redis = get_redis_connection("default")
    key = shared_key("sms", "tenant-slots", schema_name)
    holder = uuid.uuid4().hex
    # A slot busy with the tenant's previous batch is usually free within a batch's time:
    # waiting that long beats putting the batch back in the queue for a second.
    deadline = time.monotonic() + settings.SMS_SLOT_WAIT_SECONDS
    while True:
        now = time.time()
        taken = redis.eval(
            _TAKE_SLOT, 1, key, holder, now, now + lease_seconds, tenant_slot_limit()
        )
        if taken or time.monotonic() >= deadline:
            break
        time.sleep(_SLOT_POLL_SECONDS)
    if not taken:
        yield False
        return

    def renew() -> None:
        redis.zadd(key, {holder: time.time() + lease_seconds}, xx=True)
        redis.expire(key, lease_seconds + 1)

    try:
        with heartbeat(renew):
            yield True
    finally:
        redis.zrem(key, holder)
