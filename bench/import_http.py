"""The contact import as a user makes it (issue 16): a 1,000,000-row CSV uploaded to
`POST /api/messaging/contacts/bulk-import/` on the `make run` stack, then its job polled until it
reads `completed`, against the floor of the same run: `COPY` of the same rows already normalised
into a scratch table with the contacts' indexes (a unique phone), then `INSERT ... ON CONFLICT`.

The stack is the one `make run` starts: this script runs `scripts/run.sh` itself (gunicorn,
the Celery worker and beat, with `.env`'s settings, DEBUG among them) on BENCH_PORT, against a
separate database (BENCH_DATABASE_URL, default mifumo_bench; Redis BENCH_REDIS_URL) and a
temporary MEDIA_ROOT, on a tenant it creates afresh, and stops it at the end. The file has
distinct names and a third of its phones in local spelling (`07...`).

The figure runs from the start of the upload to the poll that reads `completed` (every
POLL_SECONDS); the stages come from the job's timestamps and the worker's own log line.
Usage: `make bench`, or .venv/bin/python bench/import_http.py [rows].
"""

import os
import random
import re
import secrets
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from datetime import datetime
from pathlib import Path

import requests
from urllib3 import encode_multipart_formdata

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
PORT = int(os.environ.get("BENCH_PORT", "8769"))
BASE = f"http://127.0.0.1:{PORT}"
SCRATCH = Path(tempfile.mkdtemp(prefix="mifumo-bench-import-"))
# What the stack must share with this process (the token's key, the database) or must not
# share with `make run` (its broker, its files); everything else it reads from .env.
REDIS_URL = os.environ.get("BENCH_REDIS_URL", "redis://127.0.0.1:6379/9")
STACK_ENV = {
    "SECRET_KEY": secrets.token_urlsafe(50),
    "DATABASE_URL": os.environ.get(
        "BENCH_DATABASE_URL", "postgres://postgres@127.0.0.1:5432/mifumo_bench"
    ),
    "REDIS_URL": REDIS_URL,
    "CELERY_BROKER_URL": REDIS_URL,
    "MEDIA_ROOT": str(SCRATCH / "media"),
    "RUN_DIR": str(SCRATCH / "run"),
    "PORT": str(PORT),
}
os.environ.update(STACK_ENV, DJANGO_SETTINGS_MODULE="mifumo.settings")

import django  # noqa: E402

django.setup()

from django.conf import settings  # noqa: E402
from django.core.management import call_command  # noqa: E402
from django_tenants.utils import schema_context, tenant_context  # noqa: E402
from import_floor import copy_upsert_floor  # noqa: E402
from load import checkpoint  # noqa: E402
from rest_framework_simplejwt.tokens import AccessToken  # noqa: E402

from accounts.models import User  # noqa: E402
from messaging.models import Contact, ContactImport  # noqa: E402
from tenants.models import Tenant  # noqa: E402
from tenants.services import tenant_create  # noqa: E402

ROWS = int(sys.argv[1]) if len(sys.argv) > 1 else 1_000_000
SUBDOMAIN = "bench-imports"
POLL_SECONDS = 0.2
STACK_START_SECONDS = 180
WORKER_LOG = re.compile(
    rb"Contact import [-0-9a-f]+: \d+ rows read and counted in ([\d.]+) s, merged in ([\d.]+) s "
    rb"\(([\d.]+) s of it waiting for validation\)"
)
TAGS = ["vip", "retail", "wholesale", "farmer", "student", "trader"]
CITIES = ["Dar", "Arusha", "Mwanza", "Dodoma", "Mbeya", "Moshi", "Tanga", "Zanzibar"]
FIRST = ["Asha", "Juma", "Neema", "Baraka", "Zawadi", "Amani", "Rehema", "Musa", "Upendo"]
LAST = ["Mushi", "Kimaro", "Swai", "Mollel", "Lyimo", "Massawe", "Temu", "Shirima", "Urio"]


def make_csv(rows: int) -> bytes:
    """Distinct names; a third of the phones in local spelling (`07...`), the rest E.164."""
    rng = random.Random(7)
    lines = ["name,phone,tags,city"]
    for n in range(rows):
        tags = ";".join(rng.sample(TAGS, rng.randint(0, 2)))
        spelling = f"+2557{n:08d}" if n % 3 else f"07{n:08d}"
        name = f"{rng.choice(FIRST)} {rng.choice(LAST)} {n}"
        lines.append(f"{name},{spelling},{tags},{rng.choice(CITIES)}")
    return ("\n".join(lines) + "\n").encode()


def fresh_tenant() -> tuple[Tenant, User]:
    call_command("ensure_services")  # creates the bench database on a fresh machine
    call_command("migrate_all", verbosity=0)
    with schema_context("public"):
        old = Tenant.objects.filter(subdomain=SUBDOMAIN).first()
        if old is not None:
            old.delete(force_drop=True)
        owner, _ = User.objects.get_or_create(
            email="bench-imports@mifumo.local", defaults={"is_active": True}
        )
        tenant = tenant_create(owner=owner, name="Bench Imports", subdomain=SUBDOMAIN)
    return tenant, owner


def stack_start(log) -> subprocess.Popen:
    """scripts/run.sh in a session of its own (stopped with its whole group), returned once the
    web server answers and the worker is ready."""
    env = {**os.environ, **STACK_ENV}
    env.pop("DJANGO_SETTINGS_MODULE")
    stack = subprocess.Popen(
        [str(ROOT / "scripts/run.sh")],
        cwd=ROOT,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    deadline = time.monotonic() + STACK_START_SECONDS
    while time.monotonic() < deadline:
        if stack.poll() is not None:
            sys.exit(f"scripts/run.sh exited with {stack.returncode}; its log: {log.name}")
        if _web_ready() and b" ready." in Path(log.name).read_bytes():
            return stack
        time.sleep(0.2)
    stack_stop(stack)
    sys.exit(f"the stack did not start within {STACK_START_SECONDS} s; its log: {log.name}")


def _web_ready() -> bool:
    try:
        return requests.get(f"{BASE}/api/health/", timeout=1).ok
    except requests.RequestException:  # not listening yet
        return False


def stack_stop(stack: subprocess.Popen) -> None:
    """TERM to the stack's process group, then wait until every process in it has gone."""
    os.killpg(stack.pid, signal.SIGTERM)
    stack.wait(timeout=30)
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            os.killpg(stack.pid, 0)
        except ProcessLookupError:
            return
        time.sleep(0.2)
    os.killpg(stack.pid, signal.SIGKILL)


def import_over_http(token: str, raw: bytes) -> dict:
    """Upload, then poll every POLL_SECONDS until the job is completed."""
    body, content_type = encode_multipart_formdata({"file": ("contacts.csv", raw, "text/csv")})
    headers = {"Authorization": f"Bearer {token}"}
    session = requests.Session()
    checkpoint()
    started = time.time()
    response = session.post(
        f"{BASE}/api/messaging/contacts/bulk-import/",
        data=body,
        headers={**headers, "Content-Type": content_type},
        timeout=120,
    )
    answered = time.time()
    assert response.status_code == 202, response.text[:500]
    job_url = f"{BASE}/api/messaging/contacts/bulk-import/{response.json()['data']['id']}/"
    polls = 0
    while True:
        polls += 1
        job = session.get(job_url, headers=headers, timeout=30).json()["data"]
        if job["status"] in (ContactImport.Status.COMPLETED, ContactImport.Status.FAILED):
            break
        time.sleep(POLL_SECONDS)
    seen = time.time()
    assert job["status"] == ContactImport.Status.COMPLETED, job["failure"]
    assert job["counts"]["imported_count"] == ROWS, job["counts"]
    return {
        "started": started,
        "answered": answered,
        "created": _epoch(job["created_at"]),
        "worker_started": _epoch(job["started_at"]),
        "finished": _epoch(job["finished_at"]),
        "seen": seen,
        "polls": polls,
    }


def _epoch(stamp: str) -> float:
    return datetime.fromisoformat(stamp.replace("Z", "+00:00")).timestamp()


def main():
    print(f"generating {ROWS:,} rows ...", flush=True)
    raw = make_csv(ROWS)
    tenant, owner = fresh_tenant()
    print(f"file: {len(raw) / 1e6:.1f} MB; load average before: {os.getloadavg()[0]:.2f}")
    floor_seconds = copy_upsert_floor(tenant, raw)
    log_path = SCRATCH / "stack.log"
    with log_path.open("wb") as log:
        stack = stack_start(log)
        try:
            t = import_over_http(str(AccessToken.for_user(owner)), raw)
        except BaseException:
            print(f"the stack's log: {log_path}")
            raise
        finally:
            stack_stop(stack)
    worker = WORKER_LOG.search(log_path.read_bytes())
    shutil.rmtree(SCRATCH)
    with tenant_context(tenant):
        assert Contact.objects.count() == ROWS
    took = t["seen"] - t["started"]
    print(f"stack: scripts/run.sh on port {PORT}, DEBUG {'on' if settings.DEBUG else 'off'}")
    print("  seconds from the start of the upload:")
    print(f"  {t['created'] - t['started']:6.2f}  the request has read, checked and kept the file")
    print(f"  {t['answered'] - t['started']:6.2f}  the upload is answered (202)")
    print(f"  {t['worker_started'] - t['started']:6.2f}  a worker has claimed the job")
    if worker:
        count, merge, waited = (float(figure) for figure in worker.groups())
        print(f"          (read and counted in {count:.2f} s, merged in {merge:.2f} s,")
        print(f"           {waited:.2f} s of it waiting for validation)")
    print(f"  {t['finished'] - t['started']:6.2f}  the job is completed")
    print(f"  {took:6.2f}  a poll reads `completed` ({t['polls']} polls, every {POLL_SECONDS} s)")
    print(
        f"{ROWS:,}-row CSV over HTTP, upload to `completed`: {took:.1f} s ({ROWS / took:,.0f} "
        "rows/s)   target <= 20 s"
    )
    print(
        "floor, COPY + INSERT ... ON CONFLICT of the same rows normalised (same indexes, same "
        f"run): {floor_seconds:.1f} s; ratio {took / floor_seconds:.2f}x   target <= 2.5x"
    )


if __name__ == "__main__":
    main()
