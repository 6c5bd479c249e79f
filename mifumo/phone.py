"""Phone numbers, parsed with `phonenumbers` and stored as E.164 (DESIGN section 4).

Owns reading people's spellings into E.164 (`normalize_phone`), the integration API's strict
check (`parse_e164_strict`) and the serializer fields built on them.
"""

import functools
import re
from dataclasses import dataclass
from typing import cast

import phonenumbers
from django.conf import settings
from phonenumbers import PhoneMetadata, ValidationResult
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


def _normalize_slow(raw: str, region: str | None) -> str:
    """The reference: what `phonenumbers` makes of `raw` (already stripped) read in `region`."""
    number = _parse(raw, region)
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


# Fast path. phonenumbers.parse costs ~11 µs and a contact import normalises a million numbers,
# so plain digit spellings replay parse() + is_possible_number() with per-country tables taken
# from the same metadata. It returns None whenever it is not certain of phonenumbers' answer,
# and every refusal is left to the slow path too, so results (and error messages) are unchanged.

_SEPARATORS = str.maketrans("", "", " -.()")
_MAX_INPUT_LENGTH = 250  # phonenumbers refuses longer strings outright
_COUNTRY_CODES = frozenset(map(str, phonenumbers.COUNTRY_CODE_TO_REGION_CODE))
_POSSIBLE = (ValidationResult.IS_POSSIBLE, ValidationResult.IS_POSSIBLE_LOCAL_ONLY)
# parse() keeps a national number with its prefix stripped unless the rest has one of the
# other lengths (too short, local-only or invalid).
_KEEPS_STRIPPED = (ValidationResult.IS_POSSIBLE, ValidationResult.TOO_LONG)


@dataclass(frozen=True, slots=True)
class _Plan:
    """What parse() uses of one calling code's main-region metadata."""

    country_code: str
    length_results: tuple  # ValidationResult per national number length 2-17, None elsewhere
    national_pattern: re.Pattern | None
    national_prefix: re.Pattern | None
    prefix_transforms: bool  # e.g. BR, AR: the prefix rule rewrites the number; not replayed
    international_prefix: re.Pattern | None


def _compile(pattern: str | None) -> re.Pattern | None:
    return re.compile(pattern) if pattern else None


@functools.cache
def _plan_for_code(code: str) -> _Plan | None:
    country_code = int(code)
    main_region = phonenumbers.region_code_for_country_code(country_code)
    metadata = PhoneMetadata.metadata_for_region_or_calling_code(country_code, main_region)
    if metadata is None:
        return None
    prefix = metadata.national_prefix_for_parsing
    # is_possible_number only looks at the length, so ask it once per length.
    results = tuple(
        phonenumbers.is_possible_number_with_reason(
            phonenumbers.PhoneNumber(country_code=country_code, national_number=int("1" * size))
        )
        if size >= 2
        else None
        for size in range(18)
    )
    desc = metadata.general_desc
    return _Plan(
        country_code=code,
        length_results=results,
        national_pattern=_compile(desc.national_number_pattern if desc else None),
        national_prefix=_compile(prefix),
        prefix_transforms=bool(metadata.national_prefix_transform_rule),
        international_prefix=_compile(metadata.international_prefix),
    )


@functools.cache
def _plan_for_region(region: str) -> _Plan | None:
    """Only a calling code's main region whose national prefix rule only strips (TZ, US, GB...)."""
    metadata = PhoneMetadata.metadata_for_region(region, None)
    if metadata is None:
        return None
    if phonenumbers.region_code_for_country_code(cast(int, metadata.country_code)) != region:
        return None  # e.g. CA: parse() and is_possible_number() would use different metadata
    plan = _plan_for_code(str(metadata.country_code))
    return None if plan is None or plan.prefix_transforms else plan


def _length_result(plan: _Plan, digits: str) -> ValidationResult | None:
    size = len(digits)
    return plan.length_results[size] if size < 18 else None


def _is_national(plan: _Plan, digits: str) -> bool:
    return plan.national_pattern is not None and plan.national_pattern.fullmatch(digits) is not None


def _strip_national_prefix(plan: _Plan, digits: str) -> str | None:
    """parse()'s national prefix stripping; None where the rule would rewrite the number."""
    match = plan.national_prefix.match(digits) if plan.national_prefix else None
    if match is None:
        return digits
    if plan.prefix_transforms:
        return None
    rest = digits[match.end() :]
    if _is_national(plan, digits) and not _is_national(plan, rest):
        return digits
    return rest


def _normalize_fast(raw: str, region: str | None) -> str | None:
    if len(raw) > _MAX_INPUT_LENGTH:
        return None
    number = raw.translate(_SEPARATORS)
    if number[:1] == "+":
        digits = number[1:]
        if len(digits) < 3 or not (digits.isdigit() and digits.isascii()):
            return None
        for size in (1, 2, 3):
            if digits[:size] in _COUNTRY_CODES:
                plan = _plan_for_code(digits[:size])
                national = digits[size:]
                break
        else:
            return None  # '+0...' or an unknown code: parse() retries without the '+'
    else:
        if region is None or len(number) < 3 or not (number.isdigit() and number.isascii()):
            return None
        plan = _plan_for_region(region) if region in phonenumbers.SUPPORTED_REGIONS else None
        if plan is None:
            return None
        if plan.international_prefix and plan.international_prefix.match(number):
            return None  # '00...' style international dialling
        national = number
        if number.startswith(plan.country_code):
            # parse() reads '255712345678' as international when that fits TZ better.
            rest = _strip_national_prefix(plan, number[len(plan.country_code) :])
            full_result = _length_result(plan, number)
            if rest is None or full_result is None:
                return None
            if full_result == ValidationResult.TOO_LONG or (
                not _is_national(plan, number) and _is_national(plan, rest)
            ):
                national = rest
    if plan is None or len(national) < 2:
        return None
    stripped = _strip_national_prefix(plan, national)
    if stripped is None:
        return None
    if len(stripped) != len(national):
        result = _length_result(plan, stripped)
        if result is None:
            return None
        if result in _KEEPS_STRIPPED:
            national = stripped
    # A leading zero would be kept as an Italian-style leading zero; leave that to phonenumbers.
    if national[0] == "0" or _length_result(plan, national) not in _POSSIBLE:
        return None
    return f"+{plan.country_code}{national}"


def normalize_phone(raw: str, region: str | None = None) -> str:
    """Lenient: local spellings ('0712 345 678') are read in `region` (default TZ)."""
    raw = (raw or "").strip()
    region = (region or settings.DEFAULT_PHONE_REGION).upper()
    return _normalize_fast(raw, region) or _normalize_slow(raw, region)


def parse_e164_strict(raw: str) -> str:
    """Strict, for the integration API: the number must already be international ('+...')."""
    raw = (raw or "").strip()
    if not raw.startswith("+"):
        raise InvalidPhoneNumber(f"'{raw}' must be in E.164 format, e.g. +255712345678.")
    return _normalize_fast(raw, None) or _normalize_slow(raw, None)


_NUMBER_TYPES = {
    value: name.lower()
    for name, value in vars(phonenumbers.PhoneNumberType).items()
    if name.isupper() and isinstance(value, int)
}


def phone_details(raw: str, region: str | None = None) -> dict:
    """What a person would want to know about a number: is it valid, its E.164 form, country
    and line type. Never raises; an unreadable number is `valid: False` with the reason."""
    region = (region or settings.DEFAULT_PHONE_REGION).upper()
    details = {
        "phone_number": raw,
        "valid": False,
        "e164": None,
        "country": None,
        "country_code": None,
        "number_type": None,
        "reason": None,
    }
    try:
        number = _parse((raw or "").strip(), region)
    except InvalidPhoneNumber as exc:
        return {**details, "reason": str(exc)}
    details.update(
        e164=phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164),
        country=phonenumbers.region_code_for_number(number),
        country_code=number.country_code,
        number_type=_NUMBER_TYPES.get(phonenumbers.number_type(number), "unknown"),
    )
    if not phonenumbers.is_valid_number(number):
        details["reason"] = "The number has a possible length but is not assigned in its country."
        return details
    return {**details, "valid": True}


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


class StrictE164Field(serializers.CharField):
    """Serializer field for the integration API: an E.164 number ('+' and the country code)
    and no other spelling. A refusal is a field error with code `FORMAT_ERROR`, which that
    API reports as INVALID_PHONE_FORMAT."""

    FORMAT_ERROR = "invalid_phone_format"

    def __init__(self, **kwargs):
        kwargs.setdefault("max_length", 32)
        super().__init__(**kwargs)

    def to_internal_value(self, data):
        value = super().to_internal_value(data)
        try:
            return parse_e164_strict(value)
        except InvalidPhoneNumber as exc:
            raise serializers.ValidationError(str(exc), code=self.FORMAT_ERROR) from exc
