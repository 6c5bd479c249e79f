"""The provider half of a campaign benchmark's floor: a minimal keep-alive client that replays
recorded send requests (the same bodies, in the same order) at a given concurrency and prints
how long the provider took to answer them all.

    .venv/bin/python bench/provider_replay.py URL BODIES --concurrency N --user U --password P

BODIES holds one JSON request body a line. They go out through the send workers' own HTTP
client (sms.providers.http_pool: libcurl's multi interface, `concurrency` requests in flight on
as many kept-alive connections, the next sent as soon as an answer is read): no database, no
rendering, no bookkeeping, so what is left is the client's HTTP and the provider's answer. It
runs in a process of its own, as the send workers do, so it does not share the interpreter (and
its GIL) with a fake provider served from the benchmark's process. Prints one JSON object:
seconds, requests, failures (answers other than HTTP 200).
"""

import argparse
import json
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from sms.providers.http_pool import HttpAnswer, HttpPool, HttpRequest, basic_authorization


def replay(*, url: str, bodies: list[bytes], concurrency: int, user: str, password: str) -> dict:
    pool = HttpPool(
        size=concurrency,
        timeout=60,
        headers={
            "Authorization": basic_authorization(user, password),
            "Content-Type": "application/json",
        },
    )
    requests = [HttpRequest("POST", url, body) for body in bodies]
    started = time.perf_counter()
    answers = pool.run(requests)
    seconds = time.perf_counter() - started
    failures = sum(1 for a in answers if not (isinstance(a, HttpAnswer) and a.status == 200))
    return {"seconds": seconds, "requests": len(bodies), "failures": failures}


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("url")
    parser.add_argument("bodies", type=Path)
    parser.add_argument("--concurrency", type=int, required=True)
    parser.add_argument("--user", required=True)
    parser.add_argument("--password", required=True)
    options = parser.parse_args()
    bodies = [line for line in options.bodies.read_bytes().split(b"\n") if line]
    result = replay(
        url=options.url,
        bodies=bodies,
        concurrency=max(1, options.concurrency),
        user=options.user,
        password=options.password,
    )
    print(json.dumps(result), flush=True)


if __name__ == "__main__":
    main()
