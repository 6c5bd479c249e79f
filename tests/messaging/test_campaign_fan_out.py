"""A campaign's fan-out against real concurrency (committed data, other connections): two
tasks racing make one send, and a cancel made while the messages are being made answers at
once and keeps none of them."""

import threading
import time
from unittest import mock

from django.db import connection
from django_tenants.utils import tenant_context

from billing.models import CreditLedgerEntry
from messaging.models import Campaign, Message, SendRequest
from messaging.services import campaign_sends, campaigns
from tests.conftest import committed
from tests.messaging.helpers import make_contacts
from tests.sms.helpers import balance_of, fund

AUDIENCE = 20


def started_campaign(tenant) -> Campaign:
    """A campaign to AUDIENCE contacts, started, whose fan-out the test runs itself."""
    fund(tenant, 100)
    make_contacts(tenant, AUDIENCE, tags=["promo"])
    data = {"name": "Race", "message_text": "Ofa!", "target_criteria": {"tags": ["promo"]}}
    with tenant_context(tenant):
        campaign = campaigns.campaign_create(tenant=tenant, data=data)
        with mock.patch.object(campaigns, "campaign_fan_out_enqueue"):
            return campaigns.campaign_start(campaign=campaign, tenant=tenant)


def in_thread(tenant, work) -> threading.Thread:
    """Run `work()` in the tenant on a connection of its own."""

    def run():
        try:
            with tenant_context(tenant):
                work()
        finally:
            connection.close()

    thread = threading.Thread(target=run)
    thread.start()
    return thread


@committed
def test_two_fan_outs_at_once_make_one_send(committed_tenant):
    tenant = committed_tenant.tenant
    campaign = started_campaign(tenant)
    together, sends = threading.Barrier(2), []

    def fan_out():
        together.wait()
        sends.append(campaign_sends.campaign_fan_out(campaign_id=campaign.pk, tenant=tenant))

    for thread in [in_thread(tenant, fan_out) for _ in range(2)]:
        thread.join()

    assert sorted(send is None for send in sends) == [False, True]
    with tenant_context(tenant):
        assert SendRequest.objects.count() == 1
        assert Message.objects.count() == AUDIENCE
        assert Campaign.objects.get().send_request_id is not None
    assert CreditLedgerEntry.objects.filter(tenant=tenant, kind="reserve").count() == 1
    assert balance_of(tenant) == 100 - AUDIENCE


@committed
def test_a_cancel_while_the_messages_are_made_answers_at_once_and_keeps_none(committed_tenant):
    tenant = committed_tenant.tenant
    campaign = started_campaign(tenant)
    made, cancelled, sends = threading.Event(), threading.Event(), []
    make_send = campaign_sends.send_to_contacts

    def send_then_wait(**kwargs):
        send = make_send(**kwargs)
        made.set()
        assert cancelled.wait(10)
        return send

    with mock.patch.object(campaign_sends, "send_to_contacts", send_then_wait):
        thread = in_thread(
            tenant,
            lambda: sends.append(
                campaign_sends.campaign_fan_out(campaign_id=campaign.pk, tenant=tenant)
            ),
        )
        assert made.wait(10)
        began = time.monotonic()
        with tenant_context(tenant):
            campaigns.campaign_cancel(campaign=campaign, tenant=tenant)
        answered_in = time.monotonic() - began
        cancelled.set()
        thread.join()

    assert answered_in < 1  # the fan-out holds no lock a cancel waits for
    assert sends == [None]
    with tenant_context(tenant):
        stored = Campaign.objects.get()
        assert (stored.status, stored.send_request_id) == ("cancelled", None)
        assert not SendRequest.objects.exists() and not Message.objects.exists()
    assert balance_of(tenant) == 100
