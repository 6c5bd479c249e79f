"""Who is calling: the key that rate limits and idempotency records are kept under."""

from rest_framework.throttling import BaseThrottle

_ident = BaseThrottle()


def client_ip(request) -> str:
    """The client address, honouring X-Forwarded-For only through NUM_PROXIES trusted proxies."""
    return _ident.get_ident(request)


def principal_of(request) -> str:
    user = getattr(request, "user", None)
    if user is not None and user.is_authenticated:
        return f"user:{user.pk}"
    return f"ip:{client_ip(request)}"
