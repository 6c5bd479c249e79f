"""Who is calling: the key that rate limits and idempotency records are kept under."""

from rest_framework.throttling import BaseThrottle

_ident = BaseThrottle()


def client_ip(request) -> str:
    """The client address, honouring X-Forwarded-For only through NUM_PROXIES trusted proxies."""
    return _ident.get_ident(request)


def principal_of(request) -> str:
    api_key = getattr(request, "api_key", None)
    if api_key is not None:
        return f"key:{api_key.pk}"
    user = getattr(request, "user", None)
    if user is not None and user.is_authenticated:
        return f"user:{user.pk}"
    return f"ip:{client_ip(request)}"


def shared_key(*parts: str) -> str:
    """A Redis key that is the same in every schema.

    Rate-limit counters and idempotency records belong to the caller, not to the tenant the
    request happens to run in; django_tenants' make_key would give a caller a fresh counter
    or record in each tenant they can switch to.
    """
    return ":".join(("mifumo", *parts))
