"""Fixed-window rate limits counted atomically in Redis (DESIGN section 3).

A view names its scopes (`rate_limit_scopes = ("auth",)`) and how callers are told apart
(`rate_limit_by = "ip"` or the default "principal"). Limits come from settings.RATE_LIMITS.
Every throttled response carries X-RateLimit-Limit/Remaining/Reset; a 429 adds Retry-After.
"""

import time
from dataclasses import dataclass

from django.conf import settings
from django_redis import get_redis_connection
from rest_framework.throttling import BaseThrottle

from mifumo.principals import client_ip, principal_of, shared_key

_WINDOWS = {"sec": 1, "s": 1, "min": 60, "m": 60, "hour": 3600, "h": 3600, "day": 86400, "d": 86400}


@dataclass(frozen=True)
class RateLimitState:
    limit: int
    remaining: int
    reset_at: int

    @property
    def allowed(self) -> bool:
        return self.remaining >= 0

    def retry_after(self) -> int:
        return max(1, self.reset_at - int(time.time()))

    def headers(self) -> dict[str, str]:
        return {
            "X-RateLimit-Limit": str(self.limit),
            "X-RateLimit-Remaining": str(max(self.remaining, 0)),
            "X-RateLimit-Reset": str(self.reset_at),
        }


def parse_rate(rate: str) -> tuple[int, int]:
    count, _, period = rate.partition("/")
    return int(count), _WINDOWS[period.strip().lower()]


def rate_limit_hit(scope: str, caller: str) -> RateLimitState:
    """Count one request of `caller` against `scope` and report where it stands."""
    limit, window = parse_rate(settings.RATE_LIMITS[scope.partition(":")[0]])
    window_start = int(time.time()) // window * window
    key = shared_key("ratelimit", scope, caller, str(window_start))
    pipe = get_redis_connection("default").pipeline(transaction=True)
    pipe.incr(key)
    pipe.expire(key, window + 1)
    count, _ = pipe.execute()
    return RateLimitState(limit=limit, remaining=limit - count, reset_at=window_start + window)


class RedisRateThrottle(BaseThrottle):
    """DRF throttle over rate_limit_hit; leaves the tightest state on the request for headers."""

    def allow_request(self, request, view):
        scopes = getattr(view, "rate_limit_scopes", ())
        if not scopes:
            return True
        by_ip = getattr(view, "rate_limit_by", "principal") == "ip"
        caller = f"ip:{client_ip(request)}" if by_ip else principal_of(request)
        states = [rate_limit_hit(scope, caller) for scope in scopes]
        self.state = min(states, key=lambda s: (s.allowed, s.remaining))
        request._request.rate_limit = self.state
        return all(s.allowed for s in states)

    def wait(self):
        return self.state.retry_after()


class RateLimitHeadersMiddleware:
    """Adds the X-RateLimit-* headers to any response whose request was rate limited."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        response = self.get_response(request)
        state = getattr(request, "rate_limit", None)
        if state is not None:
            for name, value in state.headers().items():
                response[name] = value
        return response
