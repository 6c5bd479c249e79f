"""No token signed with a constant shipped in the repository is accepted.

A default install once signed its JWTs with a fallback constant from the settings, so anyone
who read the source could sign in as anyone. Every string literal of the shipped code, and
every value in the shipped configuration files, is tried here as a signing key.
"""

import ast
import functools
import re
from pathlib import Path

import jwt
import pytest
from django.conf import settings
from rest_framework_simplejwt.tokens import AccessToken

ROOT = Path(__file__).resolve().parents[2]
_SHIPPED_CODE = [
    "mifumo",
    "accounts",
    "tenants",
    "messaging",
    "sms",
    "billing",
    "integration",
    "webhooks",
    "bench",
    "tests",
    "scripts",
]
_SHIPPED_CONFIG = [".env.example", "docker-compose.yml", "Makefile", "Dockerfile", "README.md"]


# Most constants are far too short for HS256; PyJWT says so for each, and that is the point.
pytestmark = pytest.mark.filterwarnings("ignore::jwt.warnings.InsecureKeyLengthWarning")


@functools.cache
def _shipped_constants() -> frozenset[str]:
    constants = set()
    for folder in _SHIPPED_CODE:
        for path in (ROOT / folder).rglob("*.py"):
            for node in ast.walk(ast.parse(path.read_text(), str(path))):
                if isinstance(node, ast.Constant) and isinstance(node.value, str):
                    constants.add(node.value)
    for name in _SHIPPED_CONFIG:
        constants.update(re.findall(r"[^\s=:'\"`${}()]+", (ROOT / name).read_text()))
    return frozenset(c for c in constants if c.strip())


def _forged(key: str, user_id: int) -> str:
    claims = dict(AccessToken().payload, user_id=str(user_id))
    return jwt.encode(claims, key, algorithm="HS256")


def test_the_signing_keys_are_no_shipped_constant():
    constants = _shipped_constants()

    assert len(constants) > 1000  # the scan did read the code
    assert settings.SECRET_KEY not in constants
    assert settings.SIMPLE_JWT["SIGNING_KEY"] not in constants


@pytest.mark.django_db
def test_a_token_signed_with_any_shipped_constant_is_refused(api, a):
    constants = sorted(_shipped_constants())
    accepted = []
    for key in constants:
        try:
            AccessToken(_forged(key, a.owner.pk))
        except Exception:  # noqa: S112 - every refusal is fine, only acceptance is not
            continue
        accepted.append(key)

    assert accepted == []
    # The old development fallback, over HTTP as an attacker would send it.
    old_fallback = "dev-only-insecure-secret-key-change-me"
    response = api(HTTP_AUTHORIZATION=f"Bearer {_forged(old_fallback, a.owner.pk)}").get(
        "/api/auth/profile/"
    )
    assert response.status_code == 401


@pytest.mark.django_db
def test_a_token_signed_with_the_real_key_is_accepted(api, a):
    """The refusals above are the key's doing, not a broken forgery."""
    token = _forged(settings.SIMPLE_JWT["SIGNING_KEY"], a.owner.pk)

    assert api(HTTP_AUTHORIZATION=f"Bearer {token}").get("/api/auth/profile/").status_code == 200
