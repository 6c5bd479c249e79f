"""Send-capacity controls of the pipeline, counted in Redis so every worker shares them.

- Per-sender rate: segments per second per sender id (settings.SMS_SENDER_SEGMENTS_PER_SECOND,
  overridden per sender by SMS_SENDER_RATE_LIMITS), as a generic cell rate algorithm with a
  one-second burst. A caller asks for n segments and is told how long to wait first.
- Per-tenant share, work-conserving: a batch runs while its tenant holds a send slot, and a
  tenant may hold SMS_SEND_CONCURRENCY // (the tenants wanting to send) of them, at least one.
  A tenant wants to send while it holds a slot or asked for one within SMS_SLOT_DEMAND_SECONDS
  (longer than a refused batch's SMS_SLOT_RETRY_SECONDS in the queue). Alone it takes every
  send worker; when others wait, none takes more than its share. A holder beyond a share that
  shrank is not cut off: it finishes its batch, about a second, and its next ask is refused.
  A slot is a lease (sms.leases): renewed while its batch runs, back within SMS_LEASE_SECONDS
  of a worker's death.
"""

import contextlib
import math
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

# KEYS[1] = the slots held, each `holder:tenant` (the holder is 32 hex digits) scored by its
# lease's expiry; KEYS[2] = the tenants that asked, scored by their latest ask.
# ARGV = slot, tenant, now, lease expiry, SMS_SEND_CONCURRENCY, demand seconds. 1 if taken.
_TAKE_SLOT = """
local now, window = tonumber(ARGV[3]), tonumber(ARGV[6])
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now)
redis.call('ZREMRANGEBYSCORE', KEYS[2], '-inf', now - window)
redis.call('ZADD', KEYS[2], now, ARGV[2])
redis.call('EXPIRE', KEYS[2], math.ceil(window) + 1)
local wanting, mine, counted = redis.call('ZCARD', KEYS[2]), 0, {}
for _, slot in ipairs(redis.call('ZRANGE', KEYS[1], 0, -1)) do
  local tenant = string.sub(slot, 34)
  if tenant == ARGV[2] then mine = mine + 1 end
  if not counted[tenant] and not redis.call('ZSCORE', KEYS[2], tenant) then
    wanting = wanting + 1
  end
  counted[tenant] = true
end
if mine >= math.max(1, math.floor(tonumber(ARGV[5]) / wanting)) then return 0 end
redis.call('ZADD', KEYS[1], ARGV[4], ARGV[1])
redis.call('EXPIRE', KEYS[1], math.ceil(tonumber(ARGV[4]) - now) + 1)
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


@contextlib.contextmanager
def tenant_send_slot(schema_name: str) -> Iterator[bool]:
    """Yields True while this worker holds one of the tenant's send slots, False if its share
    stays taken for SMS_SLOT_WAIT_SECONDS. Each ask counts the tenant as wanting to send for
    SMS_SLOT_DEMAND_SECONDS, shrinking the others' shares. A killed worker's slot frees itself
    when its lease runs out."""
    lease_seconds = settings.SMS_LEASE_SECONDS
    redis = get_redis_connection("default")
    slots, demand = shared_key("sms", "send-slots"), shared_key("sms", "send-demand")
    slot = f"{uuid.uuid4().hex}:{schema_name}"
    # A slot busy with the tenant's previous batch is usually free within a batch's time:
    # waiting that long beats putting the batch back in the queue for a second.
    deadline = time.monotonic() + settings.SMS_SLOT_WAIT_SECONDS
    while True:
        now = time.time()
        taken = redis.eval(
            _TAKE_SLOT,
            2,
            slots,
            demand,
            slot,
            schema_name,
            now,
            now + lease_seconds,
            settings.SMS_SEND_CONCURRENCY,
            settings.SMS_SLOT_DEMAND_SECONDS,
        )
        if taken or time.monotonic() >= deadline:
            break
        time.sleep(_SLOT_POLL_SECONDS)
    if not taken:
        yield False
        return

    def renew() -> None:
        redis.zadd(slots, {slot: time.time() + lease_seconds}, xx=True)
        redis.expire(slots, math.ceil(lease_seconds) + 1)

    try:
        with heartbeat(renew):
            yield True
    finally:
        redis.zrem(slots, slot)
