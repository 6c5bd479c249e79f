"""Campaign benchmarks (issue 6), against the fake Beem server:

- 100,000 recipients (the default), personalised then plain: each started in-process, as the
  start API does (the start's own answer time), its messages made by the fan-out task in a
  worker (messages created: from the start until the campaign has its send) and handed over
  by the send workers;
- BENCH_RECIPIENTS=1000000: one personalised campaign scheduled for now and released by beat's
  task in a worker, as a scheduled campaign is in production, to see it complete and read
  every worker process's peak memory.

Runs against a separate database (BENCH_DATABASE_URL, default mifumo_bench) on a tenant it
creates afresh; BENCH_WORKERS worker processes (default 2) take the `sends` and `default`
queues. Usage: `make bench`, or .venv/bin/python bench/campaigns.py.
"""

import os
import secrets
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.update(
    DEBUG="false",
    SECRET_KEY=secrets.token_urlsafe(50),
    DATABASE_URL=os.environ.get(
        "BENCH_DATABASE_URL", "postgres://postgres@127.0.0.1:5432/mifumo_bench"
    ),
    REDIS_URL=os.environ.get("BENCH_REDIS_URL", "redis://127.0.0.1:6379/9"),
    DJANGO_SETTINGS_MODULE="mifumo.settings",
    SMS_SENDER_SEGMENTS_PER_SECOND="1000000",
    SMS_PROVIDER="beem",
    BEEM_API_KEY="test-api-key",
    BEEM_SECRET_KEY="test-secret-key",
)

import django  # noqa: E402

django.setup()

from django.core.management import call_command  # noqa: E402
from django.db import connection  # noqa: E402
from django.utils import timezone  # noqa: E402
from django_tenants.utils import tenant_context  # noqa: E402

from accounts.models import User  # noqa: E402
from billing.services import credit_add  # noqa: E402
from messaging.models import Campaign, Template  # noqa: E402
from messaging.services.campaign_progress import campaign_counters_refresh  # noqa: E402
from messaging.services.campaigns import campaign_create, campaign_start  # noqa: E402
from messaging.tasks import campaigns_advance_all  # noqa: E402
from tenants.models import Tenant  # noqa: E402
from tenants.services import tenant_create  # noqa: E402
from tests.fakes.beem import FakeBeem  # noqa: E402

RECIPIENTS = int(os.environ.get("BENCH_RECIPIENTS", "100000"))
MILLION_MODE = RECIPIENTS >= 1_000_000
WORKERS = os.environ.get("BENCH_WORKERS", "2")
SUBDOMAIN = "bench-campaigns"
CITIES = ["Dar", "Arusha", "Mwanza", "Dodoma", "Mbeya", "Moshi", "Tanga", "Zanzibar"]
PERSONALISED = "Habari {{first_name}}, ofa ya wiki {{city}}: punguzo la 20%!"
PLAIN = "Ofa ya wiki: punguzo la 20% kwa bidhaa zote!"
BIN = ROOT / ".venv/bin"


def fresh_tenant() -> Tenant:
    old = Tenant.objects.filter(subdomain=SUBDOMAIN).first()
    if old is not None:
        old.delete(force_drop=True)
    owner, _ = User.objects.get_or_create(
        email="bench-campaigns@mifumo.local",
        defaults={"first_name": "Bench", "phone_number": "+255700000008", "is_active": True},
    )
    tenant = tenant_create(owner=owner, name="Bench Campaigns", subdomain=SUBDOMAIN)
    credit_add(tenant_id=tenant.pk, credits=10 * RECIPIENTS, reason="bench")
    cities = "ARRAY[" + ", ".join(f"'{city}'" for city in CITIES) + "]"
    with tenant_context(tenant), connection.cursor() as cursor:
        cursor.execute(
            f"""
            INSERT INTO messaging_contact (id, name, phone_e164, email, tags, attributes,
                is_active, is_opted_in, opt_out_reason, created_at, updated_at)
            SELECT gen_random_uuid(), 'Mteja ' || n, '+2557' || lpad(n::text, 8, '0'), '',
                ARRAY['promo'], jsonb_build_object('city', ({cities})[n %% 8 + 1]),
                true, false, '', now(), now()
            FROM generate_series(0, %s - 1) AS n
            """,  # noqa: S608 (constants only)
            [RECIPIENTS],
        )
        cursor.execute("ANALYZE messaging_contact")
    return tenant


def new_campaign(tenant: Tenant, *, personalised: bool, scheduled_at=None):
    template = None
    if personalised:
        template = Template.objects.create(name="Bench", content=PERSONALISED)
    return campaign_create(
        tenant=tenant,
        data={
            "name": "Bench",
            "message_text": "" if personalised else PLAIN,
            "template": template,
            "target_criteria": {"tags": ["promo"]},
            "scheduled_at": scheduled_at,
        },
    )


def messages_created(campaign: Campaign, started: float) -> float:
    """Seconds from `started` until the campaign's fan-out (a task in the workers) committed
    its send."""
    deadline = time.perf_counter() + 600
    while time.perf_counter() < deadline:
        current = Campaign.objects.get(pk=campaign.pk)
        if current.send_request_id is not None:
            return time.perf_counter() - started
        if current.status == Campaign.Status.FAILED:
            sys.exit(f"the campaign failed: {current.failure_reason}")
        time.sleep(0.02)
    sys.exit("the campaign's messages were not made in time")


def handed_over(beem: FakeBeem, already: int, started: float) -> float:
    deadline = time.perf_counter() + 1800
    while beem.accepted_count - already < RECIPIENTS and time.perf_counter() < deadline:
        time.sleep(0.05)
    if beem.accepted_count - already < RECIPIENTS:
        sys.exit(f"only {beem.accepted_count - already} of {RECIPIENTS} handed over in time")
    return time.perf_counter() - started


def started_in_process(tenant, beem: FakeBeem, *, personalised: bool) -> dict:
    with tenant_context(tenant):
        campaign = new_campaign(tenant, personalised=personalised)
        already = beem.accepted_count
        started = time.perf_counter()
        campaign_start(campaign=campaign, tenant=tenant)
        answered = time.perf_counter() - started
        created = messages_created(campaign, started)
    return {
        "start_s": answered,
        "create_s": created,
        "total_s": handed_over(beem, already, started),
    }


def released_by_beat(tenant, beem: FakeBeem) -> dict:
    """Scheduled for now and started by beat's task in a worker, as in production."""
    with tenant_context(tenant):
        campaign = new_campaign(tenant, personalised=True, scheduled_at=timezone.now())
    started = time.perf_counter()
    campaigns_advance_all.delay()
    total = handed_over(beem, 0, started)
    time.sleep(2)  # the last batches' records
    with tenant_context(tenant):
        campaign = campaign_counters_refresh(campaign=Campaign.objects.get(pk=campaign.pk))
    return {"total_s": total, "campaign": campaign}


def peak_memory_mb(parent_pid: int) -> dict[int, float]:
    """Each worker process's peak resident memory (VmHWM), the pool parent's included."""
    pids = [parent_pid]
    for status in Path("/proc").glob("[0-9]*/status"):
        try:
            text = status.read_text()
        except OSError:
            continue
        if f"\nPPid:\t{parent_pid}\n" in text:
            pids.append(int(status.parent.name))
    peaks = {}
    for pid in pids:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                peaks[pid] = int(line.split()[1]) / 1024
    return peaks


def main():
    call_command("ensure_services")
    call_command("migrate_all", verbosity=0)
    tenant = fresh_tenant()
    with connection.cursor() as cursor:
        cursor.execute("CHECKPOINT")
    connection.close()
    with FakeBeem() as beem:
        env = {**os.environ, "BEEM_SEND_URL": beem.send_url, "SMS_SEND_CONCURRENCY": WORKERS}
        command = [str(BIN / "celery"), "-A", "mifumo", "worker", "-Q", "sends,default"]
        workers = subprocess.Popen(
            [*command, "-c", WORKERS, "-l", "warning", "--without-gossip"], cwd=ROOT, env=env
        )
        try:
            time.sleep(3)
            if MILLION_MODE:
                results = {"personalised, scheduled": released_by_beat(tenant, beem)}
            else:
                results = {
                    kind: started_in_process(tenant, beem, personalised=kind == "personalised")
                    for kind in ("personalised", "plain")
                }
            peaks = peak_memory_mb(workers.pid)
        finally:
            workers.terminate()
            workers.wait()
    for kind, figures in results.items():
        print(f"{RECIPIENTS} recipients, {kind}:")
        if "start_s" in figures:
            print(f"  start answered in {figures['start_s'] * 1000:.0f} ms (target < 300 ms)")
            print(f"  messages created {figures['create_s']:.2f} s after start (target <= 3 s)")
        target = {"personalised": " (target <= 30 s)", "plain": " (target <= 20 s)"}
        print(f"  all handed to the fake Beem in {figures['total_s']:.2f} s{target.get(kind, '')}")
        if "campaign" in figures:
            campaign = figures["campaign"]
            print(f"  campaign {campaign.status}: {campaign.sent_count} sent, "
                  f"{campaign.failed_count} failed")  # fmt: skip
    print(
        f"worker peak memory (MB, {WORKERS} pool processes + their parent): "
        + ", ".join(f"{peak:.0f}" for peak in sorted(peaks.values()))
        + " (target < 300)"
    )


if __name__ == "__main__":
    main()
