"""Fixed-window rate limits counted atomically in Redis, with X-RateLimit-* headers (DESIGN 3)."""

import threading
import time
from types import SimpleNamespace

import pytest
from django_redis import get_redis_connection

from mifumo import ratelimit
from mifumo.ratelimit import RateLimitState, parse_rate, rate_limit_hit
from tests.conftest import PASSWORD
from tests.envelope import assert_error

LOGIN = "/api/auth/login/"
REGISTER = "/api/auth/register/"
BAD_LOGIN = {"email": "nobody@example.com", "password": "Wrong-Password-1"}


@pytest.fixture
def clock(monkeypatch):
    """Pins the rate limiter's clock so a test never straddles a window boundary."""
    frozen = SimpleNamespace(now=float(int(time.time())))
    monkeypatch.setattr(ratelimit, "time", SimpleNamespace(time=lambda: frozen.now))
    return frozen


def login(client, body=BAD_LOGIN, **extra):
    return client.post(LOGIN, body, content_type="application/json", **extra)


def exhaust_login(client, **extra):
    for _ in range(5):
        assert login(client, **extra).status_code == 401


# --- Over HTTP


def test_login_allows_five_requests_per_minute_then_429(client, db, clock):
    responses = [login(client) for _ in range(5)]

    assert [r.status_code for r in responses] == [401] * 5
    assert {r["X-RateLimit-Limit"] for r in responses} == {"5"}
    assert [r["X-RateLimit-Remaining"] for r in responses] == ["4", "3", "2", "1", "0"]
    resets = {int(r["X-RateLimit-Reset"]) for r in responses}
    assert len(resets) == 1
    assert clock.now < resets.pop() <= clock.now + 60

    blocked = login(client)

    body = assert_error(blocked, 429, "RATE_LIMIT_EXCEEDED")
    assert body["details"] is None
    assert 1 <= int(blocked["Retry-After"]) <= 60
    assert blocked["X-RateLimit-Limit"] == "5"
    assert blocked["X-RateLimit-Remaining"] == "0"


def test_a_throttled_login_never_checks_the_password(client, a, clock):
    exhaust_login(client)

    response = login(client, {"email": a.owner.email, "password": PASSWORD})

    assert_error(response, 429, "RATE_LIMIT_EXCEEDED")
    assert "tokens" not in response.json()


def test_retry_after_counts_down_to_the_next_window(client, db, clock):
    exhaust_login(client)
    reset = int(login(client)["X-RateLimit-Reset"])
    clock.now = reset - 10

    assert login(client)["Retry-After"] == "10"


def test_the_next_window_starts_a_fresh_count(client, db, clock):
    exhaust_login(client)
    assert login(client).status_code == 429
    clock.now += 60

    response = login(client)

    assert response.status_code == 401
    assert response["X-RateLimit-Remaining"] == "4"


def test_each_client_ip_has_its_own_counter(client, db, clock):
    exhaust_login(client, REMOTE_ADDR="10.0.0.1")
    assert login(client, REMOTE_ADDR="10.0.0.1").status_code == 429

    other = login(client, REMOTE_ADDR="10.0.0.2")

    assert other.status_code == 401
    assert other["X-RateLimit-Remaining"] == "4"


def test_a_spoofed_x_forwarded_for_does_not_dodge_the_limit(client, db, clock):
    for n in range(5):
        assert login(client, HTTP_X_FORWARDED_FOR=f"203.0.113.{n}").status_code == 401

    response = login(client, HTTP_X_FORWARDED_FOR="203.0.113.99")

    assert_error(response, 429, "RATE_LIMIT_EXCEEDED")


def test_login_and_register_are_counted_separately(client, db, clock):
    exhaust_login(client)
    assert login(client).status_code == 429

    response = client.post(REGISTER, {}, content_type="application/json")

    assert_error(response, 400, "VALIDATION_ERROR")
    assert response["X-RateLimit-Remaining"] == "4"


def test_the_limit_comes_from_settings(client, db, clock, settings):
    settings.RATE_LIMITS = {**settings.RATE_LIMITS, "auth": "2/min"}

    assert [login(client).status_code for _ in range(3)] == [401, 401, 429]


def test_rejected_bodies_still_count(client, db, clock):
    """Malformed or invalid requests spend the budget too, so they cannot probe for free."""
    for _ in range(5):
        client.post(LOGIN, "{not json", content_type="application/json")

    assert_error(login(client), 429, "RATE_LIMIT_EXCEEDED")


def test_routes_without_a_limit_send_no_rate_limit_headers(api, a):
    response = api(a.owner).get("/api/auth/profile/")

    assert response.status_code == 200
    assert "X-RateLimit-Limit" not in response
    assert "Retry-After" not in response


# --- The counter


@pytest.mark.parametrize(
    ("rate", "parsed"),
    [
        ("5/min", (5, 60)),
        ("100/m", (100, 60)),
        ("3/sec", (3, 1)),
        ("3/s", (3, 1)),
        ("500/hour", (500, 3600)),
        ("1000/h", (1000, 3600)),
        ("10/day", (10, 86400)),
        ("10/d", (10, 86400)),
        ("7/ Min ", (7, 60)),
    ],
)
def test_parse_rate(rate, parsed):
    assert parse_rate(rate) == parsed


@pytest.mark.parametrize("rate", ["5", "5/fortnight", "many/min", ""])
def test_parse_rate_rejects_nonsense(rate):
    with pytest.raises((KeyError, ValueError)):
        parse_rate(rate)


def test_rate_limit_hit_counts_down_within_a_window(clock, settings):
    settings.RATE_LIMITS = {**settings.RATE_LIMITS, "sms_send": "3/min"}

    states = [rate_limit_hit("sms_send", "user:1") for _ in range(4)]

    assert [s.remaining for s in states] == [2, 1, 0, -1]
    assert [s.allowed for s in states] == [True, True, True, False]
    window_start = int(clock.now) // 60 * 60
    assert {s.reset_at for s in states} == {window_start + 60}
    assert {s.limit for s in states} == {3}


def test_a_scope_suffix_takes_the_rate_of_its_prefix_but_counts_alone(clock, settings):
    settings.RATE_LIMITS = {**settings.RATE_LIMITS, "auth": "2/min"}

    rate_limit_hit("auth:login", "ip:10.0.0.1")
    login_state = rate_limit_hit("auth:login", "ip:10.0.0.1")
    register_state = rate_limit_hit("auth:register", "ip:10.0.0.1")

    assert login_state.limit == register_state.limit == 2
    assert login_state.remaining == 0
    assert register_state.remaining == 1


def test_an_unconfigured_scope_is_an_error(clock):
    with pytest.raises(KeyError):
        rate_limit_hit("no_such_scope", "user:1")


def test_counters_expire_after_their_window(clock):
    rate_limit_hit("auth:login", "ip:10.9.9.9")

    redis = get_redis_connection("default")
    (key,) = redis.keys("*ratelimit*10.9.9.9*")
    assert 0 < redis.ttl(key) <= 61


def test_the_counter_is_atomic_under_concurrency(clock, settings):
    settings.RATE_LIMITS = {**settings.RATE_LIMITS, "sms_send": "10/min"}
    remaining, errors = [], []
    start = threading.Barrier(50)

    def hit():
        try:
            start.wait()
            remaining.append(rate_limit_hit("sms_send", "user:42").remaining)
        except Exception as exc:  # surfaced by the assertion below
            errors.append(exc)

    threads = [threading.Thread(target=hit) for _ in range(50)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert errors == []
    assert sorted(remaining) == list(range(-40, 10))


def test_rate_limit_state_headers_never_show_a_negative_remaining(clock):
    state = RateLimitState(limit=5, remaining=-3, reset_at=int(clock.now) + 30)

    assert not state.allowed
    assert state.headers() == {
        "X-RateLimit-Limit": "5",
        "X-RateLimit-Remaining": "0",
        "X-RateLimit-Reset": str(int(clock.now) + 30),
    }
    assert state.retry_after() == 30


def test_retry_after_is_at_least_one_second(clock):
    state = RateLimitState(limit=5, remaining=-1, reset_at=int(clock.now))

    assert state.retry_after() == 1
