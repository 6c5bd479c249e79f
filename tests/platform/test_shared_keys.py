"""Rate limits and idempotency belong to the caller, whatever tenant schema the request runs in."""

from django.db import connection

from mifumo.ratelimit import rate_limit_hit


def test_a_rate_limit_counter_is_the_same_in_every_schema(a, b, settings):
    settings.RATE_LIMITS = {**settings.RATE_LIMITS, "auth": "2/min"}
    connection.set_tenant(a.tenant)
    first = rate_limit_hit("auth:login", "ip:10.1.1.1")
    connection.set_tenant(b.tenant)
    second = rate_limit_hit("auth:login", "ip:10.1.1.1")
    connection.set_schema_to_public()
    third = rate_limit_hit("auth:login", "ip:10.1.1.1")

    assert [first.remaining, second.remaining, third.remaining] == [1, 0, -1]
    assert not third.allowed


def test_an_idempotent_create_replays_after_the_user_switched_tenant(api, a):
    """The first tenant a user creates becomes their active one; the retry still replays."""
    client = api(a.owner, HTTP_IDEMPOTENCY_KEY="create-once")
    body = {"name": "Mwanza Fresh", "subdomain": "mwanza-fresh"}
    first = client.post("/api/tenants/", body, format="json")
    switched = client.post("/api/tenants/switch/", {"tenant_id": first.json()["data"]["id"]})
    retry = client.post("/api/tenants/", body, format="json")

    assert switched.status_code == 200
    assert retry.status_code == 201
    assert retry["Idempotent-Replayed"] == "true"
    assert retry.json() == first.json()
