"""Concurrent sends against one balance: credits are never spent twice (DESIGN section 5)."""

from django_tenants.utils import tenant_context

from billing.models import CreditLedgerEntry
from messaging.models import Message
from tests.concurrency import at_once
from tests.conftest import client_for, committed
from tests.sms.helpers import SEND, balance_of, fund

SENDERS = 50


@committed
def test_fifty_concurrent_sends_against_twenty_credits(committed_tenant):
    tenant, owner = committed_tenant.tenant, committed_tenant.owner
    fund(tenant, 20)

    def send_one(n: int) -> int:
        body = {"message": "One credit", "recipient": f"+25571300{n:04d}"}
        return client_for(owner).post(SEND, body, format="json").status_code

    statuses = at_once(send_one, SENDERS)

    assert sorted(statuses) == [201] * 20 + [402] * 30
    assert balance_of(tenant) == 0
    reserves = CreditLedgerEntry.objects.filter(tenant=tenant, kind="reserve")
    assert reserves.count() == 20
    assert sorted(reserves.values_list("balance_after", flat=True)) == list(range(20))
    with tenant_context(tenant):
        assert Message.objects.count() == 20
