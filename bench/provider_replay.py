"""The provider half of a campaign benchmark's floor: a minimal keep-alive client that replays
recorded send requests (the same bodies, in the same order) at a given concurrency and prints
how long the provider took to answer them all.

    .venv/bin/python bench/provider_replay.py URL BODIES --concurrency N --user U --password P

BODIES holds one JSON request body a line. `concurrency` threads share one urllib3 pool of as
many kept-alive connections, each thread taking the next body as soon as its answer is read: no
database, no rendering, no bookkeeping, so what is left is the client's HTTP and the provider's
answer. It runs in a process of its own, as the send workers do, so it does not share the
interpreter (and its GIL) with a fake provider served from the benchmark's process. Prints one
JSON object: seconds, requests, failures (answers other than HTTP 200).
"""

import argparse
import json
import threading
import time
from pathlib import Path
from urllib.parse import urlsplit

import urllib3


def replay(*, url: str, bodies: list[bytes], concurrency: int, user: str, password: str) -> dict:
    target = urlsplit(url)
    pool = urllib3.HTTPConnectionPool(
        target.hostname, target.port, maxsize=concurrency, block=True, retries=False
    )
    headers = urllib3.make_headers(basic_auth=f"{user}:{password}", keep_alive=True)
    headers["Content-Type"] = "application/json"
    pending = iter(bodies)
    lock = threading.Lock()
    failures = [0] * concurrency

    def post_all(worker: int) -> None:
        while True:
            with lock:
                body = next(pending, None)
            if body is None:
                return
            answer = pool.urlopen("POST", target.path, body=body, headers=headers)
            if answer.status != 200:
                failures[worker] += 1

    threads = [threading.Thread(target=post_all, args=(n,)) for n in range(concurrency)]
    started = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    seconds = time.perf_counter() - started
    pool.close()
    return {"seconds": seconds, "requests": len(bodies), "failures": sum(failures)}


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
