"""Campaign benchmarks (issue 6): a 100,000-recipient campaign, personalised and plain, from
start to every message handed to the fake Beem server by 2 send workers.

Runs against a separate database (BENCH_DATABASE_URL, default mifumo_bench) on a tenant it
creates afresh. Usage: `make bench` (or .venv/bin/python bench/campaigns.py);
BENCH_RECIPIENTS changes the audience size.
"""

import os
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.update(
    DEBUG="false",
    SECRET_KEY="bench-only-secret-key-of-at-least-32-bytes",
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
from django_tenants.utils import tenant_context  # noqa: E402

from accounts.models import User  # noqa: E402
from billing.services import credit_add  # noqa: E402
from messaging.models import Contact, Template  # noqa: E402
from messaging.services.campaigns import campaign_create, campaign_start  # noqa: E402
from tenants.models import Tenant  # noqa: E402
from tenants.services import tenant_create  # noqa: E402
from tests.fakes.beem import FakeBeem  # noqa: E402

RECIPIENTS = int(os.environ.get("BENCH_RECIPIENTS", "100000"))
SUBDOMAIN = "bench-campaigns"
CITIES = ["Dar", "Arusha", "Mwanza", "Dodoma", "Mbeya", "Moshi", "Tanga", "Zanzibar"]
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
    with tenant_context(tenant):
        Contact.objects.bulk_create(
            (
                Contact(
                    name=f"Mteja {n}",
                    phone_e164=f"+2557{n:08d}",
                    tags=["promo"],
                    attributes={"city": CITIES[n % len(CITIES)]},
                )
                for n in range(RECIPIENTS)
            ),
            batch_size=10_000,
        )
    return tenant


def run(tenant, beem: FakeBeem, *, personalised: bool) -> dict:
    with tenant_context(tenant):
        template = None
        text = "Ofa ya wiki: punguzo la 20% kwa bidhaa zote!"
        if personalised:
            content = "Habari {{first_name}}, ofa ya wiki {{city}}: punguzo la 20%!"
            template = Template.objects.create(name="Bench", content=content)
            text = ""
        campaign = campaign_create(
            data={
                "name": "Bench",
                "message_text": text,
                "template": template,
                "target_criteria": {"tags": ["promo"]},
            }
        )
        already = beem.accepted_count
        started = time.perf_counter()
        campaign_start(campaign=campaign, tenant=tenant)
        created = time.perf_counter()
    deadline = created + 600
    while beem.accepted_count - already < RECIPIENTS and time.perf_counter() < deadline:
        time.sleep(0.05)
    return {"create_s": created - started, "total_s": time.perf_counter() - started}


def main():
    call_command("ensure_services")
    call_command("migrate_all", verbosity=0)
    tenant = fresh_tenant()
    with connection.cursor() as cursor:
        cursor.execute("CHECKPOINT")
    connection.close()
    with FakeBeem() as beem:
        env = {**os.environ, "BEEM_SEND_URL": beem.send_url}
        command = [str(BIN / "celery"), "-A", "mifumo", "worker", "-Q", "sends", "-c", "2"]
        workers = subprocess.Popen(
            [*command, "-l", "warning", "--without-gossip"], cwd=ROOT, env=env
        )
        try:
            time.sleep(3)
            results = {kind: run(tenant, beem, personalised=kind == "personalised")
                       for kind in ("personalised", "plain")}  # fmt: skip
        finally:
            workers.terminate()
            workers.wait()
    for kind, figures in results.items():
        print(f"{RECIPIENTS} recipients, {kind}:")
        print(
            f"  messages created {figures['create_s']:.2f} s after start (target <= 3 s); "
            f"all handed to the fake Beem in {figures['total_s']:.2f} s "
            f"(target <= {30 if kind == 'personalised' else 20} s)"
        )


if __name__ == "__main__":
    main()
