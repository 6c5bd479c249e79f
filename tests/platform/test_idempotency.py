"""`Idempotency-Key` on creating POSTs, through POST /api/tenants/ (DESIGN section 3)."""

import json
from types import SimpleNamespace

from django_redis import get_redis_connection

from mifumo.idempotency import _store_key, request_fingerprint
from tenants.models import Tenant
from tests.envelope import assert_error, ok_data

TENANTS = "/api/tenants/"
BODY = {"name": "Arusha Coffee", "subdomain": "arusha-coffee"}


def create(client, body=BODY):
    return client.post(TENANTS, body, format="json")


def store_key(user, key: str) -> str:
    """The Redis key the module keeps `user`'s record for `key` under."""
    return _store_key(SimpleNamespace(user=user), key)


def fingerprint(body=BODY, method="POST", path=TENANTS) -> str:
    return request_fingerprint(SimpleNamespace(method=method, path=path, data=body))


def hold(user, key: str, fingerprint: str) -> None:
    """Leave the record a first request writes while it is still running."""
    record = {"state": "pending", "fingerprint": fingerprint}
    get_redis_connection("default").set(store_key(user, key), json.dumps(record), ex=60)


def test_a_retry_with_the_same_body_replays_the_first_response(api, a):
    client = api(a.owner, HTTP_IDEMPOTENCY_KEY="order-1")

    first = create(client)
    retry = create(client)

    assert ok_data(first, 201)["subdomain"] == "arusha-coffee"
    assert "Idempotent-Replayed" not in first
    assert retry.status_code == 201
    assert retry["Idempotent-Replayed"] == "true"
    assert retry.json() == first.json()
    assert Tenant.objects.filter(subdomain="arusha-coffee").count() == 1


def test_the_record_is_kept_for_a_day(api, a, settings):
    create(api(a.owner, HTTP_IDEMPOTENCY_KEY="order-ttl"))

    ttl = get_redis_connection("default").ttl(store_key(a.owner, "order-ttl"))

    assert settings.IDEMPOTENCY_TTL_SECONDS == 24 * 60 * 60
    assert settings.IDEMPOTENCY_TTL_SECONDS - 60 < ttl <= settings.IDEMPOTENCY_TTL_SECONDS


def test_the_same_key_with_a_different_body_is_422(api, a):
    client = api(a.owner, HTTP_IDEMPOTENCY_KEY="order-2")
    create(client)

    response = create(client, {"name": "Something Else", "subdomain": "something-else"})

    assert_error(response, 422, "IDEMPOTENCY_KEY_REUSED")
    assert not Tenant.objects.filter(subdomain="something-else").exists()


def test_a_key_still_being_processed_is_409(api, a):
    hold(a.owner, "order-3", fingerprint())

    response = create(api(a.owner, HTTP_IDEMPOTENCY_KEY="order-3"))

    assert_error(response, 409, "IDEMPOTENCY_KEY_IN_USE")
    assert not Tenant.objects.filter(subdomain="arusha-coffee").exists()
    record = json.loads(get_redis_connection("default").get(store_key(a.owner, "order-3")))
    assert record["state"] == "pending"


def test_a_pending_key_with_a_different_body_is_still_422(api, a):
    hold(a.owner, "order-4", fingerprint({"name": "Another Request"}))

    response = create(api(a.owner, HTTP_IDEMPOTENCY_KEY="order-4"))

    assert_error(response, 422, "IDEMPOTENCY_KEY_REUSED")


def test_keys_belong_to_one_principal(api, a, b):
    first = create(api(a.owner, HTTP_IDEMPOTENCY_KEY="shared-key"))
    second = create(
        api(b.owner, HTTP_IDEMPOTENCY_KEY="shared-key"),
        {"name": "Dodoma Beans", "subdomain": "dodoma-beans"},
    )

    assert first.status_code == second.status_code == 201
    assert "Idempotent-Replayed" not in second
    assert ok_data(second, 201)["subdomain"] == "dodoma-beans"
    assert Tenant.objects.filter(subdomain__in=["arusha-coffee", "dodoma-beans"]).count() == 2


def test_a_rejected_request_is_not_kept_so_the_fixed_request_may_reuse_the_key(api, a):
    client = api(a.owner, HTTP_IDEMPOTENCY_KEY="order-5")

    rejected = create(client, {"name": ""})

    assert_error(rejected, 400, "VALIDATION_ERROR")
    assert get_redis_connection("default").get(store_key(a.owner, "order-5")) is None
    fixed = create(client)
    assert ok_data(fixed, 201)["subdomain"] == "arusha-coffee"
    assert "Idempotent-Replayed" not in fixed


def test_a_service_error_frees_the_key_too(api, a, b):
    client = api(a.owner, HTTP_IDEMPOTENCY_KEY="order-6")

    taken = create(client, {"name": "Copycat", "subdomain": b.tenant.subdomain})

    assert taken.status_code == 400
    assert ok_data(create(client), 201)["subdomain"] == "arusha-coffee"


def test_a_key_longer_than_255_characters_is_400(api, a):
    response = create(api(a.owner, HTTP_IDEMPOTENCY_KEY="k" * 256))

    body = assert_error(response, 400, "VALIDATION_ERROR")
    assert list(body["errors"]) == ["Idempotency-Key"]
    assert not Tenant.objects.filter(subdomain="arusha-coffee").exists()


def test_a_key_of_255_characters_is_accepted(api, a):
    client = api(a.owner, HTTP_IDEMPOTENCY_KEY="k" * 255)

    assert create(client).status_code == 201
    assert create(client)["Idempotent-Replayed"] == "true"


def test_without_a_key_nothing_is_stored(api, a):
    response = create(api(a.owner))

    assert response.status_code == 201
    assert "Idempotent-Replayed" not in response
    assert get_redis_connection("default").keys("*idempotency*") == []


def test_an_unauthenticated_request_is_rejected_before_the_key_is_taken(api, db):
    response = create(api(HTTP_IDEMPOTENCY_KEY="anon-1"))

    assert_error(response, 401, "AUTHENTICATION_REQUIRED")
    assert get_redis_connection("default").keys("*idempotency*") == []


def test_the_fingerprint_covers_method_path_and_body_but_not_key_order():
    assert fingerprint() == fingerprint(dict(reversed(BODY.items())))
    assert fingerprint() != fingerprint(path="/api/tenants/other/")
    assert fingerprint() != fingerprint(method="PUT")
    assert fingerprint() != fingerprint({**BODY, "name": "Other"})
