"""GET/POST /api/tenants/{id}/members/ and GET/POST /api/tenants/invite/{token}/."""

from datetime import timedelta

import pytest
from django.core import mail
from django.utils import timezone

from tenants.models import Invitation, Membership, Role
from tenants.selectors import invitation_token_hash
from tests.envelope import assert_error, assert_field_errors, ok_data
from tests.factories import UserFactory
from tests.tenants.helpers import TENANTS, invitation_url, members_url, sent_invitation_token

NEEMA = "neema@example.com"


@pytest.fixture
def invite(api, on_commit):
    """invite(inviter, tenant, email, role) -> (response, token from the email or None)."""

    def _invite(inviter, tenant, email=NEEMA, role="agent"):
        with on_commit():
            response = api(inviter).post(
                members_url(tenant.id), {"email": email, "role": role}, format="json"
            )
        token = sent_invitation_token(email.lower()) if response.status_code == 201 else None
        return response, token

    return _invite


# --- GET members


def test_any_member_lists_the_members_with_their_roles(api, a, b):
    data = ok_data(api(a.agent).get(members_url(a.tenant.id)))

    assert data["count"] == 3
    members = {m["email"]: (m["role"], m["status"]) for m in data["results"]}
    assert members == {
        "owner-a@example.com": ("owner", "active"),
        "admin-a@example.com": ("admin", "active"),
        "agent-a@example.com": ("agent", "active"),
    }
    assert data["results"][0]["user_id"] == a.owner.id


def test_another_tenants_members_are_404(api, a, b):
    body = assert_error(api(a.owner).get(members_url(b.tenant.id)), 404, "NOT_FOUND")

    assert "owner-b" not in str(body)


def test_members_without_a_token_are_401(api, a):
    assert_error(api().get(members_url(a.tenant.id)), 401, "AUTHENTICATION_REQUIRED")
    response = api().post(members_url(a.tenant.id), {"email": NEEMA}, format="json")
    assert_error(response, 401, "AUTHENTICATION_REQUIRED")


# --- POST members (invite)


def test_an_owner_invites_by_email_with_a_link_to_the_token(api, a, invite):
    response, token = invite(a.owner, a.tenant, "Neema@Example.com", "admin")

    data = ok_data(response, 201)
    assert data["email"] == NEEMA
    assert data["role"] == "admin"
    assert data["status"] == "pending"
    assert data["tenant"] == {"id": str(a.tenant.id), "name": "Tenant A", "subdomain": "tenant-a"}
    (message,) = mail.outbox
    assert message.to == [NEEMA]
    assert "Tenant A" in message.subject
    assert f"/api/tenants/invite/{token}/" in message.body
    invitation = Invitation.objects.get(pk=data["id"])
    assert invitation.token_hash == invitation_token_hash(token)
    assert token not in invitation.token_hash
    assert invitation.invited_by == a.owner


def test_an_admin_invites_agents_and_admins(api, a, invite):
    for email, role in (("one@example.com", "agent"), ("two@example.com", "admin")):
        response, _ = invite(a.admin, a.tenant, email, role)
        assert ok_data(response, 201)["role"] == role


def test_an_admin_cannot_invite_an_owner_but_an_owner_can(api, a, invite):
    response, _ = invite(a.admin, a.tenant, role="owner")

    assert_error(response, 403, "PERMISSION_DENIED")
    assert not Invitation.objects.filter(email=NEEMA).exists()
    assert mail.outbox == []
    response, _ = invite(a.owner, a.tenant, role="owner")
    assert ok_data(response, 201)["role"] == "owner"


def test_an_agent_cannot_invite(api, a, invite):
    response, _ = invite(a.agent, a.tenant)

    assert_error(response, 403, "PERMISSION_DENIED")
    assert mail.outbox == []


def test_inviting_into_another_tenant_is_404(api, a, b, invite):
    response, _ = invite(a.owner, b.tenant)

    assert_error(response, 404, "NOT_FOUND")
    assert not Invitation.objects.filter(tenant=b.tenant).exists()


def test_inviting_an_existing_member_is_400(api, a, invite):
    response, _ = invite(a.owner, a.tenant, "AGENT-A@example.com")

    assert_field_errors(response, "email")
    assert mail.outbox == []


def test_invite_rejects_bad_input(api, a):
    response = api(a.owner).post(
        members_url(a.tenant.id), {"email": "nope", "role": "superuser"}, format="json"
    )

    assert_field_errors(response, "email", "role")


def test_inviting_again_revokes_the_earlier_invitation(api, a, invite):
    _, first = invite(a.owner, a.tenant)
    _, second = invite(a.owner, a.tenant)

    assert_error(api().get(invitation_url(first)), 404, "INVALID_INVITATION")
    assert ok_data(api().get(invitation_url(second)))["email"] == NEEMA


# --- GET /api/tenants/invite/{token}/


def test_an_invitation_is_shown_without_signing_in(api, a, invite):
    _, token = invite(a.admin, a.tenant, role="admin")

    data = ok_data(api().get(invitation_url(token)))

    assert data["email"] == NEEMA
    assert data["role"] == "admin"
    assert data["tenant"]["name"] == "Tenant A"
    assert data["invited_by"] == a.admin.full_name


def test_an_unknown_or_expired_invitation_is_404(api, a, invite):
    _, token = invite(a.owner, a.tenant)
    Invitation.objects.filter(email=NEEMA).update(expires_at=timezone.now() - timedelta(seconds=1))

    assert_error(api().get(invitation_url(token)), 404, "INVALID_INVITATION")
    assert_error(api().get(invitation_url("no-such-token")), 404, "INVALID_INVITATION")


# --- POST /api/tenants/invite/{token}/


def test_the_invited_user_accepts_and_becomes_a_member_with_the_role(api, a, b, invite):
    user = UserFactory(email=NEEMA)
    _, token = invite(a.owner, a.tenant, role="admin")

    data = ok_data(api(user).post(invitation_url(token)))

    assert data["tenant"]["id"] == str(a.tenant.id)
    assert (data["role"], data["status"]) == ("admin", "accepted")
    membership = Membership.objects.get(user=user, tenant=a.tenant)
    assert (membership.role, membership.status) == (Role.ADMIN, Membership.Status.ACTIVE)
    invitation = Invitation.objects.get(email=NEEMA)
    assert (invitation.status, invitation.accepted_by) == (Invitation.Status.ACCEPTED, user)
    user.refresh_from_db()
    assert user.active_tenant_id == a.tenant.id
    listed = ok_data(api(user).get(TENANTS))["results"]
    assert [(t["id"], t["role"]) for t in listed] == [(str(a.tenant.id), "admin")]


def test_opening_the_link_signed_in_as_the_invited_user_accepts_it(api, a, invite):
    user = UserFactory(email=NEEMA)
    _, token = invite(a.owner, a.tenant)

    response = api(user).get(invitation_url(token))

    assert ok_data(response)["status"] == "accepted"
    assert Membership.objects.get(user=user, tenant=a.tenant).role == Role.AGENT


def test_opening_the_link_signed_in_as_someone_else_only_shows_it(api, a, b, invite):
    _, token = invite(a.owner, a.tenant)

    assert ok_data(api(b.agent).get(invitation_url(token)))["status"] == "pending"
    assert not Membership.objects.filter(user=b.agent, tenant=a.tenant).exists()


def test_accepting_keeps_an_existing_active_tenant(api, a, b, invite):
    _, token = invite(a.owner, a.tenant, b.owner.email)

    ok_data(api(b.owner).post(invitation_url(token)))

    b.owner.refresh_from_db()
    assert b.owner.active_tenant_id == b.tenant.id
    assert Membership.objects.get(user=b.owner, tenant=a.tenant).role == Role.AGENT


def test_another_user_cannot_accept_the_invitation(api, a, b, invite):
    _, token = invite(a.owner, a.tenant)

    response = api(b.agent).post(invitation_url(token))

    assert_error(response, 403, "PERMISSION_DENIED")
    assert not Membership.objects.filter(user=b.agent, tenant=a.tenant).exists()
    assert Invitation.objects.get(email=NEEMA).status == Invitation.Status.PENDING


def test_a_used_or_unknown_invitation_cannot_be_accepted(api, a, invite):
    user = UserFactory(email=NEEMA)
    _, token = invite(a.owner, a.tenant)
    ok_data(api(user).post(invitation_url(token)))

    assert_error(api(user).post(invitation_url(token)), 404, "INVALID_INVITATION")
    assert_error(api(user).post(invitation_url("no-such-token")), 404, "INVALID_INVITATION")


def test_accepting_without_a_token_is_401(api, a, invite):
    _, token = invite(a.owner, a.tenant)

    assert_error(api().post(invitation_url(token)), 401, "AUTHENTICATION_REQUIRED")
    assert Invitation.objects.get(email=NEEMA).status == Invitation.Status.PENDING
