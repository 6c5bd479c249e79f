"""/api/messaging/campaigns/: targeting arithmetic against the dry-run, the state machine,
a start that answers at once and its fan-out through the outbox (once, or failing the campaign
visibly), pause, resume and cancel with exact refunds."""

import datetime as dt
from collections import defaultdict

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from django_tenants.utils import tenant_context
from standardwebhooks.webhooks import Webhook

from billing.models import CreditLedgerEntry
from messaging import outbox
from messaging.models import Campaign, CampaignRun, Message, SendRequest
from messaging.serializers import CampaignInputSerializer
from messaging.services.campaign_progress import campaigns_advance
from messaging.services.campaign_sends import campaign_fan_out
from messaging.services.campaigns import AUTHORED_FIELDS
from mifumo import events
from tests.envelope import assert_error, assert_field_errors, ok_data
from tests.fakes.server import CallbackSink
from tests.messaging.helpers import make_contact, make_contacts, make_segment, make_template
from tests.sms.helpers import balance_of, fund

CAMPAIGNS = "/api/messaging/campaigns/"


def url(campaign_id, action: str = "") -> str:
    return f"{CAMPAIGNS}{campaign_id}/" + (f"{action}/" if action else "")


@pytest.fixture
def audience(a):
    """A (vip, opted in), B (vip, opted out), C (vip, inactive), D (retail), E (deleted)."""
    now = timezone.now()
    people = {
        "A": make_contact(a.tenant, name="Asha", tags=["vip"], is_opted_in=True),
        "B": make_contact(a.tenant, name="Baraka", tags=["vip"], opt_out_at=now),
        "C": make_contact(a.tenant, name="Chausiku", tags=["vip"], is_active=False),
        "D": make_contact(a.tenant, name="Dotto", tags=["retail"], attributes={"city": "Moshi"}),
        "E": make_contact(a.tenant, name="Erasto", tags=["vip"], deleted_at=now),
    }
    people["vip"] = make_segment(a.tenant, name="VIPs", filter_json={"tags": ["vip"]})
    return people


def targeting(people, **extra) -> dict:
    return {
        "name": "November promo",
        "message_text": "Karibu!",
        "target_contact_ids": [str(people["A"].pk), str(people["D"].pk), str(people["E"].pk)],
        "target_segment_ids": [str(people["vip"].pk)],
        "target_criteria": {"tags": ["retail"]},
        **extra,
    }


def test_the_dry_run_explains_the_audience_and_saves_nothing(api, a, audience):
    data = ok_data(
        api(a.owner).post(f"{CAMPAIGNS}?dry_run=true", targeting(audience), format="json")
    )

    assert data["total_recipients"] == 2  # A and D
    assert data["explanations"] == [
        "Duplicates removed: 2",  # A twice, D twice among 6 listed
        "Opted-out contacts excluded: 1",
        "Inactive contacts excluded: 1",
        "Invalid numbers excluded: 0",
        "Unknown or deleted contacts ignored: 1",
    ]
    assert (data["segments_per_message"], data["credits"], data["estimated_cost"]) == (1, 2, 50.0)
    with tenant_context(a.tenant):
        assert not Campaign.objects.exists()


def test_a_template_is_estimated_per_contact_and_missing_values_counted(api, a, audience):
    template = make_template(a.tenant, content="Hi {{first_name}} from {{city}}")
    body = targeting(audience, message_text="", template=str(template.pk))

    data = ok_data(api(a.owner).post(f"{CAMPAIGNS}?dry_run=true", body, format="json"))

    assert "Contacts missing {{city}}: 1" in data["explanations"]  # Asha has no city


def test_placeholders_in_the_message_text_are_filled_per_contact(api, a, audience, on_commit):
    fund(a.tenant, 10)
    body = targeting(audience, message_text="Habari {{first_name}} wa {{city}}")

    dry_run = ok_data(api(a.owner).post(f"{CAMPAIGNS}?dry_run=true", body, format="json"))
    campaign = ok_data(api(a.owner).post(CAMPAIGNS, body, format="json"), 201)
    with on_commit():
        ok_data(api(a.owner).post(url(campaign["id"], "start")))

    assert "Contacts missing {{city}}: 1" in dry_run["explanations"]  # Asha has no city
    with tenant_context(a.tenant):
        texts = {m.recipient: m.text for m in Message.objects.all()}
    assert texts == {
        audience["A"].phone_e164: "Habari Asha wa ",
        audience["D"].phone_e164: "Habari Dotto wa Moshi",
    }


def test_create_makes_a_draft_or_a_scheduled_campaign(api, a, audience):
    draft = ok_data(api(a.owner).post(CAMPAIGNS, targeting(audience), format="json"), 201)
    later = (timezone.now() + dt.timedelta(days=1)).isoformat()
    scheduled = ok_data(
        api(a.owner).post(CAMPAIGNS, targeting(audience, scheduled_at=later), format="json"), 201
    )

    assert (draft["status"], draft["total_recipients"], draft["can_start"]) == ("draft", 2, True)
    assert draft["target_segment_names"] == ["VIPs"]
    assert draft["created_by_name"]
    assert scheduled["status"] == "scheduled"


@pytest.mark.parametrize(
    ("body", "code"),
    [
        ({"message_text": ""}, "MISSING_MESSAGE"),
        ({"target_segment_ids": ["00000000-0000-0000-0000-000000000000"]}, "VALIDATION_ERROR"),
        ({"target_criteria": {"colour": "red"}}, "VALIDATION_ERROR"),
        ({"sender_id": "NOTAPPROVED"}, "SENDER_ID_INVALID"),
    ],
)
def test_bad_campaigns_are_refused(api, a, audience, body, code):
    assert_error(
        api(a.owner).post(CAMPAIGNS, targeting(audience, **body), format="json"), 400, code
    )


DAILY = {"frequency": "daily", "time": "09:00"}


def recurring(api, a, audience, **schedule) -> dict:
    body = {"is_recurring": True, "recurring_schedule": {**DAILY, **schedule}}
    return create(api, a, audience, **body)


def make_due(campaign: dict) -> dt.datetime:
    due = timezone.now() - dt.timedelta(minutes=1)
    Campaign.objects.filter(pk=campaign["id"]).update(next_run_at=due)
    return due


def test_a_recurring_campaign_is_scheduled_for_its_first_run(api, a, audience):
    campaign = recurring(api, a, audience)

    assert (campaign["status"], campaign["runs"], campaign["can_start"]) == ("scheduled", [], False)
    first = dt.datetime.fromisoformat(campaign["next_run_at"])
    assert (first.astimezone(dt.UTC).hour, first.minute) == (6, 0)  # 09:00 in Dar es Salaam
    assert dt.timedelta(0) < first - timezone.now() <= dt.timedelta(days=1)
    assert campaign["recurring_schedule"]["timezone"] == "Africa/Dar_es_Salaam"
    assert_field_errors(api(a.owner).post(url(campaign["id"], "start")), "is_recurring")


@pytest.mark.parametrize(
    "schedule",
    [{}, {"frequency": "daily"}, {"frequency": "weekly", "time": "09:00", "days_of_week": [9]}],
)
def test_a_bad_recurring_schedule_is_a_field_error(api, a, audience, schedule):
    body = targeting(audience, is_recurring=True, recurring_schedule=schedule)

    assert_field_errors(api(a.owner).post(CAMPAIGNS, body, format="json"), "recurring_schedule")


def test_a_due_run_starts_once_and_the_next_is_scheduled(api, a, audience, on_commit):
    fund(a.tenant, 10)
    campaign = recurring(api, a, audience)

    with tenant_context(a.tenant):
        due = make_due(campaign)
        with on_commit():
            assert campaigns_advance(tenant=a.tenant)["runs"] == 1
            assert campaigns_advance(tenant=a.tenant)["runs"] == 0
        run = CampaignRun.objects.get()
        assert (run.status, run.scheduled_for, run.recipients, run.credits) == (
            "started",
            due,
            2,
            2,
        )
        assert set(Message.objects.values_list("status", flat=True)) == {"delivered"}
        campaigns_advance(tenant=a.tenant)  # the run's messages are done: scheduled again

    assert balance_of(a.tenant) == 8
    data = ok_data(api(a.owner).get(url(campaign["id"])))
    assert (data["status"], data["delivered_count"]) == ("scheduled", 2)
    assert dt.datetime.fromisoformat(data["next_run_at"]) > timezone.now()
    assert [(r["status"], r["recipients"]) for r in data["runs"]] == [("started", 2)]


def test_a_run_without_credits_fails_and_the_next_stays_scheduled(api, a, audience):
    campaign = recurring(api, a, audience)

    with tenant_context(a.tenant):
        make_due(campaign)
        campaigns_advance(tenant=a.tenant)
        run = CampaignRun.objects.get()
        assert not Message.objects.exists()

    assert (run.status, run.send_request_id) == ("failed", None)
    assert run.failure_reason
    data = ok_data(api(a.owner).get(url(campaign["id"])))
    assert data["status"] == "scheduled"
    assert dt.datetime.fromisoformat(data["next_run_at"]) > timezone.now()


def test_the_last_run_before_end_at_completes_the_campaign(api, a, audience, on_commit):
    fund(a.tenant, 10)
    campaign = recurring(
        api, a, audience, end_at=(timezone.now() + dt.timedelta(days=2)).isoformat()
    )

    with tenant_context(a.tenant):  # made days ago: now its end is before the next run
        stored = Campaign.objects.get()
        end_at = (timezone.now() + dt.timedelta(minutes=1)).isoformat()
        stored.recurring_schedule = {**stored.recurring_schedule, "end_at": end_at}
        stored.save(update_fields=["recurring_schedule"])
        make_due(campaign)
        with on_commit():
            campaigns_advance(tenant=a.tenant)
        assert Campaign.objects.get().next_run_at is None
        campaigns_advance(tenant=a.tenant)

    assert ok_data(api(a.owner).get(url(campaign["id"])))["status"] == "completed"


def test_cancel_stops_future_runs(api, a, audience):
    fund(a.tenant, 10)
    campaign = recurring(api, a, audience)

    cancelled = ok_data(api(a.owner).post(url(campaign["id"], "cancel")))
    with tenant_context(a.tenant):
        make_due(campaign)
        Campaign.objects.update(next_run_at=timezone.now())  # even if one were left due
        assert campaigns_advance(tenant=a.tenant)["runs"] == 0
        assert not CampaignRun.objects.exists()

    assert (cancelled["status"], cancelled["next_run_at"]) == ("cancelled", None)


def test_no_target_is_a_field_error(api, a):
    body = {"name": "x", "message_text": "Hi"}

    assert_field_errors(api(a.owner).post(CAMPAIGNS, body, format="json"), "target_contact_ids")


def create(api, a, audience, **extra) -> dict:
    return ok_data(api(a.owner).post(CAMPAIGNS, targeting(audience, **extra), format="json"), 201)


def test_a_start_reserves_once_sends_and_completes(api, a, audience, on_commit):
    fund(a.tenant, 10)
    campaign = create(api, a, audience)

    with on_commit():
        started = ok_data(api(a.owner).post(url(campaign["id"], "start")))

    assert started["status"] == "running"
    assert balance_of(a.tenant) == 8
    assert CreditLedgerEntry.objects.filter(tenant=a.tenant, kind="reserve").count() == 1
    with tenant_context(a.tenant):
        messages = Message.objects.all()
        assert sorted(m.recipient for m in messages) == sorted(
            [audience["A"].phone_e164, audience["D"].phone_e164]
        )
        assert {m.status for m in messages} == {"delivered"}
        campaigns_advance(tenant=a.tenant)
    done = ok_data(api(a.owner).get(url(campaign["id"])))
    assert (done["status"], done["progress_percentage"]) == ("completed", 100)
    assert (done["sent_count"], done["delivered_count"], done["delivery_rate"]) == (2, 2, 100.0)
    body = assert_error(api(a.owner).post(url(campaign["id"], "start")), 400, "INVALID_STATUS")
    assert body["details"] == {
        "current_status": "completed",
        "allowed_statuses": ["draft", "scheduled"],
    }


def test_a_start_answers_in_the_same_few_queries_whatever_the_audience(api, a, on_commit):
    fund(a.tenant, 100)
    body = {"name": "Promo", "message_text": "Habari {{first_name}} wa {{city}}"}

    def start_to(tag: str, size: int) -> list[str]:
        make_contacts(a.tenant, size, tags=[tag], attributes={"city": "Moshi"})
        campaign = ok_data(
            api(a.owner).post(
                CAMPAIGNS, {**body, "target_criteria": {"tags": [tag]}}, format="json"
            ),
            201,
        )
        # The request's own queries (Django's debug cursor, the one `make run` uses with
        # DEBUG on); its fan-out runs on commit, after them.
        with on_commit(), CaptureQueriesContext(connection) as queries:
            started = ok_data(api(a.owner).post(url(campaign["id"], "start")))
        assert (started["status"], started["total_recipients"]) == ("running", size)
        return [query["sql"] for query in queries]

    few, many = start_to("few", 3), start_to("many", 30)
    assert len(few) == len(many) <= 16
    assert not [sql for sql in few + many if "messaging_contact" in sql]  # no audience read
    with tenant_context(a.tenant):
        assert set(Message.objects.values_list("text", flat=True)) == {"Habari Bulk wa Moshi"}
        assert Message.objects.count() == 33


def test_a_start_without_enough_credits_creates_nothing(api, a, audience, on_commit):
    fund(a.tenant, 1)
    campaign = create(api, a, audience)

    with on_commit():
        body = assert_error(
            api(a.owner).post(url(campaign["id"], "start")), 402, "INSUFFICIENT_BALANCE"
        )

    assert body["message"] == "This send needs 2 credits; the balance is 1."
    assert body["details"] == {"required_credits": 2, "available_credits": 1}
    with tenant_context(a.tenant):
        assert not Message.objects.exists()
        assert Campaign.objects.get().status == "draft"


def test_a_start_to_nobody_is_refused(api, a, audience):
    fund(a.tenant, 10)
    only_opted_out = {"target_contact_ids": [str(audience["B"].pk)]}
    campaign = create(api, a, audience, target_segment_ids=[], target_criteria={}, **only_opted_out)

    assert campaign["total_recipients"] == 0
    body = assert_error(api(a.owner).post(url(campaign["id"], "start")), 400, "VALIDATION_ERROR")
    assert body["message"] == "There is no one to send to."


@pytest.fixture
def published(monkeypatch):
    """The campaign events published (once committed), as {"type": [payload, ...]}; no other
    subscriber receives them."""
    received = defaultdict(list)
    monkeypatch.setattr(events, "_subscribers", defaultdict(list))
    events.subscribe("campaign.*", lambda event: received[event.type].append(event.payload))
    return received


def test_a_start_answers_before_its_messages_exist(api, a, audience, published):
    fund(a.tenant, 10)
    campaign = create(api, a, audience)

    started = ok_data(api(a.owner).post(url(campaign["id"], "start")))  # no commit: no task

    assert (started["status"], started["total_recipients"], started["progress_percentage"]) == (
        "running",
        2,
        0,
    )
    assert (started["can_start"], started["can_pause"], started["can_edit"]) == (False, True, False)
    assert started["estimated_cost"] == 50.0
    assert balance_of(a.tenant) == 10  # reserved by the fan-out, exactly
    with tenant_context(a.tenant):
        assert not Message.objects.exists()


def test_the_fan_out_makes_one_send_however_often_it_runs(api, a, audience, published):
    fund(a.tenant, 10)
    campaign = create(api, a, audience)
    ok_data(api(a.owner).post(url(campaign["id"], "start")))

    with tenant_context(a.tenant):
        first = campaign_fan_out(campaign_id=campaign["id"], tenant=a.tenant)
        again = campaign_fan_out(campaign_id=campaign["id"], tenant=a.tenant)
        assert (first.recipient_count, again) == (2, None)
        assert SendRequest.objects.count() == 1
        assert Message.objects.count() == 2
        stored = Campaign.objects.get()
    assert (stored.send_request_id, stored.credits_reserved) == (first.pk, 2)
    assert CreditLedgerEntry.objects.filter(tenant=a.tenant, kind="reserve").count() == 1
    assert balance_of(a.tenant) == 8


def test_a_late_shortfall_fails_the_campaign_visibly(api, a, audience, on_commit, published):
    fund(a.tenant, 2)
    campaign = create(api, a, audience)  # 2 recipients, 2 credits estimated
    make_contacts(a.tenant, 3, tags=["retail"])  # then the audience grew

    with on_commit():
        started = ok_data(api(a.owner).post(url(campaign["id"], "start")))

    failed = ok_data(api(a.owner).get(url(campaign["id"])))
    assert started["status"] == "running"
    assert (failed["status"], failed["failure_reason"]) == (
        "failed",
        "This send needs 5 credits; the balance is 2.",
    )
    assert failed["completed_at"] and not failed["can_cancel"]
    assert balance_of(a.tenant) == 2
    with tenant_context(a.tenant):
        assert not Message.objects.exists() and not SendRequest.objects.exists()
    assert [payload["status"] for payload in published["campaign.started"]] == ["running"]
    (event,) = published["campaign.failed"]
    assert event == {
        "campaign_id": campaign["id"],
        "name": "November promo",
        "status": "failed",
        "total_recipients": 2,
        "sent_count": 0,
        "delivered_count": 0,
        "failed_count": 0,
        "started_at": event["started_at"],
        "completed_at": event["completed_at"],
        "failure_reason": "This send needs 5 credits; the balance is 2.",
    }
    assert event["started_at"].endswith("Z") and event["completed_at"].endswith("Z")


def test_a_campaign_cancelled_before_its_fan_out_gets_no_send(api, a, audience, published):
    fund(a.tenant, 10)
    campaign = create(api, a, audience)
    ok_data(api(a.owner).post(url(campaign["id"], "start")))
    cancelled = ok_data(api(a.owner).post(url(campaign["id"], "cancel")))

    with tenant_context(a.tenant):
        assert campaign_fan_out(campaign_id=campaign["id"], tenant=a.tenant) is None
        assert not Message.objects.exists()
    assert cancelled["status"] == "cancelled"
    assert balance_of(a.tenant) == 10


def test_a_campaign_paused_before_its_fan_out_keeps_its_messages_waiting(
    api, a, audience, on_commit
):
    fund(a.tenant, 10)
    campaign = create(api, a, audience)
    ok_data(api(a.owner).post(url(campaign["id"], "start")))
    ok_data(api(a.owner).post(url(campaign["id"], "pause")))

    with tenant_context(a.tenant), on_commit():
        campaign_fan_out(campaign_id=campaign["id"], tenant=a.tenant)
    with tenant_context(a.tenant):
        assert set(Message.objects.values_list("status", flat=True)) == {"queued"}
    with on_commit():
        ok_data(api(a.owner).post(url(campaign["id"], "resume")))

    with tenant_context(a.tenant):
        assert set(Message.objects.values_list("status", flat=True)) == {"delivered"}


def test_a_lost_fan_out_is_sent_again_by_beat(api, a, audience, on_commit):
    fund(a.tenant, 10)
    campaign = create(api, a, audience)
    ok_data(api(a.owner).post(url(campaign["id"], "start")))  # its task never ran

    with tenant_context(a.tenant):
        Campaign.objects.update(started_at=timezone.now() - dt.timedelta(minutes=2))
        with on_commit():
            assert campaigns_advance(tenant=a.tenant)["running"] == 1
        assert set(Message.objects.values_list("status", flat=True)) == {"delivered"}


def test_the_can_fields_follow_the_transitions(api, a, audience):
    campaign = create(api, a, audience)

    with tenant_context(a.tenant):
        stored = Campaign.objects.get(pk=campaign["id"])
        for status in Campaign.Status.values:
            stored.status = status
            assert {action: stored.can(action) for action in ("edit", "pause", "cancel")} == {
                action: status in Campaign.TRANSITIONS[action].sources
                for action in ("edit", "pause", "cancel")
            }
    assert (campaign["can_edit"], campaign["can_start"], campaign["can_pause"]) == (
        True,
        True,
        False,
    )
    assert campaign["can_cancel"]


def test_a_copy_takes_the_fields_a_person_writes():
    assert set(AUTHORED_FIELDS) == set(CampaignInputSerializer().fields)


def queued_after_start(api, a, audience) -> dict:
    """A started campaign whose messages were made and are still queued (its fan-out ran; the
    outbox's on-commit release did not)."""
    fund(a.tenant, 10)
    campaign = create(api, a, audience)
    ok_data(api(a.owner).post(url(campaign["id"], "start")))
    with tenant_context(a.tenant):
        campaign_fan_out(campaign_id=campaign["id"], tenant=a.tenant)
    return campaign


def test_pause_holds_the_rest_and_resume_sends_it(api, a, audience, on_commit):
    campaign = queued_after_start(api, a, audience)
    ok_data(api(a.owner).post(url(campaign["id"], "pause")))
    with tenant_context(a.tenant):
        ids = [str(pk) for pk in Message.objects.values_list("id", flat=True)]
        assert (
            outbox.outbox_batch_send(tenant=a.tenant, message_ids=ids) == 0
        )  # paused: nothing claimed

    with on_commit():
        resumed = ok_data(api(a.owner).post(url(campaign["id"], "resume")))

    assert resumed["status"] == "running"
    with tenant_context(a.tenant):
        assert set(Message.objects.values_list("status", flat=True)) == {"delivered"}


def test_cancel_stops_the_unsent_and_refunds_exactly(api, a, audience):
    campaign = queued_after_start(api, a, audience)
    assert balance_of(a.tenant) == 8

    cancelled = ok_data(api(a.owner).post(url(campaign["id"], "cancel")))

    assert cancelled["status"] == "cancelled"
    assert balance_of(a.tenant) == 10
    with tenant_context(a.tenant):
        assert set(Message.objects.values_list("status", flat=True)) == {"canceled"}
    refund = CreditLedgerEntry.objects.get(tenant=a.tenant, kind="refund")
    assert refund.credits == 2


@pytest.mark.parametrize(
    ("action", "allowed"),
    [
        ("pause", ["running"]),
        ("resume", ["paused"]),
    ],
)
def test_refused_transitions_name_the_allowed_ones(api, a, audience, action, allowed):
    campaign = create(api, a, audience)

    body = assert_error(api(a.owner).post(url(campaign["id"], action)), 400, "INVALID_STATUS")

    assert body["details"] == {"current_status": "draft", "allowed_statuses": allowed}


def test_a_running_campaign_cannot_be_edited_or_deleted(api, a, audience):
    campaign = queued_after_start(api, a, audience)

    assert_error(
        api(a.owner).put(url(campaign["id"]), {"name": "x"}, format="json"), 400, "INVALID_STATUS"
    )
    assert_error(api(a.owner).delete(url(campaign["id"])), 400, "INVALID_STATUS")


def test_a_draft_is_edited_and_deleted(api, a, audience):
    campaign = create(api, a, audience)

    edited = ok_data(api(a.owner).put(url(campaign["id"]), {"name": "Renamed"}, format="json"))
    ok_data(api(a.owner).delete(url(campaign["id"])))

    assert edited["name"] == "Renamed"
    assert_error(api(a.owner).get(url(campaign["id"])), 404, "NOT_FOUND")


def test_a_scheduled_campaign_starts_when_due_or_can_be_cancelled(api, a, audience, on_commit):
    fund(a.tenant, 10)
    soon = (timezone.now() + dt.timedelta(hours=1)).isoformat()
    due = create(api, a, audience, scheduled_at=soon)
    cancelled = create(api, a, audience, scheduled_at=soon)
    ok_data(api(a.owner).post(url(cancelled["id"], "cancel")))

    with tenant_context(a.tenant):
        Campaign.objects.filter(pk=due["id"]).update(scheduled_at=timezone.now())
        with on_commit():
            assert campaigns_advance(tenant=a.tenant)["started"] == 1

    assert ok_data(api(a.owner).get(url(due["id"])))["status"] == "running"
    assert ok_data(api(a.owner).get(url(cancelled["id"])))["status"] == "cancelled"


def test_the_list_filters_and_takes_a_fixed_number_of_queries(api, a, audience):
    client = api(a.owner)
    create(api, a, audience)
    client.get(CAMPAIGNS)
    with CaptureQueriesContext(connection) as few:
        client.get(CAMPAIGNS)
    for _ in range(3):
        create(api, a, audience)
    with CaptureQueriesContext(connection) as many:
        listed = ok_data(client.get(CAMPAIGNS, {"status": "draft", "search": "promo"}))

    assert listed["count"] == 4
    assert len(few) == len(many) <= 8
    assert ok_data(client.get(CAMPAIGNS, {"status": "running"}))["count"] == 0


def test_another_tenant_never_sees_a_campaign(api, a, b, audience):
    campaign = create(api, a, audience)

    assert_error(api(b.owner).get(url(campaign["id"])), 404, "NOT_FOUND")
    assert_error(api(b.owner).post(url(campaign["id"], "start")), 404, "NOT_FOUND")
    assert ok_data(api(b.owner).get(CAMPAIGNS))["count"] == 0


def test_campaign_events_reach_subscribed_webhooks(api, a, audience, on_commit, settings):
    settings.WEBHOOKS_ALLOW_PRIVATE_TARGETS = True
    fund(a.tenant, 10)
    with CallbackSink() as sink:
        endpoint = ok_data(
            api(a.owner).post(
                "/api/auth/webhooks/create/",
                {"url": sink.url, "events": ["campaign.started", "campaign.completed"]},
                format="json",
            ),
            201,
        )
        campaign = create(api, a, audience)
        with on_commit():
            ok_data(api(a.owner).post(url(campaign["id"], "start")))
        with tenant_context(a.tenant), on_commit():
            campaigns_advance(tenant=a.tenant)

    events = [Webhook(endpoint["secret"]).verify(r.body, r.headers) for r in sink.requests]
    assert [e["type"] for e in events] == ["campaign.started", "campaign.completed"]
    assert events[1]["data"]["campaign_id"] == campaign["id"]
    assert events[1]["data"]["delivered_count"] == 2
