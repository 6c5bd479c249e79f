"""The credentials of tenants' own provider accounts, at rest and on display.

A channel's credentials (a small {name: value} object, e.g. Beem's api_key and secret_key)
are kept as one Fernet token of their JSON: encrypted and authenticated with the keys of
settings.CREDENTIALS_ENCRYPTION_KEY. That setting holds one key, or several comma-separated
while keys rotate: the first encrypts, each one decrypts (cryptography's MultiFernet), and
`credentials_reencrypt` moves a token onto the first key. Nothing here logs or raises a value.

What a reader is shown is `credentials_mask`: every value replaced by asterisks and, for a
value long enough that they give nothing away, its last four characters.
"""

import functools
import json
from collections.abc import Mapping

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from django.conf import settings

MASK = "****"
# Values shorter than this are masked whole: four characters of a short secret are too many.
SHOWN_TAIL_FROM_LENGTH = 12
SHOWN_TAIL = 4


class CredentialsUnreadable(Exception):
    """No key of CREDENTIALS_ENCRYPTION_KEY opens the stored credentials (the key that
    encrypted them was dropped), or they are not what this module stored."""


@functools.cache
def _fernet(keys: str) -> MultiFernet:
    return MultiFernet([Fernet(key.strip().encode()) for key in keys.split(",")])


def _keys() -> MultiFernet:
    # Keyed by the setting's value, so a changed setting (tests, rotation) takes effect at once.
    return _fernet(settings.CREDENTIALS_ENCRYPTION_KEY)


def credentials_encrypt(credentials: Mapping[str, str]) -> str:
    """The Fernet token (ASCII) of `credentials`, encrypted with the first key."""
    plaintext = json.dumps(dict(credentials), sort_keys=True).encode()
    return _keys().encrypt(plaintext).decode()


def credentials_decrypt(token: str) -> dict[str, str]:
    """The credentials in `token`; {} for no token. Raises CredentialsUnreadable."""
    if not token:
        return {}
    try:
        data = json.loads(_keys().decrypt(token.encode()))
    except (InvalidToken, ValueError) as exc:
        raise CredentialsUnreadable(
            "The stored credentials cannot be decrypted with CREDENTIALS_ENCRYPTION_KEY."
        ) from exc
    if not isinstance(data, dict):
        raise CredentialsUnreadable("The stored credentials are not an object.")
    return {str(name): str(value) for name, value in data.items()}


def credentials_reencrypt(token: str) -> str:
    """`token` encrypted again with the first key (after a rotation); raises
    CredentialsUnreadable when no key opens it."""
    try:
        return _keys().rotate(token.encode()).decode()
    except InvalidToken as exc:
        raise CredentialsUnreadable(
            "The stored credentials cannot be decrypted with CREDENTIALS_ENCRYPTION_KEY."
        ) from exc


def credential_mask(value: str) -> str:
    if len(value) >= SHOWN_TAIL_FROM_LENGTH:
        return MASK + value[-SHOWN_TAIL:]
    return MASK


def credentials_mask(credentials: Mapping[str, str]) -> dict[str, str]:
    """The credentials as a reader may see them: each value masked, the names kept."""
    return {name: credential_mask(value) for name, value in sorted(credentials.items())}


def secrets_scrubbed(text: str, credentials: Mapping[str, str]) -> str:
    """`text` (a provider's error, which may quote a request) with every credential value in
    it replaced by its mask."""
    # The longest first, so a value that contains another is replaced whole.
    for value in sorted(credentials.values(), key=len, reverse=True):
        if value:
            text = text.replace(value, credential_mask(value))
    return text
