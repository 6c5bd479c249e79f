"""Payment callback benchmark (issue 14): how fast `POST /webhooks/zenopay/` answers ZenoPay.

Target: a payment callback is answered in under 50 ms at p95. wrk posts valid callbacks
(the right x-api-key) for distinct pending orders, as ZenoPay would once each payer pays;
no worker runs, so the figure is what the web tier does per callback (verify the key, parse,
store the callback once, enqueue the task that asks ZenoPay and credits). The same route with
a wrong key, in the same run, is the floor: the stack (gunicorn, Django's middleware, the
envelope) with nothing stored.

Runs against a separate database (BENCH_DATABASE_URL, default mifumo_bench) on a tenant it
creates afresh. Usage: `make bench` (or .venv/bin/python bench/payments.py); BENCH_ORDERS,
BENCH_WEB_WORKERS / BENCH_WEB_THREADS and BENCH_DURATION reshape a run.
"""

import json
import os
import re
import secrets
import subprocess
import sys
import tempfile
from datetime import timedelta
from decimal import Decimal
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
PORT = int(os.environ.get("BENCH_PORT", "8767"))
BASE = f"http://127.0.0.1:{PORT}"
API_KEY = "bench-zenopay-key"
os.environ.update(
    DEBUG="false",
    SECRET_KEY=secrets.token_urlsafe(50),
    DATABASE_URL=os.environ.get(
        "BENCH_DATABASE_URL", "postgres://postgres@127.0.0.1:5432/mifumo_bench"
    ),
    REDIS_URL=os.environ.get("BENCH_REDIS_URL", "redis://127.0.0.1:6379/9"),
    DJANGO_SETTINGS_MODULE="mifumo.settings",
    PAYMENT_PROVIDER="zenopay",
    ZENOPAY_API_KEY=API_KEY,
)

import django  # noqa: E402

django.setup()

from django.core.management import call_command  # noqa: E402
from django.db import connection  # noqa: E402
from django.utils import timezone  # noqa: E402
from webserver import gunicorn_start  # noqa: E402

from accounts.models import User  # noqa: E402
from billing.models import PaymentTransaction  # noqa: E402
from tenants.models import Tenant  # noqa: E402
from tenants.services import tenant_create  # noqa: E402
from webhooks.models import PaymentCallback  # noqa: E402

# More orders than a run can post, so every callback names an order not seen before.
ORDERS = int(os.environ.get("BENCH_ORDERS", "100000"))
SUBDOMAIN = "bench-payments"
BIN = ROOT / ".venv/bin"
WEB_WORKERS = int(os.environ.get("BENCH_WEB_WORKERS", "4"))
WEB_THREADS = int(os.environ.get("BENCH_WEB_THREADS", "1"))
DURATION = os.environ.get("BENCH_DURATION", "10s")
WRK = ["wrk", "-t1", "-c16", f"-d{DURATION}", "-s", str(ROOT / "bench/wrk/post_json.lua")]
ROUTE = "/webhooks/zenopay/"


def fresh_tenant() -> Tenant:
    old = Tenant.objects.filter(subdomain=SUBDOMAIN).first()
    if old is not None:
        old.delete(force_drop=True)
    owner, _ = User.objects.get_or_create(
        email="bench-payments@mifumo.local",
        defaults={"first_name": "Bench", "phone_number": "+255700000008", "is_active": True},
    )
    owner.active_tenant = None
    owner.save(update_fields=["active_tenant"])
    return tenant_create(owner=owner, name="Bench Payments", subdomain=SUBDOMAIN)


def pending_orders(tenant: Tenant) -> list[str]:
    """ORDERS pending mobile-money orders of 10,000 TZS, as the purchase route leaves them."""
    expires_at = timezone.now() + timedelta(hours=1)
    orders = [
        PaymentTransaction(
            tenant=tenant,
            order_id=f"bench-{secrets.token_hex(8)}-{n}",
            credits=400,
            amount=Decimal("10000.00"),
            currency="TZS",
            provider=PaymentTransaction.Provider.ZENOPAY,
            payment_method=PaymentTransaction.Method.MOBILE_MONEY,
            mobile_money_provider=PaymentTransaction.Network.VODACOM,
            buyer_phone="0744000000",
            expires_at=expires_at,
        )
        for n in range(ORDERS)
    ]
    PaymentTransaction.objects.bulk_create(orders, batch_size=5000)
    return [order.order_id for order in orders]


def callback_bodies(order_ids: list[str]) -> list[str]:
    """ZenoPay's callback for each order, in its published shape."""
    return [
        json.dumps(
            {
                "order_id": order_id,
                "payment_status": "COMPLETED",
                "reference": f"{n:010d}",
                "metadata": {},
            }
        )
        for n, order_id in enumerate(order_ids)
    ]


def wrk(bodies: list[str], api_key: str) -> dict:
    with tempfile.NamedTemporaryFile("w", suffix=".jsonl", delete=False) as body_file:
        body_file.write("\n".join(bodies) + "\n")
    env = {
        **os.environ,
        "BODY_FILE": body_file.name,
        "HEADER": f"x-api-key: {api_key}",
        "WRK_THREADS": "1",
    }
    out = subprocess.run(
        [*WRK, f"{BASE}{ROUTE}"], check=True, capture_output=True, text=True, env=env
    ).stdout
    os.unlink(body_file.name)
    figures = dict(re.findall(r"^(\w+) ([\d.]+)$", out, re.M))
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))
    return {"rps": rps, **{key: float(value) for key, value in figures.items()}}


def settle() -> None:
    """Start a part from a clean slate: no queued tasks, and the previous part's writes
    checkpointed, so they are not flushed on the next part's clock."""
    subprocess.run(
        [str(BIN / "celery"), "-A", "mifumo", "purge", "-f", "-Q", "default"],
        cwd=ROOT,
        check=True,
        capture_output=True,
    )
    with connection.cursor() as cursor:
        cursor.execute("CHECKPOINT")


def main():
    call_command("ensure_services")
    call_command("migrate_all", verbosity=0)
    tenant = fresh_tenant()
    PaymentCallback.objects.filter(provider=PaymentTransaction.Provider.ZENOPAY).delete()
    bodies = callback_bodies(pending_orders(tenant))
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
        settle()
        valid = wrk(bodies, API_KEY)
        stored = PaymentCallback.objects.filter(provider=PaymentTransaction.Provider.ZENOPAY)
        valid["stored"] = stored.count()
        settle()
        floor = wrk(bodies, "not-the-key")
    finally:
        web.terminate()
        web.wait()
        settle()
    report(valid, floor)


def report(valid: dict, floor: dict) -> None:
    print(
        f"ZenoPay callbacks, POST {ROUTE} (gunicorn {WEB_WORKERS} workers x {WEB_THREADS} "
        f"threads, wrk 1 thread x 16 connections, {DURATION}):"
    )
    print(
        f"  valid key, distinct orders: {valid['rps']:.0f} req/s, p50 {valid['p50_ms']:.1f} ms, "
        f"p95 {valid['p95_ms']:.1f} ms, p99 {valid['p99_ms']:.1f} ms, errors "
        f"{valid['errors']:.0f}; {valid['stored']} distinct callbacks stored"
        "   (target p95 < 50 ms)"
    )
    # Every answer here is a 403, which wrk counts among its errors.
    print(
        f"  floor, wrong key (403):     {floor['rps']:.0f} req/s, p50 {floor['p50_ms']:.1f} ms, "
        f"p95 {floor['p95_ms']:.1f} ms, p99 {floor['p99_ms']:.1f} ms"
    )


if __name__ == "__main__":
    main()
