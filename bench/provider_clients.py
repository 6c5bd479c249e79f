"""What a Beem send request costs the process that sends it, by HTTP client: the fake Beem in a
process of its own, and in this one the same personalised requests (one recipient, a distinct
text each) sent 16 in flight, as a send worker does, through

- `curl`: sms.providers.http_pool, libcurl's multi interface driven from one thread (what the
  send workers use);
- `urllib3`: a thread per request in flight sharing one urllib3 pool (what they used before).

    .venv/bin/python bench/provider_clients.py [--requests 20000] [--in-flight 16]

Prints, per client, the wall time and this process's CPU time (user + system) per request.
"""

import argparse
import json
import resource
import subprocess
import sys
import threading
import time
from pathlib import Path

import requests
import urllib3

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from sms.providers.http_pool import (  # noqa: E402
    HttpAnswer,
    HttpPool,
    HttpRequest,
    basic_authorization,
)
from tests.fakes.beem import API_KEY, SECRET_KEY, SEND_PATH  # noqa: E402

PORT = 9917
URL = f"http://127.0.0.1:{PORT}{SEND_PATH}"
HEADERS = {
    "Authorization": basic_authorization(API_KEY, SECRET_KEY),
    "Content-Type": "application/json",
}


def bodies(count: int) -> list[bytes]:
    return [
        json.dumps(
            {
                "source_addr": "Taarifa",
                "encoding": 0,
                "schedule_time": "",
                "message": f"Habari Mteja {n}, ofa ya wiki Dar: punguzo la 20%!",
                "recipients": [{"recipient_id": f"ref-{n}", "dest_addr": "255712345678"}],
            }
        ).encode()
        for n in range(count)
    ]


def with_curl(payloads: list[bytes], in_flight: int) -> int:
    pool = HttpPool(size=in_flight, timeout=10, headers=HEADERS)
    answers = pool.run([HttpRequest("POST", URL, body) for body in payloads])
    return sum(1 for a in answers if isinstance(a, HttpAnswer) and a.status == 200)


def with_urllib3(payloads: list[bytes], in_flight: int) -> int:
    http = urllib3.PoolManager(maxsize=in_flight, retries=False, headers=HEADERS)
    positions = iter(range(len(payloads)))  # shared: next() on it is atomic under the GIL
    statuses = [0] * len(payloads)

    def send_until_done() -> None:
        for position in positions:
            statuses[position] = http.request("POST", URL, body=payloads[position]).status

    threads = [threading.Thread(target=send_until_done) for _ in range(in_flight)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return statuses.count(200)


def cpu_seconds() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--requests", type=int, default=20_000)
    parser.add_argument("--in-flight", type=int, default=16)
    chosen = parser.parse_args()
    payloads = bodies(chosen.requests)
    fake = subprocess.Popen(
        [sys.executable, "-m", "tests.fakes.beem", "--port", str(PORT)],
        cwd=ROOT,
        stdout=subprocess.DEVNULL,
    )
    try:
        for _ in range(100):
            try:
                requests.get(f"http://127.0.0.1:{PORT}/", timeout=1)
                break
            except requests.ConnectionError:
                time.sleep(0.1)
        for name, send in (("curl", with_curl), ("urllib3", with_urllib3)):
            cpu, started = cpu_seconds(), time.perf_counter()
            accepted = send(payloads, chosen.in_flight)
            wall, cpu = time.perf_counter() - started, cpu_seconds() - cpu
            print(
                f"{name}: {chosen.requests:,} requests, {chosen.in_flight} in flight, "
                f"{accepted:,} accepted, {wall:.2f} s, "
                f"{cpu / chosen.requests * 1e6:.0f} us of CPU a request"
            )
    finally:
        fake.terminate()
        fake.wait()


if __name__ == "__main__":
    main()
