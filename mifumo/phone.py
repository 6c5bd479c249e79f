"""Phone numbers, parsed with `phonenumbers` and stored as E.164 (DESIGN section 4)."""

import phonenumbers
from django.conf import settings
from rest_framework import serializers


class InvalidPhoneNumber(ValueError):
    pass


def _parse(raw: str, region: str | None) -> phonenumbers.PhoneNumber:
    try:
        number = phonenumbers.parse(raw, region)
    except phonenumbers.NumberParseException as exc:
        raise InvalidPhoneNumber(f"'{raw}' is not a phone number.") from exc
    if not phonenumbers.is_possible_number(number):
        raise InvalidPhoneNumber(f"'{raw}' is not a possible phone number.")
    return number


def normalize_phone(raw: str, region: str | None = None) -> str:
    """Lenient: local spellings ('0712 345 678') are read in `region` (default TZ)."""
    raw = (raw or "").strip()
    number = _parse(raw, (region or settings.DEFAULT_PHONE_REGION).upper())
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


def parse_e164_strict(raw: str) -> str:
    """Strict, for the integration API: the number must already be international ('+...')."""
    raw = (raw or "").strip()
    if not raw.startswith("+"):
        raise InvalidPhoneNumber(f"'{raw}' must be in E.164 format, e.g. +255712345678.")
    number = _parse(raw, None)
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


class PhoneNumberField(serializers.CharField):
    """Serializer field that accepts local or international spellings and yields E.164."""

    def __init__(self, *, region: str | None = None, **kwargs):
        self.region = region
        kwargs.setdefault("max_length", 32)
        super().__init__(**kwargs)

    def to_internal_value(self, data):
        value = super().to_internal_value(data)
        try:
            return normalize_phone(value, self.region)
        except InvalidPhoneNumber as exc:
            raise serializers.ValidationError(str(exc), code="invalid_phone") from exc
