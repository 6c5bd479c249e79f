"""sms.credentials: Fernet at rest under CREDENTIALS_ENCRYPTION_KEY, rotation through several
keys, and the masks readers see."""

import pytest
from cryptography.fernet import Fernet

from sms.credentials import (
    CredentialsUnreadable,
    credentials_decrypt,
    credentials_encrypt,
    credentials_mask,
    credentials_reencrypt,
    secrets_scrubbed,
)

OLD, NEW = Fernet.generate_key().decode(), Fernet.generate_key().decode()
CREDENTIALS = {"api_key": "key-1234567890", "secret_key": "secret-abcdefghij"}


def test_credentials_round_trip_and_the_token_holds_no_value(settings):
    settings.CREDENTIALS_ENCRYPTION_KEY = OLD

    token = credentials_encrypt(CREDENTIALS)

    assert all(value not in token for value in CREDENTIALS.values())
    assert credentials_decrypt(token) == CREDENTIALS
    assert credentials_decrypt("") == {}


def test_a_rotation_reads_old_tokens_and_writes_with_the_first_key(settings):
    settings.CREDENTIALS_ENCRYPTION_KEY = OLD
    old_token = credentials_encrypt(CREDENTIALS)

    settings.CREDENTIALS_ENCRYPTION_KEY = f"{NEW}, {OLD}"
    assert credentials_decrypt(old_token) == CREDENTIALS
    new_token = credentials_reencrypt(old_token)
    fresh_token = credentials_encrypt(CREDENTIALS)

    settings.CREDENTIALS_ENCRYPTION_KEY = NEW  # the old key retired
    assert credentials_decrypt(new_token) == CREDENTIALS
    assert credentials_decrypt(fresh_token) == CREDENTIALS
    with pytest.raises(CredentialsUnreadable):
        credentials_decrypt(old_token)
    with pytest.raises(CredentialsUnreadable):
        credentials_reencrypt(old_token)


def test_a_token_from_another_key_or_none_at_all_is_unreadable(settings):
    settings.CREDENTIALS_ENCRYPTION_KEY = OLD
    token = credentials_encrypt(CREDENTIALS)
    settings.CREDENTIALS_ENCRYPTION_KEY = NEW

    for bad in (token, "not a token", token[:-4]):
        with pytest.raises(CredentialsUnreadable) as raised:
            credentials_decrypt(bad)
        assert all(value not in str(raised.value) for value in CREDENTIALS.values())


def test_masks_show_at_most_the_last_four_of_a_long_value():
    assert credentials_mask({"b": "short-value", "a": "a-long-secret-value"}) == {
        "a": "****alue",
        "b": "****",
    }
    assert credentials_mask({}) == {}


def test_scrubbing_masks_every_value_a_provider_quotes():
    text = "GET /Accounts/AC1234567890abcd/x failed for secret-abcdefghij and short"

    scrubbed = secrets_scrubbed(
        text, {"sid": "AC1234567890abcd", "token": "secret-abcdefghij", "pin": "short"}
    )

    assert scrubbed == "GET /Accounts/****abcd/x failed for ****ghij and ****"
