"""Contact files whose size is known only by reading them: an XLSX without a `<dimension>` or
with one that lies, a workbook too large to open within the request, and files (CSV or XLSX)
over CONTACT_IMPORT_MAX_ROWS."""

import io
import re
import zipfile

import pytest

from messaging.services.imports.upload import XLSX_REQUEST_MAX_UNPACKED_BYTES
from tests.envelope import assert_error, ok_data
from tests.messaging.helpers import csv_text, import_url, xlsx_bytes
from tests.messaging.test_contact_import import contacts_of, counts, upload

SHEET = "xl/worksheets/sheet1.xml"


@pytest.fixture(autouse=True)
def media(settings, tmp_path):
    """Background imports keep their file under MEDIA_ROOT: a temporary folder here."""
    settings.MEDIA_ROOT = str(tmp_path)


def table(rows: int, **extra: str) -> list[list]:
    """A header and `rows` contacts, each with the `extra` columns' values."""
    header = ["name", "phone", *extra]
    return [header] + [[f"P{n}", f"0715{n:06d}", *extra.values()] for n in range(rows)]


def rewrite_sheet(raw: bytes, change) -> bytes:
    """`raw` with its first worksheet's XML replaced by `change(xml)`."""
    source = zipfile.ZipFile(io.BytesIO(raw))
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as target:
        for item in source.infolist():
            data = source.read(item.filename)
            target.writestr(item, change(data) if item.filename == SHEET else data)
    return out.getvalue()


def with_dimension(rows: list[list], ref: str | None) -> bytes:
    """An XLSX of `rows` whose `<dimension>` is dropped (None) or claims `ref`."""
    tag = b"" if ref is None else f'<dimension ref="{ref}"/>'.encode()

    def change(xml: bytes) -> bytes:
        xml, found = re.subn(rb"<dimension [^>]*/>", tag, xml)
        assert found == 1
        return xml

    return rewrite_sheet(xlsx_bytes(rows), change)


def file_of(file_format: str, rows: list[list]) -> tuple[bytes, str]:
    if file_format == "csv":
        return csv_text(rows).encode(), "contacts.csv"
    return with_dimension(rows, "A1:B2"), "contacts.xlsx"


def test_an_xlsx_without_dimension_is_counted_and_imported_by_the_worker(api, a, b, on_commit):
    client = api(a.owner)

    with on_commit():
        job = ok_data(upload(client, with_dimension(table(3000), None), "contacts.xlsx"), 202)

    # Answered before the rows were counted: the request read no further than it needed to.
    assert (job["status"], job["counts"]["total_rows"]) == ("queued", 0)
    done = ok_data(client.get(import_url(job["id"])))
    assert (done["status"], done["progress_percentage"]) == ("completed", 100)
    assert done["counts"] == {
        "total_rows": 3000,
        "imported_count": 3000,
        "updated_count": 0,
        "skipped_count": 0,
        "total_processed": 3000,
    }
    assert len(contacts_of(a.tenant)) == 3000
    assert contacts_of(b.tenant) == {}


def test_a_dimension_that_lies_drops_no_row_and_no_column(api, a):
    raw = with_dimension(table(50, city="Arusha"), "A1:B2")

    report = ok_data(upload(api(a.owner), raw, "contacts.xlsx"))

    assert counts(report) == (50, 0, 0, 50)
    contacts = contacts_of(a.tenant)
    assert len(contacts) == 50
    assert {c.attributes["city"] for c in contacts.values()} == {"Arusha"}


def test_a_workbook_too_large_to_open_in_the_request_is_read_by_the_worker(api, a, on_commit):
    # Without a <dimension> openpyxl would parse the whole sheet to open it, and the damaged
    # end of this one would be a 400 at once.
    raw = with_dimension(table(3000, notes="x" * 2000), None)
    raw = rewrite_sheet(raw, lambda xml: xml[: len(xml) * 9 // 10])
    unpacked = sum(part.file_size for part in zipfile.ZipFile(io.BytesIO(raw)).infolist())
    assert unpacked > XLSX_REQUEST_MAX_UNPACKED_BYTES
    client = api(a.owner)

    with on_commit():
        job = ok_data(upload(client, raw, "contacts.xlsx"), 202)

    done = ok_data(client.get(import_url(job["id"])))
    assert done["status"] == "failed"
    assert done["failure"] == "The XLSX file could not be read."
    assert done["counts"]["total_processed"] == 0
    assert contacts_of(a.tenant) == {}


@pytest.mark.parametrize("file_format", ["csv", "xlsx"])
def test_a_file_over_the_row_limit_is_refused_at_once(api, a, settings, file_format):
    settings.CONTACT_IMPORT_MAX_ROWS = 100
    raw, name = file_of(file_format, table(101))

    body = assert_error(upload(api(a.owner), raw, name), 400, "INVALID_IMPORT_FILE")

    assert body["message"] == "The file has more than 100 rows."
    assert contacts_of(a.tenant) == {}


@pytest.mark.parametrize("file_format", ["csv", "xlsx"])
@pytest.mark.parametrize(
    ("rows", "status", "imported"), [(100, "completed", 100), (101, "failed", 0)]
)
def test_the_worker_counts_the_rows_against_the_limit_before_importing_any(
    api, a, settings, on_commit, file_format, rows, status, imported
):
    settings.CONTACT_IMPORT_SYNC_ROWS = 20
    settings.CONTACT_IMPORT_MAX_ROWS = 100
    raw, name = file_of(file_format, table(rows))
    client = api(a.owner)

    with on_commit():
        job = ok_data(upload(client, raw, name), 202)

    done = ok_data(client.get(import_url(job["id"])))
    assert done["status"] == status
    assert done["failure"] == ("" if imported else "The file has more than 100 rows.")
    assert done["counts"]["imported_count"] == imported
    assert done["counts"]["total_processed"] == imported
    assert done["counts"]["total_rows"] == imported
    assert len(contacts_of(a.tenant)) == imported
