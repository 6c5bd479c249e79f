"""The plan's user limit on invitations: members plus pending invitations never exceed
Tenant.user_limit (set by billing from the plan); 403 PLAN_LIMIT_REACHED says so."""

from datetime import timedelta

import pytest
from django.utils import timezone

from mifumo.errors import ApplicationError
from tenants.models import Invitation, Membership, Tenant
from tenants.services import invitation_create, tenant_user_limit_set
from tests.concurrency import at_once
from tests.conftest import committed
from tests.envelope import assert_error, ok_data
from tests.factories import UserFactory
from tests.tenants.helpers import invitation_url, members_url, sent_invitation_token


@pytest.fixture
def invite(api, on_commit):
    def _invite(tenant, inviter, email):
        with on_commit():
            return api(inviter).post(
                members_url(tenant.id), {"email": email, "role": "agent"}, format="json"
            )

    return _invite


def test_no_limit_lets_anyone_be_invited(a, invite):
    assert a.tenant.user_limit is None
    for n in range(3):
        ok_data(invite(a.tenant, a.owner, f"guest{n}@example.com"), 201)


def test_invitations_stop_at_the_limit_with_a_clear_code(a, b, invite):
    tenant_user_limit_set(tenant_ids=[a.tenant.pk], limit=4)  # 3 members today

    ok_data(invite(a.tenant, a.owner, "fourth@example.com"), 201)
    body = assert_error(invite(a.tenant, a.owner, "fifth@example.com"), 403, "PLAN_LIMIT_REACHED")

    assert body["details"] == {"limit": 4, "used": 4}
    assert "4 users" in body["message"]
    assert not Invitation.objects.filter(email="fifth@example.com").exists()
    # Another tenant's limit is its own.
    ok_data(invite(b.tenant, b.owner, "fifth@example.com"), 201)


def test_resending_an_invitation_does_not_take_a_second_seat(a, invite):
    tenant_user_limit_set(tenant_ids=[a.tenant.pk], limit=4)
    ok_data(invite(a.tenant, a.owner, "fourth@example.com"), 201)

    ok_data(invite(a.tenant, a.owner, "fourth@example.com"), 201)


def test_expired_or_revoked_invitations_and_suspended_members_free_their_seat(a, invite):
    tenant_user_limit_set(tenant_ids=[a.tenant.pk], limit=4)
    ok_data(invite(a.tenant, a.owner, "fourth@example.com"), 201)
    Invitation.objects.filter(email="fourth@example.com").update(
        expires_at=timezone.now() - timedelta(minutes=1)
    )
    ok_data(invite(a.tenant, a.owner, "fifth@example.com"), 201)
    Invitation.objects.filter(email="fifth@example.com").update(status=Invitation.Status.REVOKED)
    Membership.objects.filter(user=a.agent).update(status=Membership.Status.SUSPENDED)

    ok_data(invite(a.tenant, a.owner, "sixth@example.com"), 201)
    ok_data(invite(a.tenant, a.owner, "seventh@example.com"), 201)
    assert_error(invite(a.tenant, a.owner, "eighth@example.com"), 403, "PLAN_LIMIT_REACHED")


def test_accepting_waits_for_a_seat_when_the_plan_was_lowered(api, a, invite):
    ok_data(invite(a.tenant, a.owner, "late@example.com"), 201)
    token = sent_invitation_token("late@example.com")
    tenant_user_limit_set(tenant_ids=[a.tenant.pk], limit=3)  # a smaller plan since
    user = UserFactory(email="late@example.com")

    assert_error(api(user).post(invitation_url(token)), 403, "PLAN_LIMIT_REACHED")
    assert not Membership.objects.filter(user=user).exists()
    tenant_user_limit_set(tenant_ids=[a.tenant.pk], limit=4)
    ok_data(api(user).post(invitation_url(token)))
    assert Tenant.objects.get(pk=a.tenant.pk).memberships.count() == 4


@committed
def test_invitations_sent_at_once_never_take_more_seats_than_the_plan_has(committed_tenant):
    tenant, owner = committed_tenant.tenant, committed_tenant.owner
    tenant_user_limit_set(tenant_ids=[tenant.pk], limit=3)  # the owner and two more
    membership = Membership.objects.get(tenant=tenant, user=owner)
    workers = 10

    def send(index: int) -> str:
        try:
            invitation_create(
                membership=membership, email=f"racer{index}@example.com", role="agent"
            )
            return "sent"
        except ApplicationError as exc:
            return str(exc.code)

    outcomes = at_once(send, workers)

    assert outcomes.count("sent") == 2
    assert outcomes.count("PLAN_LIMIT_REACHED") == workers - 2
    assert tenant.invitations.count() == 2
