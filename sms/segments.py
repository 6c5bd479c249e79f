"""SMS encoding and segment rules: the one place that knows GSM-7, UCS-2 and part sizes.

Text made only of GSM 03.38 default-alphabet characters is sent as GSM-7, where extension
characters cost 2 septets (escape + char). Anything else is UCS-2, counted in UTF-16 code units.
A single part holds 160 septets or 70 units; a split message holds 153 or 67 per part, because
the concatenation header takes the rest. An escape pair or surrogate pair never straddles parts.
"""

import re
from dataclasses import dataclass
from itertools import pairwise

GSM7 = "GSM-7"
UCS2 = "UCS-2"

_GSM7_BASIC = frozenset(
    "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ"
    " !\"#¤%&'()*+,-./0123456789:;<=>?"
    "¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§"
    "¿abcdefghijklmnopqrstuvwxyzäöñüà"
)
_GSM7_EXTENSION = frozenset("\f^{}\\[~]|€")
_GSM7_ALL = _GSM7_BASIC | _GSM7_EXTENSION


def _ascii_class(excluded: frozenset[str]) -> re.Pattern[str]:
    """A regex matching any ASCII character not in `excluded`."""
    chars = sorted(chr(code) for code in range(128) if chr(code) not in excluded)
    return re.compile("[" + "".join(re.escape(char) for char in chars) + "]")


# ASCII fast paths: the few ASCII characters (backtick, controls) that are not GSM-7 at all,
# and those that also leave the 1-septet basic set.
_ASCII_NOT_GSM7 = _ascii_class(_GSM7_ALL)
_ASCII_NOT_BASIC = _ascii_class(_GSM7_BASIC)

_LIMITS = {GSM7: (160, 153), UCS2: (70, 67)}  # (single part, each part of a split message)
_BEEM_ENCODING = {GSM7: 0, UCS2: 8}


@dataclass(frozen=True, slots=True)
class SegmentInfo:
    """How a text is encoded and how many SMS parts it takes.

    `units` are septets for GSM-7 and UTF-16 code units for UCS-2. `per_segment` is the limit
    that applied (160/153 or 70/67) and `remaining_in_segment` how many more units fit in the
    last part before another part is needed. Empty text is 0 segments of GSM-7.
    """

    encoding: str
    units: int
    segments: int
    per_segment: int
    remaining_in_segment: int

    @property
    def beem_encoding(self) -> int:
        """Beem's `encoding` value: 0 for GSM-7, 8 for UCS-2."""
        return _BEEM_ENCODING[self.encoding]


def is_gsm7(text: str) -> bool:
    """True when every character is in the GSM-7 basic set or its extension table."""
    if text.isascii():
        return _ASCII_NOT_GSM7.search(text) is None
    return _GSM7_ALL.issuperset(text)


def _encoding_and_units(text: str) -> tuple[str, int]:
    if text.isascii() and _ASCII_NOT_BASIC.search(text) is None:
        return GSM7, len(text)
    if is_gsm7(text):
        return GSM7, len(text) + sum(map(text.count, _GSM7_EXTENSION))
    return UCS2, len(text.encode("utf-16-le", "surrogatepass")) // 2


def _part_starts(text: str, encoding: str, limit: int) -> tuple[list[int], int]:
    """Where each part starts when filled greedily, and the units used in the last part."""
    gsm7 = encoding == GSM7
    starts, used = [0], 0
    for index, char in enumerate(text):
        # Inline: an escape pair or a character outside the BMP costs 2 units.
        cost = 2 if (char in _GSM7_EXTENSION if gsm7 else char > "\uffff") else 1
        if used + cost > limit:
            starts.append(index)
            used = 0
        used += cost
    return starts, used


def segment_info(text: str) -> SegmentInfo:
    """Encoding, unit count and number of SMS parts for `text`."""
    encoding, units = _encoding_and_units(text)
    single, multi = _LIMITS[encoding]
    if units <= single:
        return SegmentInfo(encoding, units, 1 if units else 0, single, single - units)
    if units == len(text):
        # Every character costs one unit, so all parts but the last are full.
        segments = -(-units // multi)
        last = units - (segments - 1) * multi
    else:
        starts, last = _part_starts(text, encoding, multi)
        segments = len(starts)
    return SegmentInfo(encoding, units, segments, multi, multi - last)


def split_segments(text: str) -> list[str]:
    """The parts `text` is sent as; never splits an escape pair or a surrogate pair."""
    if not text:
        return []
    encoding, units = _encoding_and_units(text)
    single, multi = _LIMITS[encoding]
    if units <= single:
        return [text]
    starts, _ = _part_starts(text, encoding, multi)
    return [text[start:end] for start, end in pairwise([*starts, len(text)])]
