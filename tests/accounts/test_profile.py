PROFILE = "/api/auth/profile/"


def test_profile_shows_the_user_memberships_and_active_tenant(api, a):
    response = api(a.owner).get(PROFILE)

    assert response.status_code == 200
    body = response.json()
    assert body["success"] is True
    data = body["data"]
    assert data["email"] == a.owner.email
    assert data["memberships"] == [
        {
            "tenant_id": str(a.tenant.id),
            "name": a.tenant.name,
            "subdomain": "tenant-a",
            "role": "owner",
        }
    ]
    assert data["active_tenant"]["tenant_id"] == str(a.tenant.id)


def test_profile_never_lists_another_tenant(api, a, b):
    data = api(a.agent).get(PROFILE).json()["data"]

    assert [m["tenant_id"] for m in data["memberships"]] == [str(a.tenant.id)]
    assert data["active_tenant"]["role"] == "agent"


def test_profile_update_changes_allowed_fields_and_resets_phone_verification(api, a):
    response = api(a.owner).put(
        PROFILE,
        {"first_name": "Neema", "phone_number": "0755 111 222", "sms_notifications": True},
        format="json",
    )

    assert response.status_code == 200
    data = response.json()["data"]
    assert data["first_name"] == "Neema"
    assert data["phone_number"] == "+255755111222"
    assert data["phone_verified"] is False
    assert data["sms_notifications"] is True


def test_profile_update_ignores_fields_a_user_may_not_set(api, a):
    response = api(a.agent).put(PROFILE, {"is_staff": True, "email": "x@y.z"}, format="json")

    assert response.status_code == 200
    a.agent.refresh_from_db()
    assert not a.agent.is_staff
    assert a.agent.email == "agent-a@example.com"


def test_profile_update_rejects_bad_input(api, a):
    response = api(a.owner).put(
        PROFILE, {"phone_number": "abc", "email_notifications": "maybe"}, format="json"
    )

    assert response.status_code == 400
    assert set(response.json()["errors"]) == {"phone_number", "email_notifications"}


def test_profile_needs_a_valid_token(api, db):
    missing = api().get(PROFILE)
    invalid = api(HTTP_AUTHORIZATION="Bearer not.a.jwt").get(PROFILE)

    assert missing.status_code == 401
    assert missing.json()["error_code"] == "AUTHENTICATION_REQUIRED"
    assert invalid.status_code == 401
    assert invalid.json()["error_code"] == "INVALID_TOKEN"


def test_profile_reads_take_a_fixed_number_of_queries(api, a, django_assert_num_queries):
    client = api(a.owner)
    client.get(PROFILE)

    # the user with the membership they work in (middleware), the memberships list
    with django_assert_num_queries(2):
        response = client.get(PROFILE)

    assert response.status_code == 200
