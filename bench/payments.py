"""Payment callback benchmarks (issue 14): how fast the web tier answers the providers.

1. ZenoPay, `POST /webhooks/zenopay/`: wrk posts valid callbacks (the right x-api-key) for
   distinct pending orders, as ZenoPay would once each payer pays. The floor is the same route
   with a wrong key: the stack's 403, nothing stored.
2. Stripe, `POST /webhooks/stripe/`: wrk posts `checkout.session.completed` events, each
   about a distinct pending card order and signed as Stripe signs it (Stripe-Signature over
   the timestamp and the raw body, tests.fakes.stripe.sign, made just before the run: Stripe
   refuses nothing older than five minutes and neither do we). The floor is the same bodies
   with a wrong signature: the route's 400, nothing stored.

Target for both: a callback is answered in under 50 ms at p95. No worker runs, so the figure is
what the web tier does per callback (verify, parse, store it once, enqueue the task that asks
the provider before anything is credited).

Runs against a separate database (BENCH_DATABASE_URL, default mifumo_bench) on a tenant it
creates afresh. Usage: `make bench` (or .venv/bin/python bench/payments.py); BENCH_PARTS
(zenopay,stripe), BENCH_ORDERS / BENCH_CARD_ORDERS, BENCH_WEB_WORKERS / BENCH_WEB_THREADS
and BENCH_DURATION narrow or reshape a run.
"""

import argparse
import json
import os
import secrets
import subprocess
import sys
from datetime import timedelta
from decimal import Decimal
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
from environment import bench_environment  # noqa: E402

PORT = int(os.environ.get("BENCH_PORT", "8767"))
BASE = f"http://127.0.0.1:{PORT}"
API_KEY = "bench-zenopay-key"
STRIPE_WEBHOOK_SECRET = "whsec_bench_payments"
os.environ.update(
    bench_environment(),
    PAYMENT_PROVIDER="zenopay",
    ZENOPAY_API_KEY=API_KEY,
    # Cards go to Stripe as in production; no call reaches it, as no worker runs.
    STRIPE_SECRET_KEY="sk_test_bench_payments",
    STRIPE_WEBHOOK_SECRET=STRIPE_WEBHOOK_SECRET,
)

import django  # noqa: E402

django.setup()

from django.core.management import call_command  # noqa: E402
from django.db import connection  # noqa: E402
from django.utils import timezone  # noqa: E402
from load import settle, wrk_lines  # noqa: E402
from webserver import gunicorn_start  # noqa: E402

from accounts.models import User  # noqa: E402
from billing.models import PaymentTransaction  # noqa: E402
from tenants.models import Tenant  # noqa: E402
from tenants.services import tenant_create  # noqa: E402
from tests.fakes.stripe import event_json, sign  # noqa: E402
from webhooks.models import PaymentCallback, StripeEvent  # noqa: E402

# More orders than a run can post, so every callback names an order not seen before (a
# Stripe event is ten times a ZenoPay callback's size: fewer of them fill a run).
ORDERS = int(os.environ.get("BENCH_ORDERS", "100000"))
CARD_ORDERS = int(os.environ.get("BENCH_CARD_ORDERS", "50000"))
PARTS = set(os.environ.get("BENCH_PARTS", "zenopay,stripe").split(","))
SUBDOMAIN = "bench-payments"
# The queues a part starts with empty.
QUEUES = "default"
WEB_WORKERS = int(os.environ.get("BENCH_WEB_WORKERS", "4"))
WEB_THREADS = int(os.environ.get("BENCH_WEB_THREADS", "1"))
DURATION = os.environ.get("BENCH_DURATION", "10s")
WRK = ["wrk", "-t1", "-c16", f"-d{DURATION}"]
ZENOPAY_ROUTE = "/webhooks/zenopay/"
STRIPE_ROUTE = "/webhooks/stripe/"
# Each Stripe event carries its own signature, which post_json.lua's one fixed header cannot.
SIGNED_WRK = [*WRK, "-s", str(ROOT / "bench/wrk/signed_post.lua")]


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


def pending_card_orders(tenant: Tenant) -> list[PaymentTransaction]:
    """CARD_ORDERS pending card orders of 110,000 TZS, each with its Checkout Session, as the
    purchase route leaves them."""
    expires_at = timezone.now() + timedelta(hours=1)
    orders = [
        PaymentTransaction(
            tenant=tenant,
            order_id=f"bench-card-{secrets.token_hex(8)}-{n}",
            credits=5000,
            bonus_credits=250,
            amount=Decimal("110000.00"),
            currency="TZS",
            provider=PaymentTransaction.Provider.STRIPE,
            payment_method=PaymentTransaction.Method.CARD,
            buyer_name="Bench Buyer",
            buyer_email="buyer@bench.example",
            provider_reference=f"cs_test_{secrets.token_hex(12)}",
            payment_url="https://checkout.stripe.com/c/pay/bench",
            expires_at=expires_at,
        )
        for n in range(CARD_ORDERS)
    ]
    PaymentTransaction.objects.bulk_create(orders, batch_size=5000)
    return orders


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


def stripe_events(orders: list[PaymentTransaction]) -> list[str]:
    """The checkout.session.completed event Stripe sends for each order once its payer paid:
    the paid Checkout Session, in Stripe's shape (tests.fakes.stripe)."""
    return [
        event_json(
            "checkout.session.completed",
            {
                "id": order.provider_reference,
                "object": "checkout.session",
                "amount_subtotal": 11_000_000,
                "amount_total": 11_000_000,
                "cancel_url": f"https://app.example.com/billing/payments/{order.order_id}",
                "client_reference_id": order.order_id,
                "created": int(order.created_at.timestamp()),
                "currency": "tzs",
                "customer": None,
                "customer_email": order.buyer_email,
                "expires_at": int(order.expires_at.timestamp()),
                "livemode": False,
                "metadata": {"order_id": order.order_id},
                "mode": "payment",
                "payment_intent": f"pi_test_{secrets.token_hex(12)}",
                "payment_status": "paid",
                "status": "complete",
                "success_url": f"https://app.example.com/billing/payments/{order.order_id}",
                "url": None,
            },
        )
        for order in orders
    ]


def signed_lines(bodies: list[str], *, forged: bool = False) -> list[str]:
    """Each body with its Stripe-Signature, signed now (or with a signature of the right
    shape that does not verify)."""
    if forged:
        return [f"{sign(body, 'whsec_not_the_secret')}\t{body}" for body in bodies]
    return [f"{sign(body, STRIPE_WEBHOOK_SECRET)}\t{body}" for body in bodies]


def zenopay_part(tenant: Tenant) -> tuple[dict, dict]:
    PaymentCallback.objects.filter(provider=PaymentTransaction.Provider.ZENOPAY).delete()
    bodies = callback_bodies(pending_orders(tenant))
    connection.close()
    script = [*WRK, "-s", str(ROOT / "bench/wrk/post_json.lua")]
    settle(QUEUES)
    valid = wrk_lines(script, f"{BASE}{ZENOPAY_ROUTE}", bodies, HEADER=f"x-api-key: {API_KEY}")
    stored = PaymentCallback.objects.filter(provider=PaymentTransaction.Provider.ZENOPAY)
    valid["stored"] = stored.count()
    settle(QUEUES)
    floor = wrk_lines(script, f"{BASE}{ZENOPAY_ROUTE}", bodies, HEADER="x-api-key: not-the-key")
    return valid, floor


def stripe_part(tenant: Tenant) -> tuple[dict, dict]:
    StripeEvent.objects.all().delete()
    bodies = stripe_events(pending_card_orders(tenant))
    connection.close()
    header = {"SIGNATURE_HEADER": "Stripe-Signature"}
    settle(QUEUES)
    valid = wrk_lines(SIGNED_WRK, f"{BASE}{STRIPE_ROUTE}", signed_lines(bodies), **header)
    settle(QUEUES)  # and the requests still in flight when wrk stopped are answered
    valid["stored"] = StripeEvent.objects.count()
    forged = signed_lines(bodies, forged=True)
    floor = wrk_lines(SIGNED_WRK, f"{BASE}{STRIPE_ROUTE}", forged, **header)
    settle(QUEUES)
    floor["stored"] = StripeEvent.objects.count() - valid["stored"]
    return valid, floor


def main():
    argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    ).parse_args()
    call_command("ensure_services")
    call_command("migrate_all", verbosity=0)
    tenant = fresh_tenant()
    # Django logs each of the floor's 4xx as a line; tens of thousands would drown the report.
    web = gunicorn_start(
        port=PORT,
        env=dict(os.environ),
        workers=WEB_WORKERS,
        threads=WEB_THREADS,
        stderr=subprocess.DEVNULL,
    )
    results = {}
    try:
        if "zenopay" in PARTS:
            results["zenopay"] = zenopay_part(tenant)
        if "stripe" in PARTS:
            results["stripe"] = stripe_part(tenant)
    finally:
        web.terminate()
        web.wait()
        settle(QUEUES)
    if "zenopay" in results:
        report_zenopay(*results["zenopay"])
    if "stripe" in results:
        report_stripe(*results["stripe"])


def _figures(run: dict) -> str:
    return (
        f"{run['rps']:.0f} req/s, p50 {run['p50_ms']:.1f} ms, p95 {run['p95_ms']:.1f} ms, "
        f"p99 {run['p99_ms']:.1f} ms"
    )


def _setup() -> str:
    return (
        f"gunicorn {WEB_WORKERS} workers x {WEB_THREADS} threads, wrk 1 thread x 16 "
        f"connections, {DURATION}"
    )


def report_zenopay(valid: dict, floor: dict) -> None:
    print(f"ZenoPay callbacks, POST {ZENOPAY_ROUTE} ({_setup()}):")
    print(
        f"  valid key, distinct orders: {_figures(valid)}, errors {valid['errors']:.0f}; "
        f"{valid['stored']} distinct callbacks stored   (target p95 < 50 ms)"
    )
    # Every answer here is a 403, which wrk counts among its errors.
    print(f"  floor, wrong key (403):     {_figures(floor)}")


def report_stripe(valid: dict, floor: dict) -> None:
    print(f"Stripe events, POST {STRIPE_ROUTE} ({_setup()}):")
    print(
        f"  signed checkout.session.completed, distinct orders: {_figures(valid)}, errors "
        f"{valid['errors']:.0f}; {valid['stored']} distinct events stored"
        "   (target p95 < 50 ms)"
    )
    # Every answer here is a 400, which wrk counts among its errors.
    print(
        f"  floor, wrong signature (400):                       {_figures(floor)}; "
        f"{floor['stored']} stored"
    )


if __name__ == "__main__":
    main()
