"""Sending benchmarks (issue 4), against the fake Beem server:

1. one-recipient sends through the API (gunicorn, load from wrk) while 2 send workers hand
   them to the fake Beem server, and how soon after its acceptance each was sent (accepted by
   the provider); then the same at a gentler pace while the workers hand over a send to
   BENCH_RECIPIENTS (a campaign's batches waiting in the `sends` queue);
2. 100,000 recipients of one text handed to the fake Beem server by real send workers;
3. Beem delivery reports posted to the callback route (wrk), and how long until all applied,
   beside the floor of the same run: the same bodies to the route with a wrong token, which it
   refuses without touching the database.

Runs against a separate database (BENCH_DATABASE_URL, default mifumo_bench) on a tenant it
creates afresh. Usage: `make bench` (or .venv/bin/python bench/sending.py); BENCH_PARTS,
BENCH_RECIPIENTS and BENCH_WEB_WORKERS / BENCH_WEB_THREADS narrow or reshape a run.
"""

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
from environment import bench_environment  # noqa: E402

PORT = int(os.environ.get("BENCH_PORT", "8766"))
BASE = f"http://127.0.0.1:{PORT}"
DLR_TOKEN = "bench-dlr-token"
os.environ.update(
    bench_environment(),
    # The rates under test are the machine's, not the per-caller limits.
    RATE_LIMIT_SMS_SEND="100000000/min",
    SMS_SENDER_SEGMENTS_PER_SECOND="1000000",
    BEEM_DLR_TOKEN=DLR_TOKEN,
    SMS_PROVIDER="beem",
    BEEM_API_KEY="test-api-key",
    BEEM_SECRET_KEY="test-secret-key",
)

import django  # noqa: E402

django.setup()

from django.core.management import call_command  # noqa: E402
from django.db import connection  # noqa: E402
from django_tenants.utils import tenant_context  # noqa: E402
from load import settle, wrk_lines  # noqa: E402
from rest_framework_simplejwt.tokens import AccessToken  # noqa: E402
from webserver import gunicorn_start  # noqa: E402

from accounts.models import User  # noqa: E402
from billing.services import credit_add  # noqa: E402
from messaging.models import Message  # noqa: E402
from messaging.services.messages import SendInput, send_to_numbers  # noqa: E402
from tenants.models import Tenant  # noqa: E402
from tenants.services import tenant_create  # noqa: E402
from tests.fakes.beem import FakeBeem  # noqa: E402
from webhooks.models import StatusEvent  # noqa: E402

RECIPIENTS = int(os.environ.get("BENCH_RECIPIENTS", "100000"))
# BENCH_PARTS=api runs only the API part; the delivery reports need the fan-out's messages.
PARTS = set(os.environ.get("BENCH_PARTS", "api,beside,fanout,dlr").split(","))
SUBDOMAIN = "bench-sending"
BIN = ROOT / ".venv/bin"
# The queues a part starts with empty.
QUEUES = "transactional,sends,default"
WEB_WORKERS = int(os.environ.get("BENCH_WEB_WORKERS", "4"))
WEB_THREADS = int(os.environ.get("BENCH_WEB_THREADS", "1"))
WRK = ["wrk", "-t1", "-c16", "-d15s", "-s", str(ROOT / "bench/wrk/post_json.lua")]


def fresh_tenant() -> tuple[Tenant, User]:
    old = Tenant.objects.filter(subdomain=SUBDOMAIN).first()
    if old is not None:
        old.delete(force_drop=True)
    owner, _ = User.objects.get_or_create(
        email="bench-sending@mifumo.local",
        defaults={"first_name": "Bench", "phone_number": "+255700000009", "is_active": True},
    )
    owner.active_tenant = None
    owner.save(update_fields=["active_tenant"])
    tenant = tenant_create(owner=owner, name="Bench Sending", subdomain=SUBDOMAIN)
    credit_add(tenant_id=tenant.pk, credits=10 * RECIPIENTS + 10_000_000, reason="bench")
    return tenant, owner


def start(command: list[str], env: dict) -> subprocess.Popen:
    return subprocess.Popen(command, cwd=ROOT, env={**os.environ, **env})


def start_worker(env: dict, queues: str, concurrency: int) -> subprocess.Popen:
    command = [str(BIN / "celery"), "-A", "mifumo", "worker", "-Q", queues, "-l", "warning"]
    return start([*command, "-c", str(concurrency), "--without-gossip"], env)


def stop(*processes: subprocess.Popen) -> None:
    for process in processes:
        process.terminate()
    for process in processes:
        process.wait()


# How long after its acceptance (its row's created_at) each message was sent.
_LAG_SQL = (
    "SELECT count(lag), percentile_cont(ARRAY[0.5, 0.95]) WITHIN GROUP (ORDER BY lag), max(lag) "
    "FROM (SELECT extract(epoch FROM sent_at - created_at) AS lag FROM messaging_message"
)


def api_sends(tenant, owner, beem: FakeBeem, env: dict) -> dict:
    """One-recipient sends through the API while 2 send workers drain them, as `make run`'s
    worker does; then how long each waited from its acceptance (the message row's created_at)
    to being sent (accepted by the provider: sent_at), and the health route's rate in the same
    run for scale."""
    auth = f"Bearer {AccessToken.for_user(owner)}"
    bodies = [
        json.dumps({"message": f"Your code is {n:06d}", "recipient": f"+2557150{n:05d}"})
        for n in range(1000)
    ]
    already = beem.accepted_count
    senders = start_worker(env, "transactional,sends", 2)
    try:
        worker_ready()
        health = wrk_lines(["wrk", "-t1", "-c16", "-d5s"], f"{BASE}/api/health/", [])
        sends = wrk_lines(WRK, f"{BASE}/api/messaging/sms/send/", bodies, AUTH=auth)
        time.sleep(1)  # the requests wrk left in flight are answered
        with tenant_context(tenant):
            made = Message.objects.count()
        wait_until(lambda: beem.accepted_count - already >= made, timeout=120)
    finally:
        stop(senders)
    with tenant_context(tenant), connection.cursor() as cursor:
        cursor.execute(_LAG_SQL + ") AS m")
        sent, (lag_p50, lag_p95), lag_max = cursor.fetchone()
    return {
        **sends,
        "made": made,
        "sent": sent,
        "accepted_by_beem": beem.accepted_count - already,
        "lag_p50_s": lag_p50,
        "lag_p95_s": lag_p95,
        "lag_max_s": lag_max,
        "health_rps": health["rps"],
    }


def api_sends_beside_a_campaign(tenant, owner, beem: FakeBeem, env: dict) -> dict:
    """One-recipient sends (2 connections) made while the 2 send workers hand over a send to
    RECIPIENTS that committed just before: how long each small send waited to be sent, and
    how much of the large one had been sent by the time the last small one was."""
    auth = f"Bearer {AccessToken.for_user(owner)}"
    bodies = [
        json.dumps({"message": f"Your code is {n:06d}", "recipient": f"+2557160{n:05d}"})
        for n in range(1000)
    ]
    senders = start_worker(env, "transactional,sends", 2)
    try:
        worker_ready()
        with tenant_context(tenant):
            large = send_to_numbers(
                tenant=tenant,
                data=SendInput(
                    recipients=[f"+2557{n:08d}" for n in range(RECIPIENTS)],
                    sender="Taarifa-SMS",
                    text="Habari! " * 10,
                ),
            )
        gentle = ["wrk", "-t1", "-c2", "-d10s", *WRK[4:]]
        sends = wrk_lines(gentle, f"{BASE}/api/messaging/sms/send/", bodies, AUTH=auth)
        time.sleep(1)  # the requests wrk left in flight are answered
        with tenant_context(tenant):
            small = Message.objects.exclude(send_request_id=large.pk)
            wait_until(lambda: not small.exclude(status="sent").exists(), timeout=300)
            last_small = max(small.values_list("sent_at", flat=True))
            large_sent = Message.objects.filter(
                send_request_id=large.pk, sent_at__lte=last_small
            ).count()
        with tenant_context(tenant), connection.cursor() as cursor:
            cursor.execute(_LAG_SQL + " WHERE send_request_id <> %s) AS m", [large.pk])
            count, (lag_p50, lag_p95), lag_max = cursor.fetchone()
    finally:
        stop(senders)
    return {
        **sends,
        "made": count,
        "lag_p50_s": lag_p50,
        "lag_p95_s": lag_p95,
        "lag_max_s": lag_max,
        "large_sent": large_sent,
    }


def worker_ready() -> None:
    """Wait for a started worker to answer a ping, as `make run`'s is before anyone sends."""
    from mifumo.celery import app

    wait_until(lambda: bool(app.control.ping(timeout=0.5)), timeout=60, poll=0.1)


def wait_until(condition, timeout: float, poll: float = 0.02) -> float:
    started = time.perf_counter()
    while not condition():
        if time.perf_counter() - started > timeout:
            raise TimeoutError
        time.sleep(poll)
    return time.perf_counter()


def fan_out(tenant, beem: FakeBeem) -> dict:
    """RECIPIENTS of one text: created in one send, then handed over by 2 send workers."""
    already = beem.accepted_count
    recipients = [f"+2557{n:08d}" for n in range(RECIPIENTS)]
    started = time.perf_counter()
    with tenant_context(tenant):
        send_to_numbers(
            tenant=tenant,
            data=SendInput(recipients=recipients, sender="Taarifa-SMS", text="Habari! " * 10),
        )
    created = time.perf_counter()
    done = wait_until(lambda: beem.accepted_count - already >= RECIPIENTS, timeout=600)
    return {
        "create_s": created - started,
        "hand_over_s": done - created,
        "rate": RECIPIENTS / (done - created),
        "requests": len(beem.requests),
    }


# Rounds of the delivery-report part: a floor then reports each, so the machine's drift over
# the part shows in each pair instead of in one floor measured before all the reports.
DLR_ROUNDS = 3
DLR_WRK = [*WRK[:3], "-d8s", *WRK[4:]]


def delivery_reports(tenant, beem: FakeBeem) -> dict:
    """Beem DLRs for the fan-out's messages, posted by wrk in DLR_ROUNDS rounds, each a floor
    (the same bodies with a wrong token, refused without touching the database) then reports
    (each round its own messages); then the time to apply them all."""
    bodies = [
        json.dumps(
            {
                "request_id": int(sms.provider_message_id),
                "recipient_id": sms.reference,
                "dest_addr": sms.to,
                "status": "DELIVERED",
                "timestamp": "2026-11-23T10:00:00Z",
            }
        )
        for sms in beem.accepted[-RECIPIENTS:]
    ]
    share = len(bodies) // DLR_ROUNDS
    rounds = []
    for n in range(DLR_ROUNDS):
        mine = bodies[n * share : (n + 1) * share]
        floor = wrk_lines(DLR_WRK, f"{BASE}/webhooks/beem/dlr/not-the-token/", mine)
        settle(QUEUES)
        rounds.append((floor, wrk_lines(DLR_WRK, f"{BASE}/webhooks/beem/dlr/{DLR_TOKEN}/", mine)))
    posted = time.perf_counter()
    pending = StatusEvent.objects.filter(state=StatusEvent.State.PENDING)
    applied_at = wait_until(lambda: not pending.exists(), timeout=120, poll=0.1)
    with tenant_context(tenant):
        delivered = Message.objects.filter(status="delivered").count()
    return {"rounds": rounds, "apply_s": applied_at - posted, "delivered": delivered}


def main():
    argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    ).parse_args()
    call_command("ensure_services")
    call_command("migrate_all", verbosity=0)
    tenant, owner = fresh_tenant()
    StatusEvent.objects.all().delete()
    connection.close()
    with FakeBeem() as beem:
        env = {"BEEM_SEND_URL": beem.send_url, "BEEM_BALANCE_URL": beem.balance_url}
        # Django logs each of the floor's 404s as a line; thousands would drown the report.
        web = gunicorn_start(
            port=PORT,
            env={**os.environ, **env},
            workers=WEB_WORKERS,
            threads=WEB_THREADS,
            stderr=subprocess.DEVNULL,
        )
        try:
            if "api" in PARTS:
                settle(QUEUES)
                report_api(api_sends(tenant, owner, beem, env))
            if "beside" in PARTS:
                settle(QUEUES)
                report_beside(api_sends_beside_a_campaign(tenant, owner, beem, env))
            if "fanout" in PARTS:
                settle(QUEUES)
                senders = start_worker(env, "transactional,sends", 2)
                try:
                    report_fan_out(fan_out(tenant, beem))
                finally:
                    stop(senders)
            if "dlr" in PARTS:
                settle(QUEUES)
                appliers = start_worker(env, "default", 1)
                try:
                    report_delivery_reports(delivery_reports(tenant, beem))
                finally:
                    stop(appliers)
        finally:
            stop(web)


def report_api(sends: dict) -> None:
    print(
        f"one-recipient sends, POST /api/messaging/sms/send/ "
        f"(gunicorn {WEB_WORKERS} workers x {WEB_THREADS} threads; 2 send workers at work):"
    )
    print(
        f"  {sends['rps']:.0f} req/s, p50 {sends['p50_ms']:.1f} ms, p95 {sends['p95_ms']:.1f} ms"
        f", errors {sends['errors']:.0f}   (target >= 300 req/s, p95 < 100 ms)"
    )
    print(
        f"  {sends['made']} made, {sends['accepted_by_beem']} accepted by Beem; sent (accepted "
        f"by the provider) after acceptance: p50 {sends['lag_p50_s']:.2f} s, "
        f"p95 {sends['lag_p95_s']:.2f} s, max {sends['lag_max_s']:.2f} s   "
        "(target: every one within 5 s)"
    )
    print(f"  for scale, GET /api/health/ in the same run: {sends['health_rps']:.0f} req/s")


def report_beside(sends: dict) -> None:
    print(
        f"one-recipient sends (wrk, 2 connections) while the workers hand over a send to "
        f"{RECIPIENTS}:"
    )
    print(
        f"  {sends['rps']:.0f} req/s, p95 {sends['p95_ms']:.1f} ms; {sends['made']} sent after "
        f"acceptance: p50 {sends['lag_p50_s']:.2f} s, p95 {sends['lag_p95_s']:.2f} s, max "
        f"{sends['lag_max_s']:.2f} s   (target: every one within 5 s); "
        f"{sends['large_sent']} of the large send were sent by then"
    )


def report_fan_out(fan: dict) -> None:
    print(f"{RECIPIENTS} recipients of one text to the fake Beem server (2 send workers):")
    print(
        f"  created in {fan['create_s']:.2f} s; handed over in {fan['hand_over_s']:.2f} s = "
        f"{fan['rate']:.0f} msg/s in {fan['requests']} requests   (target >= 5000 msg/s)"
    )


def report_delivery_reports(dlr: dict) -> None:
    print(
        f"Beem delivery reports, POST /webhooks/beem/dlr/<token>/ ({DLR_ROUNDS} rounds of a "
        "floor, a wrong token refused without the database, then reports):"
    )
    for n, (floor, load) in enumerate(dlr["rounds"], 1):
        print(
            f"  round {n}: floor {floor['rps']:.0f} req/s, p95 {floor['p95_ms']:.1f} ms; "
            f"reports {load['rps']:.0f} req/s, p95 {load['p95_ms']:.1f} ms, errors "
            f"{load['errors']:.0f}; reports / floor = {load['rps'] / floor['rps']:.2f}"
        )
    floors = sum(floor["rps"] for floor, _ in dlr["rounds"])
    loads = sum(load["rps"] for _, load in dlr["rounds"])
    print(
        f"  reports {loads / DLR_ROUNDS:.0f} req/s, worst p95 "
        f"{max(load['p95_ms'] for _, load in dlr['rounds']):.1f} ms; all applied "
        f"{dlr['apply_s']:.2f} s after the last; {dlr['delivered']} delivered   "
        "(target >= 2000/s, p95 < 50 ms, applied within 10 s)"
    )
    print(f"  reports / floor over the rounds = {loads / floors:.2f}   (target >= 0.8)")


if __name__ == "__main__":
    main()
