"""Foundation benchmarks: sign-up latency (a tenant schema is cloned in the request) and the
cost of an authenticated request through the tenant middleware.

Runs its own gunicorn on BENCH_PORT against a separate database, so the development data is
untouched. Usage: `make bench` (or .venv/bin/python bench/foundation.py).
"""

import os
import re
import secrets
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path

import requests
from webserver import gunicorn_start

ROOT = Path(__file__).resolve().parent.parent
PORT = int(os.environ.get("BENCH_PORT", "8765"))
BASE = f"http://127.0.0.1:{PORT}"
ENV = {
    **os.environ,
    "DEBUG": "false",
    "SECRET_KEY": secrets.token_urlsafe(50),
    "DATABASE_URL": os.environ.get(
        "BENCH_DATABASE_URL", "postgres://postgres@127.0.0.1:5432/mifumo_bench"
    ),
    "REDIS_URL": os.environ.get("BENCH_REDIS_URL", "redis://127.0.0.1:6379/9"),
    "RATE_LIMIT_AUTH": "100000/min",
    "RATE_LIMIT_VERIFICATION_SMS": "100000/hour",
    "CELERY_TASK_ALWAYS_EAGER": "true",
    "EMAIL_BACKEND": "django.core.mail.backends.locmem.EmailBackend",
    "PORT": str(PORT),
}
PYTHON = str(ROOT / ".venv/bin/python")
SIGNUPS = 30


def manage(*args: str) -> str:
    return subprocess.run(
        [PYTHON, "manage.py", *args], cwd=ROOT, env=ENV, check=True, capture_output=True, text=True
    ).stdout


def signup_latency() -> list[float]:
    run = int(time.time())
    timings = []
    for n in range(SIGNUPS):
        body = {
            "email": f"bench{run}-{n}@example.com",
            "first_name": "Bench",
            "last_name": "User",
            "phone_number": f"+2557{n:08d}",
            "password": "Bench-Password-2026",
            "password_confirm": "Bench-Password-2026",
            "business_name": f"Bench {run} {n}",
        }
        started = time.perf_counter()
        response = requests.post(f"{BASE}/api/auth/register/", json=body, timeout=30)
        timings.append((time.perf_counter() - started) * 1000)
        response.raise_for_status()
    return timings


def access_token() -> str:
    manage(
        "demo_setup",
        "--email",
        "bench@mifumo.local",
        "--password",
        "Bench-Password-2026",
        "--subdomain",
        "bench",
    )
    body = {"email": "bench@mifumo.local", "password": "Bench-Password-2026"}
    response = requests.post(f"{BASE}/api/auth/login/", json=body, timeout=10)
    return response.json()["tokens"]["access"]


def wrk(path: str, token: str) -> dict:
    out = subprocess.run(
        [
            "wrk",
            "-t2",
            "-c16",
            "-d10s",
            "--latency",
            "-H",
            f"Authorization: Bearer {token}",
            f"{BASE}{path}",
        ],
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    percentiles = dict(re.findall(r"^\s+(50|90|99)%\s+([\d.]+\w+)", out, re.M))
    return {"rps": float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1)), **percentiles}


def main():
    if not shutil.which("wrk"):
        sys.exit("wrk is missing: apt-get install -y wrk")
    manage("ensure_services")
    manage("migrate_all", "--verbosity", "0")
    server = gunicorn_start(port=PORT, env=ENV)
    try:
        signups = sorted(signup_latency())
        token = access_token()
        profile = wrk("/api/auth/profile/", token)
        health = wrk("/api/health/", token)
    finally:
        server.terminate()
        server.wait()
    p95 = signups[int(len(signups) * 0.95) - 1]
    print(f"sign-up (user + tenant schema clone + code), {SIGNUPS} sequential requests:")
    print(f"  median {statistics.median(signups):.0f} ms, p95 {p95:.0f} ms")
    print("GET /api/auth/profile/ (JWT + tenant middleware), wrk 2 threads 16 connections:")
    print(_load_line(profile))
    print("GET /api/health/ (no auth: the stack's own floor), same load:")
    print(_load_line(health))


def _load_line(result: dict) -> str:
    return (
        f"  {result['rps']:.0f} req/s, p50 {result['50']}, p90 {result['90']}, p99 {result['99']}"
    )


if __name__ == "__main__":
    main()
