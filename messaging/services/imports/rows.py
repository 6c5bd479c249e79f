"""Mapping a file's rows to contacts: the phone normalised in the tenant's region, the email
and tags checked, every other column an attribute; bad rows and in-file duplicates reported."""

import re
from collections.abc import Iterable, Iterator
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


class ValidRow(NamedTuple):
    """One validated row; a tuple because a million of them are made per import."""

    row_no: int
    name: str
    phone: str
    email: str
    tags: list[str]
    attributes: dict


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
        tags = normalize_tags(TAG_SPLIT_RE.split(cells[tags_at])) if tags_at is not None else []
        if any(len(tag) > MAX_TAG_LENGTH for tag in tags):
            report.add_error(row_no, "tags", f"Tags are at most {MAX_TAG_LENGTH} characters.")
            continue
        attributes = {h: cells[i].strip() for i, h in extra if cells[i].strip()}
        name = cells[name_at].strip()[:200] if name_at is not None else ""
        yield ValidRow(row_no, name, phone, email, tags, attributes)
