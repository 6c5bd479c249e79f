"""SMS encoding and segment counting, checked against the GSM 03.38 tables written out here."""

from itertools import pairwise

import pytest
from hypothesis import given
from hypothesis import strategies as st

from sms.segments import SegmentInfo, is_gsm7, segment_info, split_segments

# GSM 03.38 default alphabet by code, 0x00 to 0x7F; 0x1B is the escape to the extension table.
GSM_TABLE = (
    "@£$¥èéùìòÇ\nØø\rÅå"
    "Δ_ΦΓΛΩΠΨΣΘΞ\x1bÆæßÉ"
    " !\"#¤%&'()*+,-./"
    "0123456789:;<=>?"
    "¡ABCDEFGHIJKLMNO"
    "PQRSTUVWXYZÄÖÑÜ§"
    "¿abcdefghijklmno"
    "pqrstuvwxyzäöñüà"
)
GSM_BASIC = frozenset(GSM_TABLE) - {"\x1b"}
# The extension table by code: each is sent as escape + this character, 2 septets.
GSM_EXTENSION_TABLE = {
    0x0A: "\f",
    0x14: "^",
    0x28: "{",
    0x29: "}",
    0x2F: "\\",
    0x3C: "[",
    0x3D: "~",
    0x3E: "]",
    0x40: "|",
    0x65: "€",
}
GSM_EXTENSION = frozenset(GSM_EXTENSION_TABLE.values())
GSM_ALL = GSM_BASIC | GSM_EXTENSION
OUTSIDE_GSM = "êçáÁ`\tā中😀🇹🇿"


def test_the_reference_table_is_complete():
    assert len(GSM_TABLE) == 128
    assert len(GSM_BASIC) == 127
    assert len(GSM_EXTENSION) == 10


def reference_units(text: str) -> int:
    if all(char in GSM_ALL for char in text):
        return sum(2 if char in GSM_EXTENSION else 1 for char in text)
    return len(text.encode("utf-16-le")) // 2


def reference_cost(char: str, encoding: str) -> int:
    if encoding == "GSM-7":
        return 2 if char in GSM_EXTENSION else 1
    return len(char.encode("utf-16-le")) // 2


def part_units(part: str, encoding: str) -> int:
    return sum(reference_cost(char, encoding) for char in part)


@pytest.mark.parametrize(
    ("text", "encoding", "segments"),
    [
        ("a" * 160, "GSM-7", 1),
        ("a" * 161, "GSM-7", 2),
        ("a" * 306, "GSM-7", 2),
        ("a" * 307, "GSM-7", 3),
        ("ê" * 70, "UCS-2", 1),
        ("ê" * 71, "UCS-2", 2),
        ("ê" * 134, "UCS-2", 2),
        ("ê" * 135, "UCS-2", 3),
        ("a" * 159 + "€", "GSM-7", 2),
        ("a" * 158 + "€", "GSM-7", 1),
        ("😀" * 35, "UCS-2", 1),
        ("😀" * 36, "UCS-2", 2),
    ],
)
def test_worked_examples(text, encoding, segments):
    info = segment_info(text)

    assert (info.encoding, info.segments) == (encoding, segments)
    assert len(split_segments(text)) == segments


@pytest.mark.parametrize(
    "char", "éèùìòÇØøÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉÄÖÑÜ§¿äöñüà¡£¥¤$@\n\r!\"#%&'()*+,-./:;<=>?"
)
def test_gsm7_letters_and_symbols(char):
    assert is_gsm7(char)
    assert segment_info(char) == SegmentInfo("GSM-7", 1, 1, 160, 159)


@pytest.mark.parametrize("char", "\f^{}\\[~]|€")
def test_extension_characters_take_two_septets(char):
    assert is_gsm7(char)
    assert segment_info(char).units == 2


@pytest.mark.parametrize("char", "êçáÁ`\t\x00\x7fāł中😀")
def test_characters_outside_gsm7_switch_to_ucs2(char):
    text = "Habari " + char

    assert not is_gsm7(text)
    assert segment_info(text).encoding == "UCS-2"
    assert segment_info(text).beem_encoding == 8


def test_every_bmp_character_is_classified_as_the_table_says():
    for code in range(0x10000):
        char = chr(code)
        if 0xD800 <= code <= 0xDFFF:
            continue
        assert is_gsm7(char) is (char in GSM_ALL), hex(code)
        assert segment_info(char).units == reference_units(char), hex(code)


def test_swahili_text_is_gsm7():
    info = segment_info("Habari yako? Karibu sana!")

    assert info == SegmentInfo("GSM-7", 25, 1, 160, 135)
    assert info.beem_encoding == 0


def test_empty_text_is_zero_gsm7_segments():
    assert segment_info("") == SegmentInfo("GSM-7", 0, 0, 160, 160)
    assert split_segments("") == []


def test_remaining_in_segment_counts_down_the_last_part():
    assert segment_info("a" * 161).remaining_in_segment == 153 - 8
    assert segment_info("a" * 306).remaining_in_segment == 0
    assert segment_info("ê" * 69).remaining_in_segment == 1
    assert segment_info("ê" * 71).remaining_in_segment == 67 - 4


def test_an_emoji_is_two_utf16_units_and_the_euro_one_in_ucs2():
    assert segment_info("😀") == SegmentInfo("UCS-2", 2, 1, 70, 68)
    assert segment_info("€ê").units == 2


def test_an_extension_character_on_the_153rd_septet_moves_to_the_next_part():
    text = "a" * 152 + "{" + "b" * 10

    parts = split_segments(text)

    assert parts == ["a" * 152, "{" + "b" * 10]


def test_a_moved_extension_character_can_add_a_part():
    # 306 septets would fit two full parts, but the escape pair cannot straddle them.
    text = "a" * 152 + "{" + "a" * 152

    info = segment_info(text)

    assert info.units == 306
    assert info.segments == 3
    assert split_segments(text) == ["a" * 152, "{" + "a" * 151, "a"]
    assert info.remaining_in_segment == 152


def test_a_surrogate_pair_on_the_67th_unit_moves_to_the_next_part():
    text = "ê" * 66 + "😀" + "ê" * 10

    parts = split_segments(text)

    assert parts == ["ê" * 66, "😀" + "ê" * 10]
    assert segment_info(text) == SegmentInfo("UCS-2", 78, 2, 67, 67 - 12)


gsm_texts = st.integers(0, 480).flatmap(
    lambda size: st.text(st.sampled_from(sorted(GSM_ALL)), min_size=size, max_size=size)
)
mixed_texts = st.integers(0, 300).flatmap(
    lambda size: st.text(
        st.one_of(st.sampled_from(sorted(GSM_ALL)), st.sampled_from(OUTSIDE_GSM)),
        min_size=size,
        max_size=size,
    )
)
texts = st.one_of(gsm_texts, mixed_texts, st.text(max_size=200))


@given(texts)
def test_parts_join_back_to_the_text(text):
    assert "".join(split_segments(text)) == text


@given(texts)
def test_parts_are_filled_greedily_within_their_limit(text):
    info = segment_info(text)
    parts = split_segments(text)

    assert len(parts) == info.segments
    for part in parts:
        assert 0 < part_units(part, info.encoding) <= info.per_segment
    for part, following in pairwise(parts):
        # Greedy: the next part's first character would not have fitted in this one.
        units = part_units(part, info.encoding) + reference_cost(following[0], info.encoding)
        assert units > info.per_segment
    if parts:
        last_units = part_units(parts[-1], info.encoding)
        assert info.remaining_in_segment == info.per_segment - last_units


@given(texts)
def test_units_and_limits_follow_the_encoding(text):
    info = segment_info(text)

    assert info.units == reference_units(text)
    single, multi = (160, 153) if info.encoding == "GSM-7" else (70, 67)
    assert info.per_segment == (single if info.segments <= 1 else multi)
    assert info.beem_encoding == (0 if info.encoding == "GSM-7" else 8)


@given(texts, st.one_of(st.sampled_from(sorted(GSM_ALL)), st.sampled_from(OUTSIDE_GSM)))
def test_appending_a_character_never_lowers_the_segment_count(text, char):
    assert segment_info(text + char).segments >= segment_info(text).segments


@given(texts)
def test_encoding_is_gsm7_exactly_when_every_character_is_in_the_alphabet(text):
    in_alphabet = all(char in GSM_ALL for char in text)

    assert is_gsm7(text) is in_alphabet
    assert segment_info(text).encoding == ("GSM-7" if in_alphabet else "UCS-2")
