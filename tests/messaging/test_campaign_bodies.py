"""/api/messaging/campaigns/: the dashboard's bodies (blank scheduled_at, target_criteria
groups, custom_fields and opt_in_status), analytics/ and duplicate/."""

import datetime as dt

import pytest
from django.utils import timezone
from django_tenants.utils import tenant_context

from messaging.models import Campaign, Message
from messaging.services.campaign_progress import campaigns_advance
from tests.envelope import assert_error, assert_field_errors, ok_data
from tests.messaging.helpers import make_contact, make_segment, unknown_id
from tests.sms.helpers import fund

CAMPAIGNS = "/api/messaging/campaigns/"
DRY_RUN = f"{CAMPAIGNS}?dry_run=true"


def url(campaign_id, action: str = "") -> str:
    return f"{CAMPAIGNS}{campaign_id}/" + (f"{action}/" if action else "")


@pytest.fixture
def people(a):
    """Four contacts a campaign picks by id, and one opted in that it does not pick."""
    now = timezone.now()
    return {
        "consented": make_contact(a.tenant, name="Asha", is_opted_in=True, opt_in_at=now),
        "silent": make_contact(a.tenant, name="Bahati"),  # never opted in or out
        "withdrawn": make_contact(a.tenant, name="Chande", opt_out_at=now),
        "moshi": make_contact(a.tenant, name="Dotto", attributes={"city": "Moshi", "tier": 2}),
        "unpicked": make_contact(a.tenant, name="Eliya", is_opted_in=True, opt_in_at=now),
    }


def picked(people) -> list[str]:
    return [str(people[k].pk) for k in ("consented", "silent", "withdrawn", "moshi")]


def body(**fields) -> dict:
    return {"name": "Promo", "message_text": "Karibu!", **fields}


def create(client, **fields) -> dict:
    return ok_data(client.post(CAMPAIGNS, body(**fields), format="json"), 201)


# --- target_criteria


def test_opt_in_status_restricts_the_picked_contacts_and_adds_nobody(api, a, people, on_commit):
    fund(a.tenant, 10)
    client = api(a.owner)
    targets = {
        "target_contact_ids": picked(people),
        "target_criteria": {"opt_in_status": "opted_in"},
    }

    estimate = ok_data(client.post(DRY_RUN, body(**targets), format="json"))
    campaign = create(client, **targets)
    with on_commit():
        ok_data(client.post(url(campaign["id"], "start")))

    assert estimate["total_recipients"] == campaign["total_recipients"] == 3
    assert "Opted-out contacts excluded: 1" in estimate["explanations"]
    with tenant_context(a.tenant):
        reached = set(Message.objects.values_list("contact_id", flat=True))
    assert reached == {people[k].pk for k in ("consented", "silent", "moshi")}


def test_opt_in_status_alone_targets_nobody_and_opted_out_is_refused(api, a, people):
    client = api(a.owner)

    assert_field_errors(
        client.post(CAMPAIGNS, body(target_criteria={"opt_in_status": "opted_in"}), format="json"),
        "target_contact_ids",
    )
    refused = assert_field_errors(
        client.post(
            CAMPAIGNS,
            body(target_contact_ids=picked(people), target_criteria={"opt_in_status": "opted_out"}),
            format="json",
        ),
        "target_criteria",
    )
    assert "opted-out" in refused["errors"]["target_criteria"][0]


def test_groups_are_segment_ids_and_custom_fields_an_attributes_filter(api, a, b, people):
    client = api(a.owner)
    moshi = make_segment(a.tenant, filter_json={"attributes": {"city": "Moshi"}})
    consented = make_segment(a.tenant, filter_json={"is_opted_in": True})

    by_group = ok_data(
        client.post(DRY_RUN, body(target_criteria={"groups": [str(moshi.pk)]}), format="json")
    )
    by_fields = ok_data(
        client.post(
            DRY_RUN,
            body(
                target_criteria={
                    "tags": [],
                    "groups": [],
                    "custom_fields": {"city": "Moshi", "tier": 2},
                    "opt_in_status": "opted_in",
                }
            ),
            format="json",
        )
    )
    explicit_opt_ins = create(client, target_criteria={"groups": [str(consented.pk)]})

    assert by_group["total_recipients"] == by_fields["total_recipients"] == 1
    assert explicit_opt_ins["total_recipients"] == 2  # consented and unpicked
    theirs = make_segment(b.tenant, filter_json={})
    for groups in ([str(theirs.pk)], [unknown_id()], ["not-a-uuid"], "x"):
        assert_field_errors(
            client.post(CAMPAIGNS, body(target_criteria={"groups": groups}), format="json"),
            "target_criteria",
        )
    assert_field_errors(
        client.post(
            CAMPAIGNS, body(target_criteria={"custom_fields": {"city": ["a"]}}), format="json"
        ),
        "target_criteria",
    )


def test_a_blank_scheduled_at_means_not_scheduled(api, a, people):
    client = api(a.owner)
    soon = (timezone.now() + dt.timedelta(hours=2)).isoformat()
    scheduled = create(client, target_contact_ids=picked(people), scheduled_at=soon)

    edited = ok_data(client.put(url(scheduled["id"]), {"scheduled_at": ""}, format="json"))
    drafted = create(client, target_contact_ids=picked(people), scheduled_at="")

    assert scheduled["status"] == "scheduled"
    assert (edited["status"], edited["scheduled_at"]) == ("draft", None)
    assert (drafted["status"], drafted["scheduled_at"]) == ("draft", None)


def test_an_edit_sets_groups_and_custom_fields(api, a, people):
    client = api(a.owner)
    moshi = make_segment(a.tenant, filter_json={"attributes": {"city": "Moshi"}})
    campaign = create(client, target_contact_ids=picked(people)[:1])

    edited = ok_data(
        client.put(
            url(campaign["id"]),
            {"target_criteria": {"groups": [str(moshi.pk)], "opt_in_status": "opted_in"}},
            format="json",
        )
    )

    assert edited["total_recipients"] == 2  # consented, and moshi by the group
    assert edited["target_criteria"]["groups"] == [str(moshi.pk)]


# --- analytics/


ANALYTICS_FIELDS = {
    "campaign_id", "name", "status", "total_recipients", "sent", "delivered", "failed",
    "delivery_rate", "cost", "currency", "started_at", "completed_at", "duration_seconds",
    "messages_per_second",
}  # fmt: skip


def test_analytics_of_a_completed_campaign(api, a, people, on_commit):
    fund(a.tenant, 10)
    client = api(a.owner)
    campaign = create(client, target_contact_ids=picked(people))
    with on_commit():
        ok_data(client.post(url(campaign["id"], "start")))
    with tenant_context(a.tenant):
        campaigns_advance(tenant=a.tenant)
        done = Campaign.objects.get(pk=campaign["id"])
        Campaign.objects.filter(pk=done.pk).update(
            started_at=done.completed_at - dt.timedelta(seconds=4)
        )

    data = ok_data(client.get(url(campaign["id"], "analytics")))

    assert set(data) == ANALYTICS_FIELDS
    assert (data["campaign_id"], data["name"], data["status"]) == (
        campaign["id"],
        "Promo",
        "completed",
    )
    assert (data["total_recipients"], data["sent"], data["delivered"], data["failed"]) == (
        3,
        3,
        3,
        0,
    )
    assert (data["delivery_rate"], data["cost"], data["currency"]) == (100.0, 75.0, "TZS")
    assert (data["duration_seconds"], data["messages_per_second"]) == (4.0, 0.75)
    assert data["started_at"] and data["completed_at"]


def test_analytics_of_a_draft_has_no_pace(api, a, people):
    campaign = create(api(a.owner), target_contact_ids=picked(people))

    data = ok_data(api(a.agent).get(url(campaign["id"], "analytics")))

    assert (data["status"], data["sent"], data["delivery_rate"], data["cost"]) == (
        "draft",
        0,
        0.0,
        0.0,
    )
    assert data["started_at"] is data["duration_seconds"] is data["messages_per_second"] is None


# --- duplicate/


def test_duplicate_makes_a_draft_copy(api, a, people):
    client = api(a.owner)
    soon = (timezone.now() + dt.timedelta(hours=2)).isoformat()
    segment = make_segment(a.tenant, filter_json={"tags": ["vip"]})
    original = create(
        client,
        description="November",
        target_contact_ids=picked(people),
        target_segment_ids=[str(segment.pk)],
        target_criteria={"custom_fields": {"city": "Moshi"}},
        settings={"send_time": "09:00"},
        scheduled_at=soon,
    )

    copy = ok_data(client.post(url(original["id"], "duplicate")), 201)

    assert copy["id"] != original["id"]
    assert (copy["name"], copy["status"], copy["scheduled_at"]) == ("Promo (Copy)", "draft", None)
    same = (
        "description", "message_text", "target_contact_ids", "target_segment_ids",
        "target_criteria", "settings", "total_recipients", "is_recurring",
    )  # fmt: skip
    assert {k: copy[k] for k in same} == {k: original[k] for k in same}
    assert ok_data(client.get(url(original["id"])))["status"] == "scheduled"
    named = ok_data(
        client.post(url(original["id"], "duplicate"), {"name": "December"}, format="json"), 201
    )
    assert (named["name"], named["status"]) == ("December", "draft")
    assert ok_data(client.get(CAMPAIGNS))["count"] == 3


def test_a_recurring_campaigns_copy_keeps_its_schedule_but_waits_as_a_draft(api, a, people):
    client = api(a.owner)
    schedule = {"frequency": "daily", "time": "09:00"}
    original = create(
        client,
        name="N" * 200,
        target_contact_ids=picked(people),
        is_recurring=True,
        recurring_schedule=schedule,
    )

    copy = ok_data(client.post(url(original["id"], "duplicate")), 201)

    assert original["status"] == "scheduled"
    assert (copy["status"], copy["is_recurring"], copy["next_run_at"]) == ("draft", False, None)
    assert copy["recurring_schedule"]["frequency"] == "daily"
    assert copy["name"] == "N" * 193 + " (Copy)"


def test_another_tenants_campaign_is_a_404_for_analytics_and_duplicate(api, a, b, people):
    theirs = create(api(b.owner), target_contact_ids=[str(make_contact(b.tenant).pk)])
    client = api(a.owner)

    for response in (
        client.get(url(theirs["id"], "analytics")),
        client.post(url(theirs["id"], "duplicate")),
        client.get(url(unknown_id(), "analytics")),
        client.post(url(unknown_id(), "duplicate")),
        client.get(f"{CAMPAIGNS}12/analytics/"),
    ):
        assert_error(response, 404, "NOT_FOUND")
    assert ok_data(client.get(CAMPAIGNS))["count"] == 0
    assert ok_data(api(b.owner).get(CAMPAIGNS))["count"] == 1
