"""`Idempotency-Key` on creating POSTs (DESIGN section 3).

The first successful response is kept 24 h per (principal, key) with a fingerprint of the
request. A retry with the same request replays it with `Idempotent-Replayed: true`; the same
key with a different request is 422 IDEMPOTENCY_KEY_REUSED; a retry while the first is still
running is 409 IDEMPOTENCY_KEY_IN_USE. Failures are not kept, so a fixed request may retry.
"""

import functools
import hashlib
import json
from collections.abc import Callable
from typing import TypeVar, cast

from django.conf import settings
from django_redis import get_redis_connection
from rest_framework import status
from rest_framework.response import Response
from rest_framework.utils.encoders import JSONEncoder

from mifumo.errors import ApplicationError, ErrorCode
from mifumo.principals import principal_of, shared_key

HEADER = "Idempotency-Key"
MAX_KEY_LENGTH = 255

Handler = TypeVar("Handler", bound=Callable[..., Response])


def _canonical(data):
    if hasattr(data, "lists"):  # QueryDict from form or multipart bodies
        return {key: [_file_or_value(v) for v in values] for key, values in data.lists()}
    return data


def _file_or_value(value):
    if hasattr(value, "read"):
        return {"file": value.name, "size": value.size}
    return value


def request_fingerprint(request) -> str:
    payload = [request.method, request.path, _canonical(request.data)]
    raw = json.dumps(payload, sort_keys=True, cls=JSONEncoder)
    return hashlib.sha256(raw.encode()).hexdigest()


def _store_key(request, key: str, scope: str = "platform") -> str:
    """Per caller and key; routes over one tenant's data add the tenant (`scope`), so the same
    key sent to another tenant is a new request there, not a replay of the first tenant's."""
    digest = hashlib.sha256(key.encode()).hexdigest()
    return shared_key("idempotency", scope, principal_of(request), digest)


def idempotent(handler: Handler) -> Handler:
    """Decorate a DRF view's creating method (after authentication has run)."""

    @functools.wraps(handler)
    def wrapper(view, request, *args, **kwargs):
        key = request.headers.get(HEADER, "").strip()
        if not key:
            return handler(view, request, *args, **kwargs)
        if len(key) > MAX_KEY_LENGTH:
            raise ApplicationError(
                f"{HEADER} must be at most {MAX_KEY_LENGTH} characters.",
                code=ErrorCode.VALIDATION_ERROR,
                errors={HEADER: [f"Ensure this value has at most {MAX_KEY_LENGTH} characters."]},
            )
        redis = get_redis_connection("default")
        scope = request.tenant.schema_name if getattr(view, "tenant_scoped", False) else "platform"
        store_key = _store_key(request, key, scope)
        fingerprint = request_fingerprint(request)
        pending = json.dumps({"state": "pending", "fingerprint": fingerprint})
        if not redis.set(store_key, pending, nx=True, ex=settings.IDEMPOTENCY_LOCK_SECONDS):
            return _replay(redis.get(store_key), fingerprint)
        try:
            response = handler(view, request, *args, **kwargs)
        except BaseException:
            redis.delete(store_key)
            raise
        if status.is_success(response.status_code):
            record = {
                "state": "done",
                "fingerprint": fingerprint,
                "status": response.status_code,
                "data": response.data,
            }
            redis.set(
                store_key, json.dumps(record, cls=JSONEncoder), ex=settings.IDEMPOTENCY_TTL_SECONDS
            )
        else:
            redis.delete(store_key)
        return response

    return cast(Handler, wrapper)  # functools.wraps: the same signature as `handler`


def _replay(stored: bytes | None, fingerprint: str) -> Response:
    record = json.loads(stored) if stored else None
    if record is None:
        raise ApplicationError(
            "A request with this Idempotency-Key just finished; retry it.",
            code=ErrorCode.IDEMPOTENCY_KEY_IN_USE,
            status_code=status.HTTP_409_CONFLICT,
        )
    if record["fingerprint"] != fingerprint:
        raise ApplicationError(
            "This Idempotency-Key was already used with a different request.",
            code=ErrorCode.IDEMPOTENCY_KEY_REUSED,
            status_code=status.HTTP_422_UNPROCESSABLE_ENTITY,
        )
    if record["state"] == "pending":
        raise ApplicationError(
            "A request with this Idempotency-Key is still being processed.",
            code=ErrorCode.IDEMPOTENCY_KEY_IN_USE,
            status_code=status.HTTP_409_CONFLICT,
        )
    return Response(
        record["data"], status=record["status"], headers={"Idempotent-Replayed": "true"}
    )
