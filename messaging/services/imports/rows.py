"""Mapping a file's rows to contacts: the phone normalised in the tenant's region, the email
and tags checked, every other column an attribute; bad rows and in-file duplicates reported.

This runs for every row of a million-row file: a tags cell is read once per distinct spelling
(files repeat a few tag sets), into a tuple its rows share.
"""

import re
from collections.abc import Callable, Iterable, Iterator
from typing import NamedTuple

from messaging.services.contacts import normalize_tags
from messaging.services.imports.files import PHONE_COLUMNS
from messaging.services.imports.report import ImportReport
from mifumo.phone import InvalidPhoneNumber, normalize_phone

KNOWN_COLUMNS = {"name", "email", "tags", *PHONE_COLUMNS}
EMAIL_RE = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
TAG_SPLIT_RE = re.compile(r"[,;]")
MAX_EMAIL_LENGTH = 254
MAX_TAG_LENGTH = 64
# Distinct tags cells remembered per file: a file of unique ones costs the cache nothing more.
TAG_CELLS_REMEMBERED = 4096


class ValidRow(NamedTuple):
    """One validated row; a tuple because a million of them are made per import."""

    row_no: int
    name: str
    phone: str
    email: str
    tags: tuple[str, ...]
    attributes: dict[str, str]


def _tags_reader() -> Callable[[str], tuple[str, ...] | None]:
    """A tags cell's tags (normalised, in their first order), or None when one is too long."""
    seen: dict[str, tuple[str, ...] | None] = {}

    def read(cell: str) -> tuple[str, ...] | None:
        try:
            return seen[cell]
        except KeyError:
            pass
        tags = tuple(normalize_tags(TAG_SPLIT_RE.split(cell)))
        read_tags = None if any(len(tag) > MAX_TAG_LENGTH for tag in tags) else tags
        if len(seen) < TAG_CELLS_REMEMBERED:
            seen[cell] = read_tags
        return read_tags

    return read


def valid_rows(
    header: list[str], rows: Iterable[list[str]], *, region: str, report: ImportReport, first_row=2
) -> Iterator[ValidRow]:
    """The good rows, with in-file duplicates and bad rows reported (and counted skipped)."""
    phone_at = next(header.index(c) for c in PHONE_COLUMNS if c in header)
    name_at = header.index("name") if "name" in header else None
    email_at = header.index("email") if "email" in header else None
    tags_at = header.index("tags") if "tags" in header else None
    extra = [(i, h) for i, h in enumerate(header) if h and h not in KNOWN_COLUMNS]
    width = len(header)
    seen_phones: dict[str, int] = {}
    seen_emails: dict[str, int] = {}
    tags_of = _tags_reader()
    no_tags: tuple[str, ...] = ()
    for row_no, cells in enumerate(rows, start=first_row):
        if not any(cells):
            continue
        if len(cells) < width:
            cells = [*cells, *[""] * (width - len(cells))]
        try:
            phone = normalize_phone(cells[phone_at], region)
        except InvalidPhoneNumber as exc:
            report.add_error(row_no, "phone", str(exc))
            continue
        email = cells[email_at].strip().lower() if email_at is not None else ""
        if email and (len(email) > MAX_EMAIL_LENGTH or not EMAIL_RE.match(email)):
            report.add_error(row_no, "email", f"'{email[:80]}' is not an email address.")
            continue
        if phone in seen_phones:
            report.add_error(row_no, "phone", f"Duplicate of row {seen_phones[phone]}.")
            continue
        if email and email in seen_emails:
            report.add_error(
                row_no, "email", f"{email} is already used by row {seen_emails[email]}."
            )
            continue
        seen_phones[phone] = row_no
        if email:
            seen_emails[email] = row_no
        tags = tags_of(cells[tags_at]) if tags_at is not None else no_tags
        if tags is None:
            report.add_error(row_no, "tags", f"Tags are at most {MAX_TAG_LENGTH} characters.")
            continue
        attributes = {h: value for i, h in extra if (value := cells[i].strip())}
        name = cells[name_at].strip()[:200] if name_at is not None else ""
        yield ValidRow(row_no, name, phone, email, tags, attributes)
