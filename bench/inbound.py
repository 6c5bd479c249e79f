"""Inbound SMS benchmark (issue 15): how many customer messages the web tier accepts, and how
soon each is in its conversation.

wrk posts Twilio's inbound form (MessageSid, AccountSid, From, To, Body, NumSegments,
NumMedia) to `POST /webhooks/twilio/inbound/`, each request a distinct message signed with
X-Twilio-Signature as Twilio signs it (tests use the same validator), over the public URL. Two
tenants receive them, half each: one on a platform number an operator assigned (signed with the
platform's auth token), one on its own Twilio account's number (signed with that account's
token, which the route decrypts from the channel). BENCH_SENDERS distinct numbers write, so
most messages open a contact and a conversation and the rest add to one, as a day's replies to
a campaign would.

While wrk runs, a Celery worker (BENCH_APPLIERS processes on the `default` queue, as `make run`
has) applies them as they arrive, and a poller sees each message become visible: the run that
applies a tenant's messages marks their rows applied in the same commit that writes them into
their conversations, so a row seen applied is a message visible in its conversation. The lag is
from the row's store (the callback's INSERT) to the poll that first sees it applied, polled
every 50 ms.

The floor is the same route, same run, with the same bodies signed with a wrong token: the
route's 403, nothing stored.

Target: at least 1,000 accepted per second with p95 under 50 ms; each visible in its
conversation within 2 s.

Runs against a separate database (BENCH_DATABASE_URL, default mifumo_bench) on two tenants it
creates afresh. Usage: `make bench` (or .venv/bin/python bench/inbound.py); BENCH_MESSAGES,
BENCH_SENDERS, BENCH_APPLIERS, BENCH_WEB_WORKERS / BENCH_WEB_THREADS and BENCH_DURATION
reshape a run.
"""

import argparse
import os
import secrets
import subprocess
import sys
import threading
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from statistics import quantiles
from urllib.parse import urlencode

from cryptography.fernet import Fernet

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
from environment import bench_environment  # noqa: E402

PORT = int(os.environ.get("BENCH_PORT", "8768"))
BASE = f"http://127.0.0.1:{PORT}"
PLATFORM_TOKEN = "bench-platform-auth-token"
OWN_SID = "AC" + "be" * 16
OWN_TOKEN = "bench-own-account-token"
os.environ.update(
    bench_environment(),
    CREDENTIALS_ENCRYPTION_KEY=Fernet.generate_key().decode(),
    PUBLIC_BASE_URL=BASE,
    # Nothing is sent: a reply would go to a closed port.
    SMS_PROVIDER="twilio",
    TWILIO_ACCOUNT_SID="AC" + "00" * 16,
    TWILIO_AUTH_TOKEN=PLATFORM_TOKEN,
    TWILIO_API_BASE_URL="http://127.0.0.1:9",
)

import django  # noqa: E402

django.setup()

from django.conf import settings  # noqa: E402
from django.core.management import call_command  # noqa: E402
from django.db import connection  # noqa: E402
from django.db.models import Count  # noqa: E402
from django_tenants.utils import tenant_context  # noqa: E402
from load import settle, wrk_lines  # noqa: E402
from twilio.request_validator import RequestValidator  # noqa: E402
from webserver import gunicorn_start  # noqa: E402

from accounts.models import User  # noqa: E402
from messaging.models import Message  # noqa: E402
from sms import channels  # noqa: E402
from tenants.models import Tenant  # noqa: E402
from tenants.services import tenant_create  # noqa: E402
from tests.fakes.twilio import FakeTwilio  # noqa: E402
from webhooks.models import InboundMessage  # noqa: E402

MESSAGES = int(os.environ.get("BENCH_MESSAGES", "60000"))
SENDERS = int(os.environ.get("BENCH_SENDERS", "20000"))
APPLIERS = int(os.environ.get("BENCH_APPLIERS", "2"))
BIN = ROOT / ".venv/bin"
WEB_WORKERS = int(os.environ.get("BENCH_WEB_WORKERS", "4"))
WEB_THREADS = int(os.environ.get("BENCH_WEB_THREADS", "1"))
DURATION = os.environ.get("BENCH_DURATION", "10s")
WRK = ["wrk", "-t1", "-c16", f"-d{DURATION}"]
ROUTE = "/webhooks/twilio/inbound/"
PLATFORM_NUMBER = "+15005550100"
OWN_NUMBER = "+15005550177"
POLL_SECONDS = 0.05
LOOKBACK = timedelta(seconds=3)
TEXTS = [
    "Habari, nimepokea ujumbe wenu. Bei ni kiasi gani?",
    "Asante sana!",
    "Order {n} bado haijafika, naomba msaada",
    "Naomba maelezo zaidi kuhusu ofa ya wiki hii",
    "Ndiyo, nitakuja kesho saa nne asubuhi",
]
# Each message carries its own X-Twilio-Signature: lines of "<signature>\t<form body>".
SIGNED_WRK = [*WRK, "-s", str(ROOT / "bench/wrk/signed_post.lua")]
SIGNED_FORM = {
    "SIGNATURE_HEADER": "X-Twilio-Signature",
    "CONTENT_TYPE": "application/x-www-form-urlencoded",
}
URL = f"{BASE}{ROUTE}"
# The queues a part starts with empty.
QUEUES = "default,webhooks,transactional,sends"


def fresh_tenant(key: str) -> Tenant:
    subdomain = f"bench-inbound-{key}"
    old = Tenant.objects.filter(subdomain=subdomain).first()
    if old is not None:
        old.delete(force_drop=True)
    owner, _ = User.objects.get_or_create(
        email=f"bench-inbound-{key}@mifumo.local",
        defaults={"first_name": "Bench", "phone_number": "+255700000007", "is_active": True},
    )
    owner.active_tenant = None
    owner.save(update_fields=["active_tenant"])
    return tenant_create(owner=owner, name=f"Bench Inbound {key.upper()}", subdomain=subdomain)


def receiving_tenants() -> tuple[Tenant, Tenant]:
    """Tenant A on a platform number an operator assigned; tenant B on its own Twilio account,
    whose credentials the fake Twilio accepts when the channel is made."""
    platform, own = fresh_tenant("a"), fresh_tenant("b")
    channels.channel_address_assign(tenant=platform, provider="twilio", address=PLATFORM_NUMBER)
    with FakeTwilio(account_sid=OWN_SID, auth_token=OWN_TOKEN) as fake:
        settings.TWILIO_API_BASE_URL = fake.url
        channels.channel_create(
            tenant=own,
            provider="twilio",
            credentials={"account_sid": OWN_SID, "auth_token": OWN_TOKEN},
            addresses=[OWN_NUMBER],
        )
    return platform, own


def signed_lines(*, forged: bool = False) -> list[str]:
    """MESSAGES distinct inbound messages, alternately to each tenant's number, each signed by
    the account that owns the number (or, forged, by a token that is not theirs)."""
    url = settings.PUBLIC_BASE_URL.rstrip("/") + ROUTE
    validators = {
        PLATFORM_NUMBER: RequestValidator(PLATFORM_TOKEN),
        OWN_NUMBER: RequestValidator(OWN_TOKEN),
    }
    if forged:
        validators = dict.fromkeys(validators, RequestValidator("not-the-token"))
    run = secrets.token_hex(4)
    lines = []
    for n in range(MESSAGES):
        to = PLATFORM_NUMBER if n % 2 else OWN_NUMBER
        params = {
            "MessageSid": f"SM{run}{n:024x}",
            "AccountSid": OWN_SID if to == OWN_NUMBER else settings.TWILIO_ACCOUNT_SID,
            "From": f"+2557{n % SENDERS:08d}",
            "To": to,
            "Body": TEXTS[n % len(TEXTS)].format(n=n),
            "NumSegments": "1",
            "NumMedia": "0",
        }
        signature = validators[to].compute_signature(url, params)
        lines.append(f"{signature}\t{urlencode(params)}")
    return lines


class VisibilityPoller(threading.Thread):
    """Sees rows become applied, every POLL_SECONDS: the lag of each from its store to the
    first poll that saw it applied. A run sets processed_at before it commits, so each poll
    looks LOOKBACK_SECONDS behind the newest it has seen."""

    def __init__(self) -> None:
        super().__init__(daemon=True)
        self.stopping = threading.Event()
        self.lags: list[float] = []
        self.seen: set[int] = set()

    def run(self) -> None:
        applied = InboundMessage.objects.filter(state=InboundMessage.State.APPLIED)
        newest = datetime.now(UTC)
        try:
            while not self.stopping.is_set():
                now = datetime.now(UTC)
                fresh = applied.filter(processed_at__gte=newest - LOOKBACK)
                for pk, received_at, processed_at in fresh.values_list(
                    "id", "received_at", "processed_at"
                ):
                    newest = max(newest, processed_at)
                    if pk not in self.seen:
                        self.seen.add(pk)
                        self.lags.append((now - received_at).total_seconds())
                time.sleep(POLL_SECONDS)
        finally:
            connection.close()


def accepted_part() -> dict:
    """wrk's signed posts with the appliers at work, then until the last is applied (with no
    appliers, BENCH_APPLIERS=0: the web tier alone, the messages left pending)."""
    InboundMessage.objects.all().delete()
    lines = signed_lines()
    connection.close()
    settle(QUEUES)
    appliers = None
    if APPLIERS:
        appliers = subprocess.Popen(
            [
                str(BIN / "celery"),
                *("-A", "mifumo", "worker", "-Q", "default", "-l", "warning"),
                *("-c", str(APPLIERS), "--without-gossip"),
            ],
            cwd=ROOT,
            env=dict(os.environ),
        )
        time.sleep(3)  # the worker's processes up and listening
    poller = VisibilityPoller()
    drained = None
    try:
        poller.start()
        load = wrk_lines(SIGNED_WRK, URL, lines, **SIGNED_FORM)
        posted = time.perf_counter()
        pending = InboundMessage.objects.filter(state=InboundMessage.State.PENDING)
        while appliers and pending.exists() and time.perf_counter() - posted < 120:
            time.sleep(0.1)
        drained = time.perf_counter() - posted
        time.sleep(2 * POLL_SECONDS)
    finally:
        poller.stopping.set()
        poller.join()
        if appliers:
            appliers.terminate()
            appliers.wait()
    states = dict(InboundMessage.objects.values_list("state").annotate(n=Count("id")))
    return {
        **load,
        "stored": sum(states.values()),
        "states": states,
        "drained_s": drained,
        "lags": sorted(poller.lags),
    }


def floor_part() -> dict:
    before = InboundMessage.objects.count()
    lines = signed_lines(forged=True)
    connection.close()
    settle(QUEUES)
    floor = wrk_lines(SIGNED_WRK, URL, lines, **SIGNED_FORM)
    floor["stored"] = InboundMessage.objects.count() - before
    return floor


def in_conversations(*tenants: Tenant) -> int:
    count = 0
    for tenant in tenants:
        with tenant_context(tenant):
            count += Message.objects.filter(
                direction=Message.Direction.INBOUND, conversation__isnull=False
            ).count()
    return count


def main() -> None:
    argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    ).parse_args()
    call_command("ensure_services")
    call_command("migrate_all", verbosity=0)
    tenants = receiving_tenants()
    connection.close()
    # Django logs each of the floor's 403s as a line; tens of thousands would drown the report.
    web = gunicorn_start(
        port=PORT,
        env=dict(os.environ),
        workers=WEB_WORKERS,
        threads=WEB_THREADS,
        stderr=subprocess.DEVNULL,
    )
    try:
        accepted = accepted_part()
        accepted["in_conversations"] = in_conversations(*tenants)
        floor = floor_part()
    finally:
        web.terminate()
        web.wait()
        settle(QUEUES)
    report(accepted, floor)


def _figures(run: dict) -> str:
    return (
        f"{run['rps']:.0f} req/s, p50 {run['p50_ms']:.1f} ms, p95 {run['p95_ms']:.1f} ms, "
        f"p99 {run['p99_ms']:.1f} ms"
    )


def report(accepted: dict, floor: dict) -> None:
    print(
        f"Inbound SMS, POST {ROUTE} (gunicorn {WEB_WORKERS} workers x {WEB_THREADS} threads, "
        f"wrk 1 thread x 16 connections, {DURATION}; {APPLIERS} applier processes):"
    )
    print(
        f"  signed, distinct messages: {_figures(accepted)}, errors {accepted['errors']:.0f}; "
        f"{accepted['stored']} stored   (target >= 1,000 accepted/s, p95 < 50 ms)"
    )
    lags = accepted["lags"]
    if not APPLIERS:
        print("  no appliers ran (BENCH_APPLIERS=0): the web tier alone, the messages left pending")
    elif len(lags) >= 2:
        cuts = quantiles(lags, n=100)
        print(
            f"  visible in its conversation after its store: p50 {cuts[49]:.2f} s, p95 "
            f"{cuts[94]:.2f} s, max {lags[-1]:.2f} s ({len(lags)} seen); all applied "
            f"{accepted['drained_s']:.2f} s after the last post   (target within 2 s)"
        )
    print(
        f"  rows by state: {accepted['states']}; inbound messages in conversations: "
        f"{accepted['in_conversations']}"
    )
    # Every answer here is a 403, which wrk counts among its errors.
    print(f"  floor, wrong signature (403): {_figures(floor)}; {floor['stored']} stored")


if __name__ == "__main__":
    main()
