"""The dashboard's team routes: GET /api/tenants/{id}/team/ and POST
/api/tenants/{id}/team/invite/ {email, role}, the members routes under another name."""

import pytest

from tenants.models import Invitation
from tests.envelope import assert_error, assert_field_errors, ok_data
from tests.tenants.helpers import members_url, sent_invitation_token, unknown_id


def team_url(tenant_id) -> str:
    return f"/api/tenants/{tenant_id}/team/"


def invite_url(tenant_id) -> str:
    return f"{team_url(tenant_id)}invite/"


def test_any_member_lists_the_team_as_the_members_route_does(api, a):
    data = ok_data(api(a.agent).get(team_url(a.tenant.id)))

    assert data == ok_data(api(a.agent).get(members_url(a.tenant.id)))
    assert {m["email"]: m["role"] for m in data["results"]} == {
        "owner-a@example.com": "owner",
        "admin-a@example.com": "admin",
        "agent-a@example.com": "agent",
    }


@pytest.mark.parametrize("inviter", ["owner", "admin"])
def test_owners_and_admins_invite_by_email_and_role(api, a, b, on_commit, inviter):
    with on_commit():
        response = api(getattr(a, inviter)).post(
            invite_url(a.tenant.id), {"email": "neema@example.com", "role": "admin"}, "json"
        )

    data = ok_data(response, 201)
    assert (data["email"], data["role"]) == ("neema@example.com", "admin")
    assert sent_invitation_token("neema@example.com")
    assert Invitation.objects.filter(tenant=a.tenant, email="neema@example.com").exists()
    assert not Invitation.objects.filter(tenant=b.tenant).exists()


def test_an_agent_may_not_invite(api, a):
    response = api(a.agent).post(invite_url(a.tenant.id), {"email": "n@example.com"}, "json")

    assert_error(response, 403, "PERMISSION_DENIED")
    assert not Invitation.objects.filter(tenant=a.tenant).exists()


def test_an_invitation_needs_an_email_and_a_known_role(api, a):
    response = api(a.owner).post(invite_url(a.tenant.id), {"role": "boss"}, "json")

    assert_field_errors(response, "email", "role")


def test_another_tenants_or_an_unknown_team_is_404(api, a, b):
    for tenant_id in (b.tenant.id, unknown_id()):
        body = assert_error(api(a.owner).get(team_url(tenant_id)), 404, "NOT_FOUND")
        assert "owner-b" not in str(body)


def test_inviting_to_another_tenants_or_an_unknown_team_is_404(api, a, b):
    for tenant_id in (b.tenant.id, unknown_id()):
        body = {"email": "n@example.com", "role": "agent"}
        assert_error(api(a.owner).post(invite_url(tenant_id), body, "json"), 404, "NOT_FOUND")
    assert not Invitation.objects.filter(tenant=b.tenant).exists()


def test_the_invite_route_only_invites(api, a):
    assert_error(api(a.owner).get(invite_url(a.tenant.id)), 405, "METHOD_NOT_ALLOWED")


def test_team_routes_need_a_token(api, a):
    assert_error(api().get(team_url(a.tenant.id)), 401, "AUTHENTICATION_REQUIRED")
    response = api().post(invite_url(a.tenant.id), {"email": "n@example.com"}, "json")
    assert_error(response, 401, "AUTHENTICATION_REQUIRED")
