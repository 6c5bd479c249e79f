"""The fast phone path agrees with plain phonenumbers on every input, and covers the usual ones."""

from itertools import zip_longest

import phonenumbers
import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from mifumo.phone import InvalidPhoneNumber, _normalize_fast, normalize_phone, parse_e164_strict

# Regions with literal national prefixes, prefix regexes (GB, AU, CN, CO, KR, BY, LT), prefix
# rewrites (AR, BR, JP), shared calling codes (CA, KZ, GG) and none at all (IT, MX); plus unknowns.
REGIONS = [
    *["TZ", "KE", "UG", "RW", "NG", "GH", "ZA", "US", "GB", "IT", "FR", "DE", "IN", "RU"],
    *["AU", "CN", "CO", "KR", "BY", "LT", "AR", "BR", "JP", "CA", "KZ", "GG", "MX", "ZZ", "001"],
]
REFUSED = "refused"
MANY = settings(
    max_examples=3000, deadline=None, suppress_health_check=[HealthCheck.too_slow], database=None
)

digits = st.text(alphabet="0123456789", max_size=17)
regions = st.sampled_from(REGIONS)


def reference(raw, region):
    """What normalize_phone answered before the fast path: phonenumbers alone."""
    try:
        number = phonenumbers.parse((raw or "").strip(), region.upper() if region else region)
    except phonenumbers.NumberParseException:
        return REFUSED
    if not phonenumbers.is_possible_number(number):
        return REFUSED
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


def answer(parse, *args):
    try:
        return parse(*args)
    except InvalidPhoneNumber:
        return REFUSED


def assert_agrees(raw, region):
    """The fast path (when it answers), normalize_phone and parse_e164_strict match phonenumbers."""
    expected = reference(raw, region)
    fast = _normalize_fast(raw.strip(), region.upper())
    assert fast in (None, expected), (raw, region, fast, expected)
    assert answer(normalize_phone, raw, region) == expected
    strict = reference(raw, None) if raw.strip().startswith("+") else REFUSED
    assert answer(parse_e164_strict, raw) == strict


@st.composite
def spelled(draw, number):
    """`number` with separators (and now and then something phonenumbers reads differently)."""
    text = draw(number)
    gap = st.sampled_from([*"____    --..()", "/", "\t", "\u00a0", "x"])  # '_': no separator
    gaps = draw(st.text(alphabet=gap, max_size=len(text) + 1))
    return "".join(gap + char for gap, char in zip_longest(gaps, text, fillvalue="")).replace(
        "_", ""
    )


@st.composite
def national(draw):
    """A national or bare international spelling for a drawn region."""
    region = draw(regions)
    metadata = phonenumbers.PhoneMetadata.metadata_for_region(region.upper(), None)
    code = str(metadata.country_code) if metadata else "255"
    prefix = draw(st.sampled_from(["", "0", "1", "8", "00", "000", "011", code, code + "0"]))
    return prefix + draw(digits), region


@st.composite
def international(draw):
    """'+' and digits, sometimes after a real calling code and a stray national prefix."""
    code = draw(st.sampled_from(["", *map(str, phonenumbers.COUNTRY_CODE_TO_REGION_CODE)]))
    national_prefix = draw(st.sampled_from(["", "", "0", "1", "8", "90"]))
    return (
        "+" + code + national_prefix + draw(st.text(alphabet="0123456789", min_size=1, max_size=17))
    )


@MANY
@given(number=st.text(alphabet="0123456789", min_size=1, max_size=17), region=regions)
def test_plus_and_digits_agree(number, region):
    assert_agrees("+" + number, region)


@settings(MANY, max_examples=2000)
@given(number=international(), region=regions)
def test_international_numbers_agree(number, region):
    assert_agrees(number, region)


@MANY
@given(case=national())
def test_national_spellings_agree(case):
    number, region = case
    assert_agrees(number, region)


@settings(MANY, max_examples=2000)
@given(
    number=spelled(st.one_of(international(), national().map(lambda case: case[0]))), region=regions
)
def test_spellings_with_separators_agree(number, region):
    assert_agrees(number, region)


@settings(MANY, max_examples=2000)
@given(
    raw=st.text(alphabet=st.sampled_from("0123456789+ -.()x#,;/:*~tel\u0663\uff0b")), region=regions
)
@example(raw="+255" + " " * 250 + "712345678", region="TZ")
@example(raw="+0712345678", region="TZ")
@example(raw="(+)255712345678", region="TZ")
@example(raw="0712345678 ext 5", region="TZ")
def test_junk_agrees(raw, region):
    assert_agrees(raw, region)


@settings(MANY, max_examples=300)
@given(raw=st.text())
def test_any_text_agrees(raw):
    assert_agrees(raw, "TZ")


@pytest.mark.parametrize(
    ("raw", "region", "e164"),
    [
        ("+255712345678", "TZ", "+255712345678"),
        ("+255 712-345.678", "KE", "+255712345678"),
        ("(+255) 712 345 678", "TZ", "+255712345678"),
        ("+2550712345678", "TZ", "+255712345678"),
        ("0712345678", "TZ", "+255712345678"),
        ("(0712) 345-678", "TZ", "+255712345678"),
        ("255712345678", "TZ", "+255712345678"),
        ("2550712345678", "TZ", "+255712345678"),
        ("0712345678", "KE", "+254712345678"),
        ("0712345678", "UG", "+256712345678"),
        ("0788123456", "RW", "+250788123456"),
        ("08031234567", "NG", "+2348031234567"),
        ("0241234567", "GH", "+233241234567"),
        ("0821234567", "ZA", "+27821234567"),
        ("(212) 555-1234", "US", "+12125551234"),
        ("1 212 555 1234", "US", "+12125551234"),
        ("07700 900123", "GB", "+447700900123"),
        ("312 345 6789", "IT", "+393123456789"),
        ("+44 (0)20 7946 0958", "TZ", "+442079460958"),
        ("+1 212 555 1234", "TZ", "+12125551234"),
        ("+7 916 123-45-67", "TZ", "+79161234567"),
        ("+256712345", "TZ", "+256712345"),  # a local-only length counts as possible
    ],
)
def test_the_fast_path_answers_the_usual_spellings(raw, region, e164):
    assert _normalize_fast(raw, region) == e164
    assert reference(raw, region) == e164


@pytest.mark.parametrize(
    ("raw", "region"),
    [
        ("0612345678", "IT"),  # Italian leading zero
        ("+390612345678", "TZ"),
        ("6135550123", "CA"),  # shares +1 with the US
        ("01112345678", "AR"),  # the national prefix rule rewrites the number
        ("+5491123456789", "TZ"),
        ("+0712345678", "TZ"),  # parse() retries without the '+'
        ("000712345678", "TZ"),  # international dialling prefix
        ("0712345678 ext. 12", "TZ"),
        ("071234567a", "TZ"),
        ("0712\t345678", "TZ"),
        ("12", "TZ"),
        ("0712345678", "ZZ"),
        ("", "TZ"),
        ("071234567", "TZ"),  # refusals are always the slow path's
        ("+25571234567890", "TZ"),
    ],
)
def test_the_fast_path_leaves_the_rest_to_phonenumbers(raw, region):
    assert _normalize_fast(raw, region) is None
    assert answer(normalize_phone, raw, region) == reference(raw, region)
