"""Contact imports: read a CSV or XLSX file, validate its rows, and merge them in sets.

Rows are checked in Python (phone, email, tags; any other column becomes an attribute), then
each chunk is COPYed into a temporary table and merged with a handful of set-based
statements: match by phone, then by email; update or skip the matches; insert the rest.
Good rows are saved and bad ones reported as {row, field, message}.

Row counts come from rows actually read, never from what a file states about itself: an XLSX
`<dimension>` may be missing (openpyxl would then know no size) or lie (it would stop there).
"""

import csv
import io
import json
import logging
import re
import tempfile
import zipfile
from collections.abc import Iterable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from itertools import islice
from typing import NamedTuple

from django.conf import settings
from django.core.files.base import ContentFile
from django.db import IntegrityError, connection, transaction
from django.template.defaultfilters import filesizeformat
from django.utils import timezone
from rest_framework import status

from messaging.models import ContactImport
from messaging.services.contacts import normalize_tags
from mifumo.errors import ApplicationError, ErrorCode
from mifumo.ids import uuid7_head
from mifumo.phone import InvalidPhoneNumber, normalize_phone

logger = logging.getLogger(__name__)

PHONE_COLUMNS = ("phone", "phone_number", "phone_e164")
KNOWN_COLUMNS = {"name", "email", "tags", *PHONE_COLUMNS}
EMAIL_RE = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
TAG_SPLIT_RE = re.compile(r"[,;]")
MAX_REPORTED_ERRORS = 1000
MAX_EMAIL_LENGTH = 254
MAX_TAG_LENGTH = 64
CHUNK_ROWS = 50_000
XLSX_MAGIC = b"PK\x03\x04"
# Opening a workbook parses all its shared strings, and every sheet without a <dimension> to its
# end, however few rows are then read: the request opens only workbooks this small unpacked.
XLSX_REQUEST_MAX_UNPACKED_BYTES = 4 * 1024 * 1024


def _file_error(message: str) -> ApplicationError:
    return ApplicationError(
        message,
        code=ErrorCode.INVALID_IMPORT_FILE,
        status_code=status.HTTP_400_BAD_REQUEST,
        errors={"file": [message]},
    )


@dataclass
class ImportReport:
    imported_count: int = 0
    updated_count: int = 0
    skipped_count: int = 0
    errors: list[dict] = field(default_factory=list)

    @property
    def total_processed(self) -> int:
        return self.imported_count + self.updated_count + self.skipped_count

    def add_error(self, row: int, field_name: str, message: str) -> None:
        self.skipped_count += 1
        if len(self.errors) < MAX_REPORTED_ERRORS:
            self.errors.append({"row": row, "field": field_name, "message": message})

    @classmethod
    def combined(cls, *reports: "ImportReport") -> "ImportReport":
        errors = sorted((e for r in reports for e in r.errors), key=lambda e: e["row"])
        return cls(
            sum(r.imported_count for r in reports),
            sum(r.updated_count for r in reports),
            sum(r.skipped_count for r in reports),
            errors[:MAX_REPORTED_ERRORS],
        )

    def as_dict(self) -> dict:
        return {
            "imported_count": self.imported_count,
            "updated_count": self.updated_count,
            "skipped_count": self.skipped_count,
            "total_processed": self.total_processed,
            "errors": self.errors,
        }


# --- Reading files


def file_format_of(raw: bytes, name: str = "") -> str:
    if raw.startswith(XLSX_MAGIC) or name.lower().endswith(".xlsx"):
        return "xlsx"
    if name and not name.lower().endswith((".csv", ".txt")):
        raise _file_error("Only CSV and XLSX files can be imported.")
    return "csv"


def check_file(raw: bytes) -> None:
    if not raw.strip():
        raise _file_error("The file is empty.")
    if len(raw) > settings.CONTACT_IMPORT_MAX_BYTES:
        limit = filesizeformat(settings.CONTACT_IMPORT_MAX_BYTES)
        raise _file_error(f"The file is larger than {limit}.")


def check_row_count(rows: int) -> None:
    if rows > settings.CONTACT_IMPORT_MAX_ROWS:
        raise _file_error(f"The file has more than {settings.CONTACT_IMPORT_MAX_ROWS:,} rows.")


def _xlsx_unpacked_bytes(raw: bytes) -> int:
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
            text = raw.decode("utf-8-sig")
        except UnicodeDecodeError as exc:
            raise _file_error("The CSV file must be UTF-8 encoded.") from exc
        rows = _read_errors_as_file_errors(csv.reader(io.StringIO(text, newline="")))
    header = [h.strip().lower() for h in next(rows, [])]
    if not any(column in header for column in PHONE_COLUMNS):
        raise _file_error(f"The file needs a phone column: one of {', '.join(PHONE_COLUMNS)}.")
    return Table(header, rows)


def read_counted(raw: bytes, file_format: str, spool) -> tuple[Table, int]:
    """The file's header, rows and row count, read to its end (up to the row limit) before any
    row is imported. A CSV is then read again, which costs less than keeping it; an XLSX is
    parsed only once, into `spool` (a text file) as CSV: openpyxl reads a few thousand rows a
    second."""
    header, rows = read_table(raw, file_format)
    limit = settings.CONTACT_IMPORT_MAX_ROWS
    if file_format == "csv":
        count = sum(1 for _ in islice(rows, limit + 1))
        check_row_count(count)
        return read_table(raw, file_format), count
    writer = csv.writer(spool)
    count = 0
    for row in islice(rows, limit + 1):
        writer.writerow(row)
        count += 1
    check_row_count(count)
    spool.seek(0)
    return Table(header, _read_errors_as_file_errors(csv.reader(spool))), count


# --- Validating rows


class _Row(NamedTuple):
    """One validated row; a tuple because a million of them are made per import."""

    row_no: int
    name: str
    phone: str
    email: str
    tags: list[str]
    attributes: dict


def valid_rows(
    header: list[str], rows: Iterable[list[str]], *, region: str, report: ImportReport, first_row=2
) -> Iterator[_Row]:
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
        yield _Row(row_no, name, phone, email, tags, attributes)


# --- Merging rows into contacts


def _pg_array(tags: list[str]) -> str:
    quoted = (t.replace("\\", "\\\\").replace('"', '\\"') for t in tags)
    return "{" + ",".join(f'"{t}"' for t in quoted) + "}"


_MATCH_BY_PHONE_SQL = """
    UPDATE import_rows r SET contact_id = c.id, was_deleted = c.deleted_at IS NOT NULL
    FROM messaging_contact c WHERE c.phone_e164 = r.phone"""
# Only for chunks with emails: match the rest by email, then flag the conflicts. `c.email <> ''`
# lets the partial unique index on email serve the lookups (a job merges without hash joins).
_MATCH_BY_EMAIL_SQL = [
    """UPDATE import_rows r SET contact_id = c.id, was_deleted = c.deleted_at IS NOT NULL
       FROM messaging_contact c
       WHERE r.contact_id IS NULL AND r.email <> '' AND c.email <> '' AND c.email = r.email""",
    # An email that belongs to another contact than the one this row matched.
    """UPDATE import_rows r SET conflict = 'email'
       FROM messaging_contact c
       WHERE r.email <> '' AND c.email <> '' AND c.email = r.email AND c.id <> r.contact_id""",
    # Two rows (one by phone, one by email) matching the same contact: the first one wins.
    """UPDATE import_rows r SET conflict = 'contact'
       FROM (SELECT row_no, row_number() OVER (PARTITION BY contact_id ORDER BY row_no) AS n
             FROM import_rows WHERE contact_id IS NOT NULL) d
       WHERE d.row_no = r.row_no AND d.n > 1 AND r.conflict = ''""",
]
_UPDATE_SQL = """
    UPDATE messaging_contact c SET
        name = CASE WHEN r.name <> '' THEN r.name ELSE c.name END,
        phone_e164 = r.phone,
        email = CASE WHEN r.email <> '' THEN r.email ELSE c.email END,
        tags = c.tags || ARRAY(SELECT unnest(r.tags) EXCEPT SELECT unnest(c.tags)),
        attributes = c.attributes || r.attributes,
        deleted_at = NULL,
        updated_at = now()
    FROM import_rows r
    WHERE c.id = r.contact_id AND r.conflict = '' AND (%(update_existing)s OR r.was_deleted)
"""
_INSERT_SQL = """
    INSERT INTO messaging_contact (id, name, phone_e164, email, attributes, tags, is_active,
        is_opted_in, opt_out_reason, created_by_id, created_at, updated_at)
    SELECT
        (%(id_head)s || lpad(to_hex(r.row_no), 8, '0')
            || lpad(to_hex(floor(random() * 268435456)::int), 7, '0'))::uuid,
        r.name, r.phone, r.email, r.attributes, r.tags, true, false, '',
        %(created_by)s, now(), now()
    FROM import_rows r WHERE r.contact_id IS NULL AND r.conflict = ''
"""


@dataclass(frozen=True)
class _Prepared:
    """Validated rows as COPY input, built away from the database's critical path."""

    copy_data: str
    row_count: int
    has_emails: bool


def prepare_rows(rows: list[_Row]) -> _Prepared:
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    for row in rows:
        attributes = json.dumps(row.attributes) if row.attributes else "{}"
        writer.writerow(
            (row.row_no, row.name, row.phone, row.email, _pg_array(row.tags), attributes)
        )
    return _Prepared(buffer.getvalue(), len(rows), any(row.email for row in rows))


def merge_rows(
    prepared: _Prepared,
    *,
    report: ImportReport,
    update_existing: bool,
    skip_duplicates: bool,
    created_by_id: int | None,
) -> None:
    """Merge one chunk of validated rows into the tenant's contacts, inside a transaction."""
    if not prepared.row_count:
        return
    params = {
        "update_existing": update_existing,
        "created_by": created_by_id,
        "id_head": uuid7_head(),
    }
    with connection.cursor() as cursor:
        cursor.execute("DROP TABLE IF EXISTS import_rows")
        cursor.execute(
            """CREATE TEMP TABLE import_rows (
                   row_no int PRIMARY KEY, name text, phone text, email text, tags varchar(64)[],
                   attributes jsonb, contact_id uuid, was_deleted boolean NOT NULL DEFAULT false,
                   conflict text NOT NULL DEFAULT ''
               ) ON COMMIT DROP"""
        )
        cursor.copy_expert(
            # In CSV an unquoted empty field is NULL; empty names and emails are ''.
            "COPY import_rows (row_no, name, phone, email, tags, attributes) "
            "FROM STDIN WITH (FORMAT csv, FORCE_NOT_NULL (name, email))",
            io.StringIO(prepared.copy_data),
            # The read size, all at once: after each read (8 kB by default) this thread waits
            # for the GIL, which the validator thread holds for up to 5 ms at a time.
            len(prepared.copy_data),
        )
        cursor.execute(_MATCH_BY_PHONE_SQL)
        if prepared.has_emails:
            for statement in _MATCH_BY_EMAIL_SQL:
                cursor.execute(statement)
        cursor.execute(_UPDATE_SQL, params)
        try:  # plain first: ON CONFLICT checks every row against the unique indexes (+17%)
            with transaction.atomic():
                cursor.execute(_INSERT_SQL, params)
        except IntegrityError:  # a concurrent write took one of these phones or emails meanwhile
            cursor.execute(_INSERT_SQL + " ON CONFLICT DO NOTHING", params)
        inserted = cursor.rowcount
        cursor.execute(
            """SELECT
                 count(*) FILTER (WHERE contact_id IS NULL AND conflict = ''),
                 count(*) FILTER (WHERE contact_id IS NOT NULL AND conflict = '' AND was_deleted),
                 count(*) FILTER (WHERE contact_id IS NOT NULL AND conflict = ''
                                  AND NOT was_deleted)
               FROM import_rows"""
        )
        new_rows, revived, existing = cursor.fetchone()
        cursor.execute(
            "SELECT row_no, conflict, email FROM import_rows WHERE conflict <> '' ORDER BY row_no"
        )
        conflicts = cursor.fetchall()
        if not update_existing and not skip_duplicates:
            cursor.execute(
                """SELECT row_no, phone FROM import_rows
                   WHERE contact_id IS NOT NULL AND conflict = '' AND NOT was_deleted
                   ORDER BY row_no LIMIT %s""",
                [MAX_REPORTED_ERRORS],
            )
            existing_rows = cursor.fetchall()
        else:
            existing_rows = []
    report.imported_count += inserted + revived
    report.skipped_count += new_rows - inserted  # taken by a concurrent write meanwhile
    if update_existing:
        report.updated_count += existing
    elif existing_rows:
        for row_no, phone in existing_rows:
            report.add_error(row_no, "phone", f"A contact with {phone} already exists.")
        report.skipped_count += existing - len(existing_rows)
    else:
        report.skipped_count += existing
    for row_no, conflict, email in conflicts:
        message = (
            f"{email} belongs to another contact."
            if conflict == "email"
            else "Matches the same contact as an earlier row."
        )
        report.add_error(row_no, "email" if conflict == "email" else "phone", message)


# --- Entry points


def contacts_import(
    *,
    raw: bytes,
    file_name: str,
    region: str,
    update_existing: bool,
    skip_duplicates: bool,
    created_by,
) -> ImportReport | ContactImport:
    """Check the file, then import it at once (a report) or hand it to a worker (the job).

    The request's work is bounded whatever the file says about itself: it reads at most
    CONTACT_IMPORT_SYNC_ROWS + 1 data rows and opens no workbook over
    XLSX_REQUEST_MAX_UNPACKED_BYTES unpacked. A file that ends within those rows is imported at
    once; any other goes to the worker, which counts it first. A bad file (empty, too large, not
    CSV/XLSX, wrong encoding, no phone column, over CONTACT_IMPORT_MAX_ROWS within the rows
    read) is refused here, whichever way it would run; a workbook too large to open here is
    checked by the worker.
    """
    check_file(raw)
    file_format = file_format_of(raw, file_name)
    options = {"update_existing": update_existing, "skip_duplicates": skip_duplicates}
    if file_format == "xlsx" and _xlsx_unpacked_bytes(raw) > XLSX_REQUEST_MAX_UNPACKED_BYTES:
        return _import_queue(raw, file_format=file_format, created_by=created_by, **options)
    header, rows = read_table(raw, file_format)
    head = list(islice(rows, settings.CONTACT_IMPORT_SYNC_ROWS + 1))
    check_row_count(len(head))
    if len(head) <= settings.CONTACT_IMPORT_SYNC_ROWS:
        return _import_now(header, head, region=region, created_by_id=created_by.pk, **options)
    return _import_queue(raw, file_format=file_format, created_by=created_by, **options)


def _import_now(
    header: list[str],
    rows: list[list[str]],
    *,
    region: str,
    update_existing: bool,
    skip_duplicates: bool,
    created_by_id,
) -> ImportReport:
    """All rows within the request, in one transaction."""
    report = ImportReport()
    with transaction.atomic():
        merge_rows(
            prepare_rows(list(valid_rows(header, rows, region=region, report=report))),
            report=report,
            update_existing=update_existing,
            skip_duplicates=skip_duplicates,
            created_by_id=created_by_id,
        )
    return report


def _import_queue(
    raw: bytes,
    *,
    file_format: str,
    update_existing: bool,
    skip_duplicates: bool,
    created_by,
) -> ContactImport:
    """Keep the file and hand it to a worker on the `imports` queue once this commits; its
    `total_rows` stays 0 until the worker has counted them."""
    from messaging.tasks import contact_import_run

    job = ContactImport(
        file_format=file_format,
        update_existing=update_existing,
        skip_duplicates=skip_duplicates,
        created_by=created_by,
    )
    job.file.save(f"{job.id}.{file_format}", ContentFile(raw), save=False)
    job.save()
    contact_import_run.delay_on_commit(import_id=str(job.id))
    return job


def contact_import_run(*, import_id: str, region: str) -> None:
    """Run a queued import in committed chunks; a rerun resumes after `rows_done`."""
    claimed = ContactImport.objects.filter(
        pk=import_id, status__in=[ContactImport.Status.QUEUED, ContactImport.Status.RUNNING]
    ).update(status=ContactImport.Status.RUNNING, started_at=timezone.now())
    if not claimed:
        return
    job = ContactImport.objects.get(pk=import_id)
    try:
        _run_chunks(job, region)
    except ApplicationError as exc:
        _finish(job, ContactImport.Status.FAILED, failure=exc.message)
    except Exception:
        logger.exception("Contact import %s failed", job.pk)
        failure = f"Internal error; the first {job.rows_done} rows were saved as counted."
        _finish(job, ContactImport.Status.FAILED, failure=failure)
    else:
        _finish(job, ContactImport.Status.COMPLETED)
        _settle_contacts()


def _settle_contacts() -> None:
    """After a bulk merge: fold the GIN pending lists into their indexes (every search scans
    them linearly until then) and refresh the planner's statistics."""
    with connection.cursor() as cursor:
        for index in ("contact_search_trgm", "contact_tags"):
            cursor.execute("SELECT gin_clean_pending_list(%s::regclass)", [index])
        cursor.execute("ANALYZE messaging_contact")


@dataclass(frozen=True)
class _Chunk:
    """Validated rows, with what validation had read and reported by the end of them."""

    prepared: _Prepared
    rows_read: int
    checked: ImportReport


def _validated_chunks(header, rows, *, region: str, first_row: int) -> Iterator[_Chunk]:
    """Chunks of CHUNK_ROWS good rows; the last one (maybe empty) carries the final counts."""
    checked, read = ImportReport(), 0

    def counted():
        nonlocal read
        for cells in rows:
            read += 1
            yield cells

    def snapshot(chunk_rows):
        state = ImportReport(0, 0, checked.skipped_count, list(checked.errors))
        return _Chunk(prepare_rows(chunk_rows), read, state)

    good = valid_rows(header, counted(), region=region, report=checked, first_row=first_row)
    chunk = []
    for row in good:
        chunk.append(row)
        if len(chunk) == CHUNK_ROWS:
            yield snapshot(chunk)
            chunk = []
    yield snapshot(chunk)


# Every join of a merge looks up a chunk's rows by an indexed key, so a chunk costs about the same
# into 1,000 or 1,000,000 contacts. Left to itself, with the contacts' statistics stale during a
# bulk import, the planner hashed the whole table for every chunk (3-5 of 23 s at 1M rows).
_CHUNK_SETTINGS = "SET LOCAL enable_hashjoin = off; SET LOCAL enable_mergejoin = off"


def _run_chunks(job: ContactImport, region: str) -> None:
    """Count the rows, then merge chunk after chunk, each committed with its progress. The next
    chunk is validated in a second thread meanwhile: pure Python, while Postgres (in its own
    process) merges this one, so the two cores work at once. The database is used from this
    thread only. A file over the row limit fails before any of its rows is merged.
    """
    with tempfile.TemporaryFile("w+", encoding="utf-8", newline="") as spool:
        with job.file.open("rb") as handle:
            (header, rows), job.total_rows = read_counted(handle.read(), job.file_format, spool)
        job.save(update_fields=["total_rows"])
        done_before = job.rows_done
        for _ in range(done_before):  # rows a previous run already committed
            next(rows, None)
        before = ImportReport(job.imported_count, job.updated_count, job.skipped_count, job.errors)
        merged = ImportReport()
        chunks = _validated_chunks(header, rows, region=region, first_row=done_before + 2)
        with ThreadPoolExecutor(max_workers=1, thread_name_prefix="contact-import") as validator:
            pending = validator.submit(next, chunks, None)
            while (chunk := pending.result()) is not None:
                pending = validator.submit(next, chunks, None)
                with transaction.atomic(), connection.cursor() as cursor:
                    cursor.execute(_CHUNK_SETTINGS)
                    merge_rows(
                        chunk.prepared,
                        report=merged,
                        update_existing=job.update_existing,
                        skip_duplicates=job.skip_duplicates,
                        created_by_id=job.created_by_id,
                    )
                    job.rows_done = done_before + chunk.rows_read
                    _save_progress(job, ImportReport.combined(before, chunk.checked, merged))


def _save_progress(job: ContactImport, report: ImportReport) -> None:
    job.imported_count = report.imported_count
    job.updated_count = report.updated_count
    job.skipped_count = report.skipped_count
    job.errors = report.errors
    job.save(
        update_fields=["imported_count", "updated_count", "skipped_count", "errors", "rows_done"]
    )


def _finish(job: ContactImport, status_: str, failure: str = "") -> None:
    """Close the job; its counts are the ones saved with the last committed chunk."""
    job.status, job.failure, job.finished_at = status_, failure, timezone.now()
    job.save(update_fields=["status", "failure", "finished_at"])
