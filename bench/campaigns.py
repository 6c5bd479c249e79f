"""Campaign benchmarks (issues 6 and 16): a campaign to a tag of contacts, from its start until
the fake Beem server has accepted its last recipient, beside the floor of the same run.

The contacts look like a user's: each has a distinct name (a first name, a father's name and a
family name from Tanzanian name lists, distinct up to about a million contacts) and a `city`.
So a personalised campaign (`Habari {{name}}, ...`) has one text per contact and costs one Beem
request per recipient, as a real one does; a plain campaign shares one text, 500 recipients a
request. The distinct texts and the send requests are counted at the fake and printed, so the
figure says what was sent.

Each figure is printed beside its floor, measured in the same run right after the campaign:

- the provider requests: the bodies the fake received during the campaign (recorded as they
  came), replayed by a minimal keep-alive client (bench/provider_replay.py, a process of its
  own, as a send worker is) at the concurrency the campaign had: the most requests the fake
  saw in flight at once;
- the rows: an `INSERT ... SELECT` of the campaign's messages into a scratch table with the
  same columns and indexes (dropped after).

`figure / floor` is what the pipeline costs beyond sending the same requests at the same
concurrency and writing the same rows once.

Modes:

- started (contacts below 1,000,000): a personalised campaign, then a plain one (`--kinds`),
  each started in-process as the start API starts it (the start's own answer time), its
  messages made by the fan-out task in a worker and handed over by the send workers;
- scheduled (`--scheduled`, the default at 1,000,000 contacts): one campaign (plain unless
  `--kinds` says personalised: a personalised million is a million requests) scheduled for now
  and released by beat's task in a worker, as a scheduled campaign is in production, to see it
  complete and read every worker process's peak memory.

`--provider-latency-ms N` has the fake answer each request N ms late, concurrent requests side
by side (a provider across the internet answers in 100-300 ms): the figure then measures how
many requests the pipeline keeps in flight.

Runs against a separate database (BENCH_DATABASE_URL, default mifumo_bench) on a tenant it
creates afresh; BENCH_WORKERS worker processes (default 2) take the send queues and `default`
queues. Usage: `make bench`, or .venv/bin/python bench/campaigns.py --help.
"""

import argparse
import json
import os
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
from environment import bench_environment  # noqa: E402
from names import FAMILY_NAMES, FIRST_NAMES, MOST_NAMES  # noqa: E402

os.environ.update(
    bench_environment(),
    SMS_SENDER_SEGMENTS_PER_SECOND="1000000",
    SMS_SEND_CONCURRENCY=os.environ.get("BENCH_WORKERS", "2"),
    SMS_PROVIDER="beem",
    BEEM_API_KEY="test-api-key",
    BEEM_SECRET_KEY="test-secret-key",
)

import django  # noqa: E402

django.setup()

from django.conf import settings  # noqa: E402
from django.core.management import call_command  # noqa: E402
from django.db import connection  # noqa: E402
from django.utils import timezone  # noqa: E402
from django_tenants.utils import tenant_context  # noqa: E402

from accounts.models import User  # noqa: E402
from billing.services import credit_add  # noqa: E402
from messaging.models import Campaign, Message, Template  # noqa: E402
from messaging.services.campaign_progress import campaign_counters_refresh  # noqa: E402
from messaging.services.campaigns import campaign_create, campaign_start  # noqa: E402
from messaging.tasks import campaigns_advance_all  # noqa: E402
from mifumo.celery import app  # noqa: E402
from tenants.models import Tenant  # noqa: E402
from tenants.services import tenant_create  # noqa: E402
from tests.fakes.beem import SEND_PATH, FakeBeem  # noqa: E402
from tests.fakes.server import Answer, FakeRequest  # noqa: E402

WORKERS = os.environ["SMS_SEND_CONCURRENCY"]
SUBDOMAIN = "bench-campaigns"
CITIES = ["Dar", "Arusha", "Mwanza", "Dodoma", "Mbeya", "Moshi", "Tanga", "Zanzibar"]
PERSONALISED = "Habari {{name}}, ofa ya wiki {{city}}: punguzo la 20%!"
PLAIN = "Ofa ya wiki: punguzo la 20% kwa bidhaa zote!"
BIN = ROOT / ".venv/bin"
SCRATCH_TABLE = "bench_floor_message"
TARGET_CONTACTS = 100_000  # the campaign size issue 16's targets are set for


class RecordingBeem(FakeBeem):
    """The fake Beem, also writing each send request's body to `bodies` (one a line) while
    `recording` is set: what the floor replays."""

    def __init__(self, *, bodies, **options) -> None:
        super().__init__(**options)
        self.bodies = bodies
        self.recording = False
        self._bodies_lock = threading.Lock()

    def handle(self, request: FakeRequest) -> Answer:
        if self.recording and (request.method, request.path) == ("POST", SEND_PATH):
            with self._bodies_lock:
                self.bodies.write(request.body + b"\n")
        return super().handle(request)


def fresh_tenant(contacts: int) -> Tenant:
    old = Tenant.objects.filter(subdomain=SUBDOMAIN).first()
    if old is not None:
        old.delete(force_drop=True)
    owner, _ = User.objects.get_or_create(
        email="bench-campaigns@mifumo.local",
        defaults={"first_name": "Bench", "phone_number": "+255700000008", "is_active": True},
    )
    tenant = tenant_create(owner=owner, name="Bench Campaigns", subdomain=SUBDOMAIN)
    credit_add(tenant_id=tenant.pk, credits=10 * contacts, reason="bench")
    with tenant_context(tenant), connection.cursor() as cursor:
        cursor.execute(
            """
            INSERT INTO messaging_contact (id, name, phone_e164, email, tags, attributes,
                is_active, is_opted_in, opt_out_reason, created_at, updated_at)
            SELECT gen_random_uuid(),
                f.names[n %% f.size + 1] || ' ' || f.names[n / f.size %% f.size + 1] || ' '
                    || l.names[n / (f.size * f.size) %% l.size + 1],
                '+2557' || lpad(n::text, 8, '0'), '', ARRAY['promo'],
                jsonb_build_object('city', (%(cities)s::text[])[n %% %(city_count)s + 1]),
                true, false, '', now(), now()
            FROM generate_series(0, %(contacts)s - 1) AS n,
                (SELECT %(first)s::text[] AS names, cardinality(%(first)s::text[]) AS size) AS f,
                (SELECT %(family)s::text[] AS names, cardinality(%(family)s::text[]) AS size)
                    AS l
            """,
            {
                "cities": CITIES,
                "city_count": len(CITIES),
                "contacts": contacts,
                "first": FIRST_NAMES,
                "family": FAMILY_NAMES,
            },
        )
        cursor.execute("ANALYZE messaging_contact")
        cursor.execute("SELECT count(DISTINCT name) FROM messaging_contact")
        (distinct,) = cursor.fetchone()
    if distinct != contacts:
        sys.exit(f"{distinct} distinct names for {contacts} contacts")
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


def handed_over(beem: FakeBeem, *, expected: int, already: int, started: float) -> float:
    deadline = time.perf_counter() + 3 * 3600
    while beem.accepted_count - already < expected and time.perf_counter() < deadline:
        time.sleep(0.05)
    if beem.accepted_count - already < expected:
        sys.exit(f"only {beem.accepted_count - already} of {expected} handed over in time")
    return time.perf_counter() - started


def settled(campaign: Campaign) -> Campaign:
    """The campaign once none of its messages is being sent (the last results recorded)."""
    deadline = time.perf_counter() + 600
    campaign = Campaign.objects.get(pk=campaign.pk)
    sending = Message.objects.filter(
        send_request_id=campaign.send_request_id, status=Message.Status.SENDING
    )
    while sending.exists() and time.perf_counter() < deadline:
        time.sleep(0.1)
    return campaign_counters_refresh(campaign=campaign)


def watch(beem: RecordingBeem) -> dict:
    """What the fake has seen so far, to tell a campaign's requests from those before it."""
    beem.max_in_flight = 0
    beem.recording = True
    return {"accepted": beem.accepted_count, "requests": beem.send_requests}


def sent(beem: RecordingBeem, before: dict) -> dict:
    beem.recording = False
    beem.bodies.flush()
    texts = {message.text for message in beem.accepted[before["accepted"] :]}
    return {
        "distinct_texts": len(texts),
        "requests": beem.send_requests - before["requests"],
        "in_flight": beem.max_in_flight,
    }


def started_in_process(tenant, beem: RecordingBeem, contacts: int, *, personalised: bool) -> dict:
    with tenant_context(tenant):
        campaign = new_campaign(tenant, personalised=personalised)
        before = watch(beem)
        started = time.perf_counter()
        campaign_start(campaign=campaign, tenant=tenant)
        answered = time.perf_counter() - started
        created = messages_created(campaign, started)
        total = handed_over(beem, expected=contacts, already=before["accepted"], started=started)
        figures = {"start_s": answered, "create_s": created, "total_s": total}
        figures.update(sent(beem, before))
        figures["campaign"] = settled(campaign)
    return figures


def released_by_beat(tenant, beem: RecordingBeem, contacts: int, *, personalised: bool) -> dict:
    """Scheduled for now and started by beat's task in a worker, as in production."""
    with tenant_context(tenant):
        campaign = new_campaign(tenant, personalised=personalised, scheduled_at=timezone.now())
    before = watch(beem)
    started = time.perf_counter()
    campaigns_advance_all.delay()
    total = handed_over(beem, expected=contacts, already=before["accepted"], started=started)
    figures = {"total_s": total, **sent(beem, before)}
    with tenant_context(tenant):
        figures["campaign"] = settled(campaign)
    return figures


def floor(tenant, beem: RecordingBeem, figures: dict) -> dict:
    """The same run's floor of a campaign: its provider requests replayed at its concurrency by
    a minimal client, plus one INSERT ... SELECT of its messages."""
    command = [
        str(BIN / "python"),
        str(ROOT / "bench/provider_replay.py"),
        beem.send_url,
        beem.bodies.name,
        "--concurrency",
        str(figures["in_flight"]),
        "--user",
        beem.api_key,
        "--password",
        beem.secret_key,
    ]
    replayed = json.loads(subprocess.run(command, check=True, capture_output=True).stdout)
    if replayed["requests"] != figures["requests"] or replayed["failures"]:
        sys.exit(f"the replay does not match the campaign's {figures['requests']}: {replayed}")
    campaign = figures["campaign"]
    with tenant_context(tenant), connection.cursor() as cursor:
        cursor.execute(f"DROP TABLE IF EXISTS {SCRATCH_TABLE}")
        cursor.execute(f"CREATE TABLE {SCRATCH_TABLE} (LIKE messaging_message INCLUDING ALL)")
        started = time.perf_counter()
        cursor.execute(
            f"INSERT INTO {SCRATCH_TABLE} SELECT * FROM messaging_message "  # noqa: S608
            "WHERE send_request_id = %s",
            [campaign.send_request_id],
        )
        inserted = time.perf_counter() - started
        rows = cursor.rowcount
        cursor.execute(f"DROP TABLE {SCRATCH_TABLE}")
    return {"replay_s": replayed["seconds"], "insert_s": inserted, "rows": rows}


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


def workers_ready() -> None:
    """Wait until the worker answers a ping: on a busy machine it takes longer than a few
    seconds to start, and the first campaign's fan-out would wait for it."""
    deadline = time.perf_counter() + 120
    while not app.control.ping(timeout=0.5):
        if time.perf_counter() > deadline:
            sys.exit("the workers did not start")


def options() -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--contacts",
        type=int,
        default=int(os.environ.get("BENCH_RECIPIENTS", "100000")),
        help="contacts, all in the campaign's audience (default 100,000 or BENCH_RECIPIENTS)",
    )
    parser.add_argument(
        "--kinds",
        help="the campaigns to run, in order, of personalised and plain (default both; the "
        "scheduled mode runs the first, default plain)",
    )
    parser.add_argument(
        "--provider-latency-ms",
        type=float,
        default=0.0,
        help="the fake answers each request this late, concurrent requests side by side",
    )
    parser.add_argument(
        "--scheduled",
        action=argparse.BooleanOptionalAction,
        default=None,
        help="released by beat, with worker memory (default: at 1,000,000 contacts or more)",
    )
    parser.add_argument(
        "--floor",
        action=argparse.BooleanOptionalAction,
        default=True,
        help="measure each campaign's floor after it (default)",
    )
    chosen = parser.parse_args()
    if not 0 < chosen.contacts <= MOST_NAMES:
        parser.error(f"--contacts is 1 to {MOST_NAMES:,} (distinct names)")
    if chosen.scheduled is None:
        chosen.scheduled = chosen.contacts >= 1_000_000
    # A personalised million is a million requests, longer than `make bench` may take today.
    default_kinds = "plain" if chosen.scheduled else "personalised,plain"
    chosen.kinds = (chosen.kinds or default_kinds).split(",")
    if set(chosen.kinds) - {"personalised", "plain"}:
        parser.error("--kinds takes personalised, plain")
    return chosen


def target(kind: str, contacts: int, latency_ms: float) -> str:
    """Issue 16's target for this campaign, if it sets one."""
    personalised = kind.startswith("personalised")
    if latency_ms:
        return "target at 100 ms: >= 800 msg/s" if personalised else ""
    if contacts != TARGET_CONTACTS:
        return ""
    if personalised:
        return f"target at {TARGET_CONTACTS:,}: <= 30 s and <= 2x the floor"
    return f"target at {TARGET_CONTACTS:,}: <= 6 s"


def report(contacts: int, kind: str, figures: dict, latency_ms: float) -> None:
    print(f"{contacts:,} recipients, {kind}:")
    if "start_s" in figures:
        print(f"  start answered in {figures['start_s'] * 1000:.0f} ms (target < 300 ms)")
        print(f"  messages created {figures['create_s']:.2f} s after start (target <= 3 s)")
    total = figures["total_s"]
    print(
        f"  all handed to the fake Beem in {total:.2f} s ({contacts / total:,.0f} msg/s)"
        + (f", the fake answering in {latency_ms:g} ms" if latency_ms else ", answering at once")
        + (f" ({goal})" if (goal := target(kind, contacts, latency_ms)) else "")
    )
    if latency_ms and contacts < TARGET_CONTACTS:  # the provider's pace: linear in requests
        print(
            f"  at this rate {TARGET_CONTACTS:,} recipients would take "
            f"{total * TARGET_CONTACTS / contacts:.0f} s (extrapolated)"
        )
    print(
        f"  {figures['distinct_texts']:,} distinct texts, {figures['requests']:,} send requests, "
        f"at most {figures['in_flight']} in flight"
    )
    campaign = figures["campaign"]
    print(f"  campaign {campaign.status}: {campaign.sent_count:,} sent, "
          f"{campaign.failed_count:,} failed")  # fmt: skip
    if "floor" in figures:
        low = figures["floor"]
        floor_s = low["replay_s"] + low["insert_s"]
        print(
            f"  floor {floor_s:.2f} s: the {figures['requests']:,} requests replayed at "
            f"{figures['in_flight']} in flight {low['replay_s']:.2f} s + INSERT ... SELECT of "
            f"{low['rows']:,} rows {low['insert_s']:.2f} s"
        )
        print(f"  figure / floor = {total / floor_s:.2f}x")


def main():
    chosen = options()
    call_command("ensure_services")
    call_command("migrate_all", verbosity=0)
    tenant = fresh_tenant(chosen.contacts)
    with connection.cursor() as cursor:
        cursor.execute("CHECKPOINT")
    connection.close()
    bodies = tempfile.NamedTemporaryFile("wb", suffix=".jsonl")  # noqa: SIM115 (closed below)
    beem = RecordingBeem(bodies=bodies, latency=chosen.provider_latency_ms / 1000)
    results = {}
    with beem:
        env = {**os.environ, "BEEM_SEND_URL": beem.send_url}
        queues = "transactional,sends,default"
        command = [str(BIN / "celery"), "-A", "mifumo", "worker", "-Q", queues]
        workers = subprocess.Popen(
            [*command, "-c", WORKERS, "-l", "warning", "--without-gossip"], cwd=ROOT, env=env
        )
        try:
            workers_ready()
            for kind in chosen.kinds[:1] if chosen.scheduled else chosen.kinds:
                personalised = kind == "personalised"
                bodies.seek(0)
                bodies.truncate()
                if chosen.scheduled:
                    label = f"{kind}, scheduled"
                    figures = released_by_beat(
                        tenant, beem, chosen.contacts, personalised=personalised
                    )
                else:
                    label = kind
                    figures = started_in_process(
                        tenant, beem, chosen.contacts, personalised=personalised
                    )
                if chosen.floor:
                    figures["floor"] = floor(tenant, beem, figures)
                results[label] = figures
            peaks = peak_memory_mb(workers.pid)
        finally:
            workers.terminate()
            workers.wait()
            bodies.close()
    print(
        f"send workers: {WORKERS} processes, all {WORKERS} send slot(s) for a tenant sending alone "
        f"(SMS_SEND_CONCURRENCY={WORKERS}), batches of {settings.SMS_SEND_BATCH_SIZE}, "
        f"provider calls of {settings.SMS_PROVIDER_CHUNK_SIZE} messages"
    )
    for label, figures in results.items():
        report(chosen.contacts, label, figures, chosen.provider_latency_ms)
    print(
        f"worker peak memory (MB, {WORKERS} pool processes + their parent): "
        + ", ".join(f"{peak:.0f}" for peak in sorted(peaks.values()))
        + " (target < 300)"
    )


if __name__ == "__main__":
    main()
