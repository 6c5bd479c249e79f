"""A campaign's counters after its send is done: delivery reports arrive after the last message
is sent, so the counters keep refreshing, and `campaign.completed` waits for them, until none
is awaited or the status-report match window has passed."""

import datetime as dt
import uuid

import pytest
from django.utils import timezone
from django_tenants.utils import tenant_context
from standardwebhooks.webhooks import Webhook

from messaging.models import Campaign, Message
from messaging.services.campaign_progress import campaigns_advance
from messaging.status_reports import message_status_reports_apply
from sms.providers.base import StatusReport
from tests.envelope import ok_data
from tests.fakes.server import CallbackSink
from tests.messaging.helpers import make_contacts
from tests.sms.helpers import fund

CAMPAIGNS = "/api/messaging/campaigns/"


@pytest.fixture
def sink(api, a, settings):
    """A receiver subscribed to tenant A's campaign events; `.events()` are the verified ones."""
    settings.WEBHOOKS_ALLOW_PRIVATE_TARGETS = True
    with CallbackSink() as receiver:
        endpoint = ok_data(
            api(a.owner).post(
                "/api/auth/webhooks/create/",
                {"url": receiver.url, "events": ["campaign.started", "campaign.completed"]},
                format="json",
            ),
            201,
        )
        receiver.events = lambda: [
            Webhook(endpoint["secret"]).verify(r.body, r.headers) for r in receiver.requests
        ]
        yield receiver


@pytest.fixture
def sent_campaign(api, a, on_commit):
    """A campaign to 3 contacts whose messages were all handed over and none reported on yet."""
    fund(a.tenant, 10)
    contacts = make_contacts(a.tenant, 3)
    client = api(a.owner)
    body = {
        "name": "Late reports",
        "message_text": "Karibu!",
        "target_contact_ids": [str(c.pk) for c in contacts],
    }
    campaign = ok_data(client.post(CAMPAIGNS, body, format="json"), 201)
    with on_commit():
        ok_data(client.post(f"{CAMPAIGNS}{campaign['id']}/start/"))
    with tenant_context(a.tenant):  # the sandbox reports at once; a real provider takes a while
        Message.objects.update(status=Message.Status.SENT, delivered_at=None)
    return campaign


def report(tenant, on_commit, status: str, count: int) -> None:
    """`count` more of the campaign's sent messages reported `status` by the provider."""
    with tenant_context(tenant), on_commit():
        messages = Message.objects.filter(status=Message.Status.SENT)[:count]
        message_status_reports_apply(
            reports=[
                StatusReport(event_id=uuid.uuid4().hex, status=status, reference=str(m.pk))
                for m in messages
            ]
        )


def advance(tenant, on_commit) -> None:
    with tenant_context(tenant), on_commit():
        campaigns_advance(tenant=tenant)


def detail(api, a, campaign) -> dict:
    return ok_data(api(a.owner).get(f"{CAMPAIGNS}{campaign['id']}/"))


def test_reports_after_completion_reach_the_counters_and_the_completed_event(
    api, a, sink, sent_campaign, on_commit
):
    advance(a.tenant, on_commit)  # nothing left to send: completed, with no report yet
    completed = detail(api, a, sent_campaign)
    report(a.tenant, on_commit, Message.Status.DELIVERED, 2)
    advance(a.tenant, on_commit)
    partly = detail(api, a, sent_campaign)
    report(a.tenant, on_commit, Message.Status.UNDELIVERED, 1)
    advance(a.tenant, on_commit)  # none awaited any more: final
    final = detail(api, a, sent_campaign)
    analytics = ok_data(api(a.owner).get(f"{CAMPAIGNS}{sent_campaign['id']}/analytics/"))

    assert (completed["status"], completed["sent_count"], completed["delivered_count"]) == (
        "completed",
        3,
        0,
    )
    assert (partly["delivered_count"], partly["delivery_rate"]) == (2, 66.67)
    assert (final["delivered_count"], final["failed_count"], final["delivery_rate"]) == (
        2,
        1,
        66.67,
    )
    assert (analytics["delivered"], analytics["failed"], analytics["delivery_rate"]) == (
        2,
        1,
        66.67,
    )
    events = sink.events()
    assert [e["type"] for e in events] == ["campaign.started", "campaign.completed"]
    assert {k: events[1]["data"][k] for k in ("sent_count", "delivered_count", "failed_count")} == {
        "sent_count": 3,
        "delivered_count": 2,
        "failed_count": 1,
    }
    with tenant_context(a.tenant):
        assert Campaign.objects.get().counters_open_until is None


def test_the_window_closes_the_counters_and_publishes_what_was_reported(
    api, a, sink, sent_campaign, on_commit
):
    advance(a.tenant, on_commit)
    report(a.tenant, on_commit, Message.Status.DELIVERED, 1)
    with tenant_context(a.tenant):  # the match window has passed since the send finished
        Campaign.objects.update(counters_open_until=timezone.now() - dt.timedelta(seconds=1))
    advance(a.tenant, on_commit)
    report(a.tenant, on_commit, Message.Status.DELIVERED, 2)  # too late for the counters
    advance(a.tenant, on_commit)

    final = detail(api, a, sent_campaign)
    assert (final["status"], final["delivered_count"]) == ("completed", 1)
    events = sink.events()
    assert [e["type"] for e in events] == ["campaign.started", "campaign.completed"]
    assert events[1]["data"]["delivered_count"] == 1


def test_the_window_is_the_status_report_match_window(a, sent_campaign, on_commit, settings):
    settings.STATUS_EVENT_MATCH_WINDOW_SECONDS = 600

    advance(a.tenant, on_commit)

    with tenant_context(a.tenant):
        campaign = Campaign.objects.get()
    assert campaign.status == Campaign.Status.COMPLETED
    window = campaign.counters_open_until - campaign.completed_at
    assert dt.timedelta(seconds=599) < window < dt.timedelta(seconds=601)


def test_a_cancelled_campaign_counts_the_reports_of_what_it_sent(api, a, sent_campaign, on_commit):
    ok_data(api(a.owner).post(f"{CAMPAIGNS}{sent_campaign['id']}/cancel/"))
    report(a.tenant, on_commit, Message.Status.DELIVERED, 3)
    advance(a.tenant, on_commit)

    final = detail(api, a, sent_campaign)
    assert (final["status"], final["delivered_count"]) == ("cancelled", 3)
    with tenant_context(a.tenant):
        assert Campaign.objects.get().counters_open_until is None
