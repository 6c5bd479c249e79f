"""API keys: created and regenerated with a fresh key and secret (shown once, stored as
hashes), revoked at once, and counted as they are used."""

import hashlib
import secrets
from dataclasses import dataclass

from django.db import transaction
from django.db.models import F
from django.utils import timezone
from rest_framework import status

from integration.models import API_KEY_PREFIX, ApiKey
from mifumo.errors import ApplicationError, ErrorCode

SCOPES = ("sms:send", "sms:read", "contacts:read", "contacts:write")
SECRET_PREFIX = "mifsk_"  # noqa: S105 - a prefix, not a secret


def key_hash(raw: str) -> str:
    return hashlib.sha256(raw.encode()).hexdigest()


@dataclass(frozen=True)
class IssuedKey:
    """A key as its owner sees it once: the stored row with the raw key and secret."""

    api_key: ApiKey
    key: str
    secret: str


def _fresh_credentials() -> tuple[str, str]:
    return API_KEY_PREFIX + secrets.token_urlsafe(32), SECRET_PREFIX + secrets.token_urlsafe(32)


ANY = "*"


def scopes_from_grants(grants: dict) -> list[str]:
    """The object form of permissions as scopes: `{"sms": ["send", "read"]}` is sms:send and
    sms:read; `"*"` as a resource means each one that has the action, as an action each of the
    resource's. Raises ValueError naming what no scope matches, or when nothing is granted
    (an empty list of scopes would grant everything)."""
    if not isinstance(grants, dict):
        raise ValueError("Give a list of scopes or an object of resource -> actions.")
    known = [scope.split(":", 1) for scope in SCOPES]
    scopes, unmatched = [], []
    for resource, actions in grants.items():
        if not isinstance(actions, list) or not all(isinstance(a, str) for a in actions):
            raise ValueError(f'{resource}: give a list of actions, e.g. ["send", "read"].')
        for action in actions:
            matched = [f"{r}:{a}" for r, a in known if resource in (r, ANY) and action in (a, ANY)]
            if not matched:
                unmatched.append(f"{resource}:{action}")
            scopes += matched
    if unmatched:
        raise ValueError(
            f"Unknown permissions: {', '.join(unmatched)}. Known: {', '.join(SCOPES)}."
        )
    if not scopes:
        raise ValueError("Grant at least one action, or send an empty list for every scope.")
    return sorted(set(scopes))


def _check_permissions(permissions: list[str]) -> list[str]:
    unknown = sorted(set(permissions) - set(SCOPES))
    if unknown:
        message = f"Unknown permissions: {', '.join(unknown)}. Known: {', '.join(SCOPES)}."
        raise ApplicationError(
            message, code=ErrorCode.VALIDATION_ERROR, errors={"permissions": [message]}
        )
    return sorted(set(permissions))


def api_key_create(
    *, tenant, name: str, permissions: list[str], expires_at=None, created_by=None
) -> IssuedKey:
    if expires_at is not None and expires_at <= timezone.now():
        message = "The expiry must be in the future."
        raise ApplicationError(
            message, code=ErrorCode.VALIDATION_ERROR, errors={"expires_at": [message]}
        )
    key, secret = _fresh_credentials()
    api_key = ApiKey.objects.create(
        tenant=tenant,
        name=name.strip(),
        key_prefix=key[:12],
        key_hash=key_hash(key),
        secret_hash=key_hash(secret),
        permissions=_check_permissions(permissions),
        expires_at=expires_at,
        created_by=created_by,
    )
    return IssuedKey(api_key=api_key, key=key, secret=secret)


def _require_active(api_key: ApiKey) -> None:
    if api_key.status != ApiKey.Status.ACTIVE:
        raise ApplicationError(
            "This key is revoked.",
            code=ErrorCode.INVALID_STATUS,
            status_code=status.HTTP_409_CONFLICT,
            details={"current_status": api_key.status, "allowed_statuses": ["active"]},
        )


@transaction.atomic
def api_key_regenerate(*, api_key: ApiKey) -> IssuedKey:
    """A new key and secret for the same name and permissions; the old key stops at once."""
    api_key = ApiKey.objects.select_for_update().get(pk=api_key.pk)
    _require_active(api_key)
    key, secret = _fresh_credentials()
    api_key.key_prefix = key[:12]
    api_key.key_hash = key_hash(key)
    api_key.secret_hash = key_hash(secret)
    api_key.save(update_fields=["key_prefix", "key_hash", "secret_hash"])
    return IssuedKey(api_key=api_key, key=key, secret=secret)


def api_key_revoke(*, api_key: ApiKey) -> ApiKey:
    """Revoke at once; revoking a revoked key changes nothing."""
    ApiKey.objects.filter(pk=api_key.pk, status=ApiKey.Status.ACTIVE).update(
        status=ApiKey.Status.REVOKED, revoked_at=timezone.now()
    )
    api_key.refresh_from_db()
    return api_key


def api_key_used(*, api_key_id) -> None:
    ApiKey.objects.filter(pk=api_key_id).update(
        last_used_at=timezone.now(), total_uses=F("total_uses") + 1
    )
