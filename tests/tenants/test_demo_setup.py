"""`manage.py demo_setup`: an operator, a demo tenant and its first API key, once."""

import io
import re

from django.core.management import call_command

from integration.models import ApiKey
from integration.services.keys import key_hash
from tenants.models import Tenant


def run() -> str:
    out = io.StringIO()
    call_command("demo_setup", "--subdomain", "demo-test", stdout=out)
    return out.getvalue()


def test_the_first_run_shows_the_demo_key_once(db):
    first = run()
    second = run()

    (key,) = re.findall(r"mif_[\w-]+", first)
    tenant = Tenant.objects.get(subdomain="demo-test")
    assert ApiKey.objects.get(tenant=tenant).key_hash == key_hash(key)
    assert "mif_" not in second
    assert ApiKey.objects.filter(tenant=tenant).count() == 1
