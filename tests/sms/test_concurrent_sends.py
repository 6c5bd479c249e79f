"""Concurrent sends against one balance: credits are never spent twice (DESIGN section 5)."""

import threading
from concurrent.futures import ThreadPoolExecutor

from django.db import connection
from django_tenants.utils import tenant_context

from billing.models import CreditLedgerEntry
from messaging.models import Message
from tests.conftest import client_for, committed
from tests.sms.helpers import SEND, balance_of, fund

SENDERS = 50


@committed
def test_fifty_concurrent_sends_against_twenty_credits(committed_tenant):
    tenant, owner = committed_tenant.tenant, committed_tenant.owner
    fund(tenant, 20)
    start = threading.Barrier(SENDERS)

    def send_one(n: int) -> int:
        client = client_for(owner)
        try:
            start.wait()
            body = {"message": "One credit", "recipient": f"+25571300{n:04d}"}
            return client.post(SEND, body, format="json").status_code
        finally:
            connection.close()

    with ThreadPoolExecutor(SENDERS) as pool:
        statuses = list(pool.map(send_one, range(SENDERS)))

    assert sorted(statuses) == [201] * 20 + [402] * 30
    assert balance_of(tenant) == 0
    reserves = CreditLedgerEntry.objects.filter(tenant=tenant, kind="reserve")
    assert reserves.count() == 20
    assert sorted(reserves.values_list("balance_after", flat=True)) == list(range(20))
    with tenant_context(tenant):
        assert Message.objects.count() == 20
