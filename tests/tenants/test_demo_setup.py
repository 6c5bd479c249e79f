"""`manage.py demo_setup`: an operator, a demo tenant and its first API key, once."""

import io
import re

from django.core.management import call_command

from accounts.models import User
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


def test_the_operator_gets_a_random_password_shown_once(db):
    first = run()
    second = run()

    (password,) = re.findall(r"Password:\s+(\S+)\s+\(shown once", first)
    admin = User.objects.get(email="admin@mifumo.local")
    assert admin.check_password(password)
    assert len(password) >= 16
    assert password not in second
    assert "changepassword" in second
