"""Reading contact files: CSV (UTF-8) or the first sheet of an XLSX, as a lower-cased header
that names a phone column and data rows of text cells, streamed; the checks that refuse a file
(empty, too large, another format, unreadable, over CONTACT_IMPORT_MAX_ROWS).

Row counts come from rows actually read, never from what a file states about itself: an XLSX
`<dimension>` may be missing (openpyxl would then know no size) or lie (it would stop there).
A CSV without quotes or carriage returns is counted by its line ends, which give the csv
reader's count exactly, at a thirtieth of its cost.
"""

import csv
import io
import zipfile
from collections.abc import Iterator
from itertools import islice
from typing import NamedTuple

from django.conf import settings
from django.template.defaultfilters import filesizeformat
from rest_framework import status

from mifumo.errors import ApplicationError, ErrorCode

PHONE_COLUMNS = ("phone", "phone_number", "phone_e164")
XLSX_MAGIC = b"PK\x03\x04"


def _file_error(message: str) -> ApplicationError:
    return ApplicationError(
        message,
        code=ErrorCode.INVALID_IMPORT_FILE,
        status_code=status.HTTP_400_BAD_REQUEST,
        errors={"file": [message]},
    )


def file_format_of(raw: bytes, name: str = "") -> str:
    if raw.startswith(XLSX_MAGIC) or name.lower().endswith(".xlsx"):
        return "xlsx"
    if name and not name.lower().endswith((".csv", ".txt")):
        raise _file_error("Only CSV and XLSX files can be imported.")
    return "csv"


def check_file(raw: bytes) -> None:
    if not raw or raw.isspace():  # what strip() would empty, without copying the file
        raise _file_error("The file is empty.")
    if len(raw) > settings.CONTACT_IMPORT_MAX_BYTES:
        limit = filesizeformat(settings.CONTACT_IMPORT_MAX_BYTES)
        raise _file_error(f"The file is larger than {limit}.")


def check_row_count(rows: int) -> None:
    if rows > settings.CONTACT_IMPORT_MAX_ROWS:
        raise _file_error(f"The file has more than {settings.CONTACT_IMPORT_MAX_ROWS:,} rows.")


def xlsx_unpacked_bytes(raw: bytes) -> int:
    """An upper bound on what opening the workbook parses: zipfile never inflates a part
    beyond the size the archive states for it."""
    try:
        return sum(part.file_size for part in zipfile.ZipFile(io.BytesIO(raw)).infolist())
    except Exception as exc:  # zipfile raises several types for a damaged archive
        raise _file_error("The XLSX file could not be read.") from exc


def _xlsx_rows(raw: bytes) -> Iterator[tuple]:
    """The first sheet's rows as stored, streamed: its `<dimension>` is dropped, or openpyxl
    would end at the last row it names and cut each row to its last column."""
    from openpyxl import load_workbook

    try:
        sheet = load_workbook(io.BytesIO(raw), read_only=True, data_only=True).worksheets[0]
    except Exception as exc:  # openpyxl raises many types for a damaged workbook
        raise _file_error("The XLSX file could not be read.") from exc
    sheet.reset_dimensions()
    return sheet.iter_rows(values_only=True)


def _cell_text(value) -> str:
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))  # a phone typed as a number: 255712345678.0
    return str(value).replace("\x00", "").strip()


def _read_errors_as_file_errors(rows: Iterator[list[str]]) -> Iterator[list[str]]:
    """A row the reader cannot parse (a damaged XLSX, a CSV cell over the csv module's size
    limit) fails the file with a clear message, not the request with a 500."""
    row_no = 1
    try:
        for row_no, row in enumerate(rows, start=1):  # noqa: B007 -- reported below
            yield row
    except ApplicationError:
        raise
    except Exception as exc:  # csv.Error, zipfile/XML errors from openpyxl
        raise _file_error(f"The file cannot be read after row {row_no}: {exc}") from exc


class Table(NamedTuple):
    header: list[str]  # lower-cased
    rows: Iterator[list[str]]  # read lazily: how many there are is known once they are read


def read_table(raw: bytes, file_format: str) -> Table:
    """Open the file: its header (which must name a phone column) and its data rows."""
    if file_format == "xlsx":
        rows = _read_errors_as_file_errors([_cell_text(v) for v in row] for row in _xlsx_rows(raw))
    else:
        if b"\x00" in raw:
            raise _file_error("The CSV file must be UTF-8 text (it holds NUL bytes: UTF-16?).")
        try:
            raw.decode("utf-8-sig")  # the whole file, so a bad one is refused before any row
        except UnicodeDecodeError as exc:
            raise _file_error("The CSV file must be UTF-8 encoded.") from exc
        # Decoded as it is read: a request reads a thousand rows of it, not 50 MB.
        text = io.TextIOWrapper(io.BytesIO(raw), encoding="utf-8-sig", newline="")
        rows = _read_errors_as_file_errors(csv.reader(text))
    header = [h.strip().lower() for h in next(rows, [])]
    if not any(column in header for column in PHONE_COLUMNS):
        raise _file_error(f"The file needs a phone column: one of {', '.join(PHONE_COLUMNS)}.")
    return Table(header, rows)


def _csv_data_lines(raw: bytes) -> int | None:
    """The data rows the csv reader would read, when the line ends alone tell: without a quote
    no field spans lines, without a carriage return every row ends with a newline, and with no
    line over the reader's field size limit no row fails (a file that would fail is read, so
    it fails before any row is merged, as before). None where the reader must tell."""
    if b'"' in raw or b"\r" in raw:
        return None
    # A line over the limit holds a whole aligned block of `block` bytes without a newline.
    block = (csv.field_size_limit() + 2) // 2
    for start in range(0, len(raw) - block + 1, block):
        if raw.find(b"\n", start, start + block) < 0:
            return None
    lines = raw.count(b"\n") + (not raw.endswith(b"\n"))
    return lines - 1  # the header


def read_counted(raw: bytes, file_format: str, spool) -> tuple[Table, int]:
    """The file's header, rows and row count, known to the end (up to the row limit) before any
    row is imported. A CSV whose line ends tell the count is read once; another is read to its
    end, then again, which costs less than keeping it; an XLSX is parsed only once, into
    `spool` (a text file) as CSV: openpyxl reads a few thousand rows a second."""
    table = read_table(raw, file_format)
    limit = settings.CONTACT_IMPORT_MAX_ROWS
    if file_format == "csv":
        count = _csv_data_lines(raw)
        if count is not None:
            check_row_count(count)
            return table, count
        count = sum(1 for _ in islice(table.rows, limit + 1))
        check_row_count(count)
        return read_table(raw, file_format), count
    header, rows = table
    writer = csv.writer(spool)
    count = 0
    for row in islice(rows, limit + 1):
        writer.writerow(row)
        count += 1
    check_row_count(count)
    spool.seek(0)
    return Table(header, _read_errors_as_file_errors(csv.reader(spool))), count
