"""Audience benchmarks (issue 3): a 1,000,000-row contact import through the job path against
a raw COPY + upsert of the same rows, then list search and segment counts over 1M contacts.

The import here is the job called in-process (its log line says where its time went); the
figure users see, the same file uploaded to the API of the `make run` stack and polled until
done, is bench/import_http.py's.

Runs in-process against a separate database (BENCH_DATABASE_URL, default mifumo_bench) on a
tenant it creates afresh. Usage: `make bench` (or .venv/bin/python bench/audience.py [rows]).
"""

import os
import random
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
from environment import bench_environment  # noqa: E402

os.environ.update(
    bench_environment(),
    MEDIA_ROOT=tempfile.mkdtemp(prefix="mifumo-bench-media-"),
)

import django  # noqa: E402

django.setup()

from django.core.files.base import ContentFile  # noqa: E402
from django.core.management import call_command  # noqa: E402
from django.db import connection  # noqa: E402
from django_tenants.utils import schema_context, tenant_context  # noqa: E402
from import_floor import copy_upsert_floor  # noqa: E402
from load import checkpoint  # noqa: E402
from rest_framework.test import APIClient  # noqa: E402
from rest_framework_simplejwt.tokens import AccessToken  # noqa: E402

from accounts.models import User  # noqa: E402
from messaging.models import Contact, ContactImport, Segment  # noqa: E402
from messaging.services import imports  # noqa: E402
from messaging.services.segments import segment_count_refresh, segment_create  # noqa: E402
from tenants.models import Tenant  # noqa: E402
from tenants.services import tenant_create  # noqa: E402

ROWS = int(sys.argv[1]) if len(sys.argv) > 1 else 1_000_000
SUBDOMAIN = "bench-audience"
TAGS = ["vip", "retail", "wholesale", "farmer", "student", "trader"]
CITIES = ["Dar", "Arusha", "Mwanza", "Dodoma", "Mbeya", "Moshi", "Tanga", "Zanzibar"]
FIRST = ["Asha", "Juma", "Neema", "Baraka", "Zawadi", "Amani", "Rehema", "Musa", "Upendo"]


def make_csv(rows: int) -> bytes:
    rng = random.Random(7)
    lines = ["name,phone,tags,city"]
    for n in range(rows):
        tags = ";".join(rng.sample(TAGS, rng.randint(0, 2)))
        spelling = f"+2557{n:08d}" if n % 3 else f"07{n:08d}"
        lines.append(f"{rng.choice(FIRST)} {n},{spelling},{tags},{rng.choice(CITIES)}")
    return ("\n".join(lines) + "\n").encode()


def fresh_tenant() -> Tenant:
    call_command("ensure_services")  # creates the bench database on a fresh machine
    call_command("migrate_all", verbosity=0)
    with schema_context("public"):
        old = Tenant.objects.filter(subdomain=SUBDOMAIN).first()
        if old is not None:
            old.delete(force_drop=True)
        owner, _ = User.objects.get_or_create(
            email="bench-audience@mifumo.local", defaults={"is_active": True}
        )
        return tenant_create(owner=owner, name="Bench Audience", subdomain=SUBDOMAIN)


def job_import(tenant: Tenant, raw: bytes) -> float:
    with tenant_context(tenant):
        job = ContactImport(file_format="csv")  # the job counts its rows itself
        job.file.save(f"{job.id}.csv", ContentFile(raw), save=False)
        job.save()
        checkpoint()
        started = time.perf_counter()
        imports.contact_import_run(import_id=str(job.id), region="TZ")
        elapsed = time.perf_counter() - started
        job.refresh_from_db()
        assert job.status == ContactImport.Status.COMPLETED, job.failure
        assert job.imported_count == ROWS, (job.imported_count, job.skipped_count, job.errors[:3])
    return elapsed


def list_search_p95(tenant: Tenant) -> tuple[float, float]:
    with schema_context("public"):
        owner = tenant.memberships.get().user
    client = APIClient(SERVER_NAME="localhost")
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {AccessToken.for_user(owner)}")
    rng = random.Random(3)
    terms = [f"{rng.choice(FIRST)} {rng.randint(0, ROWS - 1)}" for _ in range(60)]
    terms += [str(rng.randint(10_000_000, 99_999_999))[:6] for _ in range(60)]
    timings = []
    for term in terms:
        started = time.perf_counter()
        response = client.get("/api/messaging/contacts/", {"search": term})
        timings.append((time.perf_counter() - started) * 1000)
        assert response.status_code == 200, response.content
    timings.sort()
    return statistics.median(timings), timings[int(len(timings) * 0.95) - 1]


def segment_counts(tenant: Tenant) -> dict[str, float]:
    figures = {}
    with tenant_context(tenant):
        for name, filter_json in [
            ("tags any (vip)", {"tags": ["vip"]}),
            ("tags all (vip, retail)", {"tags_all": ["vip", "retail"]}),
            ("attribute city=Arusha", {"attributes": {"city": "Arusha"}}),
            ("is_active, opted out", {"is_active": True, "is_opted_in": False}),
        ]:
            segment = segment_create(name=name, filter_json=filter_json)
            runs = []
            for _ in range(5):
                started = time.perf_counter()
                segment_count_refresh(segment=segment)
                runs.append((time.perf_counter() - started) * 1000)
            started = time.perf_counter()
            Segment.objects.get(pk=segment.pk).contact_count  # noqa: B018 -- the stored read
            figures[name] = (statistics.median(runs), (time.perf_counter() - started) * 1000)
    return figures


def main():
    print(f"generating {ROWS:,} rows ...", flush=True)
    raw = make_csv(ROWS)
    tenant = fresh_tenant()
    print(f"file: {len(raw) / 1e6:.1f} MB", flush=True)
    floor = copy_upsert_floor(tenant, raw)
    took = job_import(tenant, raw)
    with tenant_context(tenant):
        connection.cursor().execute("ANALYZE messaging_contact")
        assert Contact.objects.count() == ROWS
    print(f"import job path: {took:.1f} s ({ROWS / took:,.0f} rows/s)   target <= 20 s")
    print(
        f"raw COPY + upsert of the same rows: {floor:.1f} s; ratio {took / floor:.2f}x   "
        "target <= 2.5x"
    )
    median, p95 = list_search_p95(tenant)
    print(
        f"contact list with search over {ROWS:,}: median {median:.0f} ms, p95 {p95:.0f} ms   "
        "target p95 < 100 ms"
    )
    for name, (recount, stored) in segment_counts(tenant).items():
        print(
            f"segment '{name}': recount {recount:.0f} ms, stored count read {stored:.1f} ms   "
            "target < 50 ms"
        )


if __name__ == "__main__":
    main()
