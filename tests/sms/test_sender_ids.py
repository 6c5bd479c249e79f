"""Sender IDs: tenants request them at /api/messaging/sms/sender-ids/, operators review them
(services, admin, command), and sends check them with sender_id_check."""

import io

import pytest
from django.conf import settings
from django.core.management import CommandError, call_command

from accounts.models import User
from mifumo.errors import ApplicationError
from sms import selectors, services
from sms.models import SenderId
from tests.envelope import assert_error, assert_field_errors, ok_data

SENDER_IDS = "/api/messaging/sms/sender-ids/"
SENDER_ID_FIELDS = {
    "id",
    "sender_id",
    "name",
    "purpose",
    "sample_message",
    "status",
    "rejection_reason",
    "is_default",
    "reviewed_at",
    "created_at",
    "updated_at",
}
Status = SenderId.Status


def make_sender_id(tenant, name: str, status: str = Status.PENDING) -> SenderId:
    """A sender ID of `tenant`, brought to `status` through the services."""
    sender_id = services.sender_id_request(tenant=tenant, name=name)
    if status == Status.APPROVED or status == Status.REVOKED:
        sender_id = services.sender_id_approve(sender_id=sender_id)
    if status == Status.REVOKED:
        sender_id = services.sender_id_revoke(sender_id=sender_id, reason="Carrier withdrew it")
    if status == Status.REJECTED:
        sender_id = services.sender_id_reject(sender_id=sender_id, reason="Unknown brand")
    return sender_id


def request_sender_id(client, **body):
    return client.post(SENDER_IDS, body, format="json")


def listed(client, **params) -> dict:
    return ok_data(client.get(SENDER_IDS, params))


# --- POST /sender-ids/


def test_an_owner_requests_a_sender_id_that_starts_pending(api, a, b):
    response = request_sender_id(
        api(a.owner),
        sender_id="  Acme Shop ",
        purpose="Order updates",
        sample_message="Your order 12 is ready.",
    )

    data = ok_data(response, 201)
    assert set(data) == SENDER_ID_FIELDS
    assert data["sender_id"] == data["name"] == "Acme Shop"
    assert data["status"] == "pending"
    assert data["is_default"] is False
    assert data["purpose"] == "Order updates"
    assert data["sample_message"] == "Your order 12 is ready."
    assert data["reviewed_at"] is None
    stored = SenderId.objects.get(pk=data["id"])
    assert stored.tenant_id == a.tenant.id
    assert stored.created_by_id == a.owner.id
    assert listed(api(b.owner))["results"] == []


def test_an_admin_may_request_with_the_name_spelling(api, a):
    data = ok_data(request_sender_id(api(a.admin), name="Shop-1.TZ"), 201)

    assert data["sender_id"] == "Shop-1.TZ"
    assert data["status"] == "pending"


def test_an_agent_may_not_request_a_sender_id(api, a):
    response = request_sender_id(api(a.agent), sender_id="Acme")

    assert_error(response, 403, "PERMISSION_DENIED")
    assert not SenderId.objects.exists()


def test_a_request_without_a_token_is_401(api, a):
    assert_error(request_sender_id(api(), sender_id="Acme"), 401, "AUTHENTICATION_REQUIRED")


@pytest.mark.parametrize(
    "body",
    [
        {"sender_id": "ABCDEFGHIJKL"},  # 12 characters
        {"sender_id": "Acme_Shop"},
        {"sender_id": "Acme!"},
        {"sender_id": "Acme/Shop"},
        {"sender_id": "Dukà"},  # letters are A-Z only
        {"sender_id": "12345"},
        {"sender_id": "12-34 5.6"},
        {"sender_id": "   "},
        {"sender_id": ""},
        {"name": ""},
        {},
        {"sender_id": "taarifa-sms"},  # the platform sender, usable without a request
    ],
)
def test_bad_names_are_a_field_error(api, a, body):
    response = request_sender_id(api(a.owner), **body)

    assert_field_errors(response, "sender_id")
    assert not SenderId.objects.exists()


def test_a_null_name_is_a_field_error(api, a):
    assert_field_errors(request_sender_id(api(a.owner), sender_id=None), "sender_id")


def test_long_purpose_is_a_field_error(api, a):
    response = request_sender_id(api(a.owner), sender_id="Acme", purpose="x" * 1001)

    assert_field_errors(response, "purpose")


@pytest.mark.parametrize("name", ["ABCDEFGHIJK", "A", "A.B-C 1", "9Mobile"])
def test_names_at_the_limits_are_accepted(api, a, name):
    assert ok_data(request_sender_id(api(a.owner), sender_id=name), 201)["sender_id"] == name


@pytest.mark.parametrize("status", [Status.PENDING, Status.APPROVED, Status.REVOKED])
def test_a_name_the_tenant_already_has_is_a_field_error_in_any_case(api, a, status):
    make_sender_id(a.tenant, "Acme", status)

    body = assert_field_errors(request_sender_id(api(a.owner), sender_id="ACME"), "sender_id")

    assert status in body["errors"]["sender_id"][0]
    assert SenderId.objects.filter(tenant=a.tenant).count() == 1


def test_a_rejected_name_may_be_requested_again(api, a):
    rejected = make_sender_id(a.tenant, "Acme", Status.REJECTED)

    data = ok_data(request_sender_id(api(a.owner), sender_id="ACME", purpose="Receipts"), 201)

    assert data["id"] == str(rejected.id)
    assert data["status"] == "pending"
    assert data["sender_id"] == "ACME"
    assert data["purpose"] == "Receipts"
    assert data["rejection_reason"] == ""
    assert data["reviewed_at"] is None


def test_another_tenant_may_request_the_same_name(api, a, b):
    make_sender_id(a.tenant, "Acme", Status.APPROVED)

    data = ok_data(request_sender_id(api(b.owner), sender_id="Acme"), 201)

    assert data["status"] == "pending"
    assert SenderId.objects.get(pk=data["id"]).tenant_id == b.tenant.id


def test_a_retry_with_the_same_idempotency_key_is_replayed(api, a):
    client = api(a.owner, HTTP_IDEMPOTENCY_KEY="sender-1")

    first = request_sender_id(client, sender_id="Acme")
    again = request_sender_id(client, sender_id="Acme")

    assert ok_data(again, 201) == ok_data(first, 201)
    assert again["Idempotent-Replayed"] == "true"
    assert SenderId.objects.count() == 1


# --- GET /sender-ids/


@pytest.fixture
def both_tenants_sender_ids(a, b):
    for name, status in [("Old", Status.REJECTED), ("Mid", Status.APPROVED), ("New", "pending")]:
        make_sender_id(a.tenant, name, status)
    make_sender_id(b.tenant, "Foreign", Status.APPROVED)
    return a, b


def test_the_list_shows_the_tenants_own_newest_first_and_the_platform_default(
    api, both_tenants_sender_ids
):
    a, _ = both_tenants_sender_ids

    data = listed(api(a.agent))

    assert [s["sender_id"] for s in data["results"]] == ["New", "Mid", "Old"]
    assert [s["status"] for s in data["results"]] == ["pending", "approved", "rejected"]
    assert data["count"] == 3
    assert all(set(s) == SENDER_ID_FIELDS for s in data["results"])
    assert not any(s["is_default"] for s in data["results"])
    assert data["results"][2]["rejection_reason"] == "Unknown brand"
    default = data["default"]
    assert set(default) == SENDER_ID_FIELDS
    assert default["sender_id"] == settings.PLATFORM_SMS_SENDER
    assert default["is_default"] is True
    assert default["status"] == "approved"
    assert default["id"] is None


def test_a_tenant_never_sees_another_tenants_sender_ids(api, both_tenants_sender_ids):
    a, b = both_tenants_sender_ids

    data = listed(api(b.owner))

    assert [s["sender_id"] for s in data["results"]] == ["Foreign"]
    assert data["default"]["sender_id"] == settings.PLATFORM_SMS_SENDER
    names_seen_by_a = {s["sender_id"] for s in listed(api(a.owner), page_size=100)["results"]}
    assert "Foreign" not in names_seen_by_a


def test_the_list_filters_by_status_and_pages(api, both_tenants_sender_ids):
    a, _ = both_tenants_sender_ids
    client = api(a.owner)

    approved = listed(client, status="approved")
    page = listed(client, page_size=2)

    assert [s["sender_id"] for s in approved["results"]] == ["Mid"]
    assert [s["sender_id"] for s in page["results"]] == ["New", "Mid"]
    assert page["count"] == 3
    assert page["next"] is not None
    assert "default" in page


def test_an_unknown_status_filter_is_a_field_error(api, a):
    assert_field_errors(api(a.owner).get(SENDER_IDS, {"status": "bogus"}), "status")


def test_the_list_takes_a_fixed_number_of_queries(
    api, both_tenants_sender_ids, django_assert_max_num_queries
):
    a, _ = both_tenants_sender_ids
    client = api(a.owner)
    for name in ("More1", "More2", "More3"):
        make_sender_id(a.tenant, name)

    # The user, the membership, the count and the page.
    with django_assert_max_num_queries(4):
        assert listed(client)["count"] == 6


# --- Reviews (services)


def test_approving_a_pending_sender_id_records_the_reviewer(a):
    sender_id = make_sender_id(a.tenant, "Acme")

    approved = services.sender_id_approve(sender_id=sender_id, reviewed_by=a.owner)

    approved.refresh_from_db()
    assert approved.status == Status.APPROVED
    assert approved.reviewed_by_id == a.owner.id
    assert approved.reviewed_at is not None


def test_rejecting_a_pending_sender_id_keeps_the_reason(a):
    sender_id = make_sender_id(a.tenant, "Acme")

    services.sender_id_reject(sender_id=sender_id, reason="  Brand not proven ")

    sender_id.refresh_from_db()
    assert sender_id.status == Status.REJECTED
    assert sender_id.rejection_reason == "Brand not proven"
    assert sender_id.reviewed_at is not None


def test_a_rejection_needs_a_reason(a):
    sender_id = make_sender_id(a.tenant, "Acme")

    with pytest.raises(ApplicationError) as caught:
        services.sender_id_reject(sender_id=sender_id, reason=" ")

    assert caught.value.code == "VALIDATION_ERROR"
    assert set(caught.value.errors) == {"reason"}
    sender_id.refresh_from_db()
    assert sender_id.status == Status.PENDING


@pytest.mark.parametrize(
    ("status", "review", "allowed"),
    [
        (Status.APPROVED, "approve", ["pending"]),
        (Status.REJECTED, "approve", ["pending"]),
        (Status.REVOKED, "approve", ["pending"]),
        (Status.APPROVED, "reject", ["pending"]),
        (Status.REJECTED, "reject", ["pending"]),
        (Status.PENDING, "revoke", ["approved"]),
        (Status.REJECTED, "revoke", ["approved"]),
        (Status.REVOKED, "revoke", ["approved"]),
    ],
)
def test_refused_transitions_are_invalid_status_and_change_nothing(a, status, review, allowed):
    sender_id = make_sender_id(a.tenant, "Acme", status)
    before = (sender_id.status, sender_id.rejection_reason, sender_id.reviewed_at)
    action = {
        "approve": lambda: services.sender_id_approve(sender_id=sender_id),
        "reject": lambda: services.sender_id_reject(sender_id=sender_id, reason="No"),
        "revoke": lambda: services.sender_id_revoke(sender_id=sender_id, reason="No"),
    }[review]

    with pytest.raises(ApplicationError) as caught:
        action()

    assert caught.value.code == "INVALID_STATUS"
    assert caught.value.status_code == 409
    assert caught.value.details == {"current_status": status, "allowed_statuses": allowed}
    sender_id.refresh_from_db()
    assert (sender_id.status, sender_id.rejection_reason, sender_id.reviewed_at) == before


def test_a_stale_instance_cannot_be_reviewed_twice(a):
    sender_id = make_sender_id(a.tenant, "Acme")
    stale = SenderId.objects.get(pk=sender_id.pk)
    services.sender_id_approve(sender_id=sender_id)

    with pytest.raises(ApplicationError) as caught:
        services.sender_id_reject(sender_id=stale, reason="Too late")

    assert caught.value.details["current_status"] == "approved"


# --- sender_id_check (once per send)


@pytest.mark.parametrize("name", [None, "", "   ", "Taarifa-SMS", "TAARIFA-sms"])
def test_the_platform_sender_is_always_usable_without_a_query(a, name, django_assert_num_queries):
    with django_assert_num_queries(0):
        assert selectors.sender_id_check(tenant_id=a.tenant.id, name=name) == "Taarifa-SMS"


def test_an_approved_sender_id_is_usable_in_any_case_with_one_query(
    a, django_assert_max_num_queries
):
    make_sender_id(a.tenant, "Acme Shop", Status.APPROVED)

    with django_assert_max_num_queries(2) as captured:
        assert selectors.sender_id_check(tenant_id=a.tenant.id, name=" aCME sHOP ") == "Acme Shop"

    (query,) = [q["sql"] for q in captured.captured_queries if q["sql"].startswith("SELECT")]
    assert 'LOWER("sms_senderid"."name")' in query


@pytest.mark.parametrize("status", [Status.PENDING, Status.REJECTED, Status.REVOKED])
def test_a_sender_id_that_is_not_approved_is_refused(a, status):
    make_sender_id(a.tenant, "Acme", status)

    with pytest.raises(ApplicationError) as caught:
        selectors.sender_id_check(tenant_id=a.tenant.id, name="Acme")

    assert caught.value.code == "SENDER_ID_INVALID"
    assert caught.value.status_code == 400


@pytest.mark.parametrize("name", ["Unknown", "ABCDEFGHIJKLMNOP"])
def test_an_unknown_sender_id_is_refused(a, name):
    with pytest.raises(ApplicationError) as caught:
        selectors.sender_id_check(tenant_id=a.tenant.id, name=name)

    assert caught.value.code == "SENDER_ID_INVALID"
    assert caught.value.details["default_sender_id"] == "Taarifa-SMS"


def test_another_tenants_approved_sender_id_is_refused(a, b):
    make_sender_id(b.tenant, "Foreign", Status.APPROVED)

    with pytest.raises(ApplicationError) as caught:
        selectors.sender_id_check(tenant_id=a.tenant.id, name="Foreign")

    assert caught.value.code == "SENDER_ID_INVALID"
    assert selectors.sender_id_check(tenant_id=b.tenant.id, name="foreign") == "Foreign"


# --- manage.py approve_sender_id


def run_command(*args) -> str:
    out = io.StringIO()
    call_command("approve_sender_id", *args, stdout=out)
    return out.getvalue()


def test_the_command_approves_a_request_named_in_any_case(a, b):
    make_sender_id(a.tenant, "Acme")
    make_sender_id(b.tenant, "Acme")

    output = run_command("--tenant", "tenant-a", "--name", "ACME")

    assert "approved" in output
    assert SenderId.objects.get(tenant=a.tenant).status == Status.APPROVED
    assert SenderId.objects.get(tenant=b.tenant).status == Status.PENDING


def test_the_command_rejects_with_a_reason(a):
    make_sender_id(a.tenant, "Acme")

    output = run_command("--tenant", "tenant-a", "--name", "Acme", "--reject", "--reason", "Fake")

    assert "rejected" in output
    sender_id = SenderId.objects.get(tenant=a.tenant)
    assert (sender_id.status, sender_id.rejection_reason) == (Status.REJECTED, "Fake")


def test_the_command_rejects_with_a_default_reason(a):
    make_sender_id(a.tenant, "Acme")

    run_command("--tenant", "tenant-a", "--name", "Acme", "--reject")

    assert SenderId.objects.get(tenant=a.tenant).rejection_reason == "Rejected by an operator."


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--tenant", "no-such-tenant", "--name", "Acme"], "No tenant has the subdomain"),
        (["--tenant", "tenant-b", "--name", "Acme"], "has not requested the sender ID"),
        (["--tenant", "tenant-a", "--name", "Other"], "has not requested the sender ID"),
        (["--tenant", "tenant-a", "--name", "Acme", "--reason", "x"], "--reason goes with"),
    ],
)
def test_the_command_explains_what_is_missing(a, args, message):
    make_sender_id(a.tenant, "Acme")

    with pytest.raises(CommandError, match=message):
        run_command(*args)

    assert SenderId.objects.get(tenant=a.tenant).status == Status.PENDING


def test_the_command_refuses_a_second_review(a):
    make_sender_id(a.tenant, "Acme", Status.APPROVED)

    with pytest.raises(CommandError, match="it is approved"):
        run_command("--tenant", "tenant-a", "--name", "Acme", "--reject")


# --- Admin


@pytest.fixture
def staff(client, a, b):
    root = User.objects.create_superuser(email="root@example.com", password="Root-Pass-123")
    client.force_login(root)
    client.root = root
    return client


CHANGELIST = "/admin/sms/senderid/"


def test_the_admin_lists_searches_and_filters_sender_ids(staff, a, b):
    make_sender_id(a.tenant, "AlphaA")
    make_sender_id(b.tenant, "BravoB", Status.APPROVED)

    listed_page = staff.get(CHANGELIST).content.decode()
    by_tenant = staff.get(CHANGELIST, {"q": "tenant-b"}).content.decode()
    pending = staff.get(CHANGELIST, {"status__exact": "pending"}).content.decode()

    assert "AlphaA" in listed_page
    assert "BravoB" in listed_page
    assert "BravoB" in by_tenant
    assert "AlphaA" not in by_tenant
    assert "AlphaA" in pending
    assert "BravoB" not in pending


def test_the_admin_change_page_renders_and_adding_is_refused(staff, a):
    sender_id = make_sender_id(a.tenant, "Acme")

    assert staff.get(f"{CHANGELIST}{sender_id.pk}/change/").status_code == 200
    assert staff.get(f"{CHANGELIST}add/").status_code == 403


def run_action(staff, action: str, *sender_ids):
    return staff.post(
        CHANGELIST,
        {"action": action, "_selected_action": [str(s.pk) for s in sender_ids]},
        follow=True,
    )


def test_the_approve_action_approves_pending_ones_and_reports_the_others(staff, a, b):
    pending_a = make_sender_id(a.tenant, "Acme")
    pending_b = make_sender_id(b.tenant, "Bravo")
    rejected = make_sender_id(a.tenant, "Gone", Status.REJECTED)

    response = run_action(staff, "approve_selected", pending_a, pending_b, rejected)

    assert response.status_code == 200
    body = response.content.decode()
    assert "Approved" in body
    assert "it is rejected" in body
    for sender_id, status in [
        (pending_a, Status.APPROVED),
        (pending_b, Status.APPROVED),
        (rejected, Status.REJECTED),
    ]:
        sender_id.refresh_from_db()
        assert sender_id.status == status
    assert pending_a.reviewed_by_id == staff.root.id


def test_the_reject_action_rejects_with_the_operator_reason(staff, a):
    sender_id = make_sender_id(a.tenant, "Acme")

    run_action(staff, "reject_selected", sender_id)

    sender_id.refresh_from_db()
    assert sender_id.status == Status.REJECTED
    assert sender_id.rejection_reason == "Rejected by an operator."
    assert sender_id.reviewed_by_id == staff.root.id


def test_the_revoke_action_revokes_approved_ones(staff, a):
    sender_id = make_sender_id(a.tenant, "Acme", Status.APPROVED)

    run_action(staff, "revoke_selected", sender_id)

    sender_id.refresh_from_db()
    assert sender_id.status == Status.REVOKED
    with pytest.raises(ApplicationError):
        selectors.sender_id_check(tenant_id=a.tenant.id, name="Acme")
