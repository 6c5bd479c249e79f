"""Phone numbers: lenient local spellings for people, strict E.164 for the integration API."""

import pytest
from rest_framework import serializers

from mifumo.phone import InvalidPhoneNumber, PhoneNumberField, normalize_phone, parse_e164_strict


@pytest.mark.parametrize(
    ("raw", "region", "e164"),
    [
        ("0712345678", None, "+255712345678"),
        ("0712 345 678", None, "+255712345678"),
        ("+255 712 345 678", None, "+255712345678"),
        ("+255712345678", None, "+255712345678"),
        ("255712345678", None, "+255712345678"),
        ("  0712-345-678  ", None, "+255712345678"),
        ("0712345678", "KE", "+254712345678"),
        ("0712345678", "ke", "+254712345678"),
        ("+255712345678", "KE", "+255712345678"),
    ],
)
def test_normalize_phone(raw, region, e164):
    assert normalize_phone(raw, region) == e164


def test_the_default_region_comes_from_settings(settings):
    settings.DEFAULT_PHONE_REGION = "UG"

    assert normalize_phone("0712345678") == "+256712345678"


@pytest.mark.parametrize("raw", ["hello", "", "   ", None, "123", "+2557123456789012345"])
def test_normalize_phone_rejects_what_is_not_a_phone_number(raw):
    with pytest.raises(InvalidPhoneNumber):
        normalize_phone(raw)


def test_invalid_phone_number_is_a_value_error():
    assert issubclass(InvalidPhoneNumber, ValueError)


@pytest.mark.parametrize(
    ("raw", "e164"),
    [
        ("+255123456789", "+255123456789"),
        ("+255712345678", "+255712345678"),
        (" +255 712 345 678 ", "+255712345678"),
        ("+254712345678", "+254712345678"),
    ],
)
def test_parse_e164_strict_accepts_international_numbers(raw, e164):
    assert parse_e164_strict(raw) == e164


@pytest.mark.parametrize("raw", ["0751234567", "255123456789", "", None, "+", "+255 hello"])
def test_parse_e164_strict_rejects_anything_else(raw):
    with pytest.raises(InvalidPhoneNumber):
        parse_e164_strict(raw)


class _ContactSerializer(serializers.Serializer):
    phone = PhoneNumberField()
    kenyan = PhoneNumberField(region="KE", required=False)


def test_the_serializer_field_yields_e164():
    data = _ContactSerializer(data={"phone": "0712 345 678", "kenyan": "0712345678"})

    assert data.is_valid(), data.errors
    assert data.validated_data == {"phone": "+255712345678", "kenyan": "+254712345678"}


def test_the_serializer_field_reports_a_bad_number_as_a_field_error():
    data = _ContactSerializer(data={"phone": "not a number"})

    assert not data.is_valid()
    (error,) = data.errors["phone"]
    assert error.code == "invalid_phone"
    assert "not a number" in str(error)


def test_the_serializer_field_rejects_an_overlong_value():
    data = _ContactSerializer(data={"phone": "+255" + "7" * 40})

    assert not data.is_valid()
    assert list(data.errors) == ["phone"]
