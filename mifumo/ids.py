"""Time-ordered ids (UUIDv7, RFC 9562) for rows written in bulk: ids made together ascend, so
a bulk insert appends to the primary-key index and a batch of them sits together in it."""

import itertools
import secrets
import time


def uuid7_head() -> str:
    """The first 17 hex digits of a bulk write's ids: this millisecond, the version, 12 random
    bits and the variant. Each row adds a counter (so the ids ascend) and 28 random bits."""
    return f"{time.time_ns() // 1_000_000:012x}7{secrets.randbits(12):03x}8"


def uuid7_ids():
    """Ascending UUIDv7 ids, as strings, for as long as they are asked for."""
    head, tail = uuid7_head(), f"{secrets.randbits(28):07x}"
    prefix = f"{head[:8]}-{head[8:12]}-{head[12:16]}-{head[16]}"
    for n in itertools.count():
        counter = f"{n:08x}"
        yield f"{prefix}{counter[:3]}-{counter[3:]}{tail}"
