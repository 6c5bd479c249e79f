"""The background contact import (ContactImport): queued with its file once the request
commits, claimed by a worker (queued -> running), merged in committed chunks with its counts,
and closed (running -> completed | failed); a rerun resumes after `rows_done`."""

import logging
import tempfile
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

from django.core.files.base import ContentFile
from django.db import connection, transaction
from django.utils import timezone

from messaging.models import ContactImport
from messaging.selectors import contact_import_get
from messaging.services.imports.files import read_counted
from messaging.services.imports.merge import (
    CopyRows,
    PreparedRows,
    merge_rows,
    settle_contacts,
)
from messaging.services.imports.report import ImportReport
from messaging.services.imports.rows import valid_rows
from mifumo.errors import ApplicationError

logger = logging.getLogger(__name__)

CHUNK_ROWS = 50_000
FIRST_CHUNK_ROWS = 5_000


def contact_import_queue(
    *,
    raw: bytes,
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
    job = contact_import_get(import_id=import_id)
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
        settle_contacts()


@dataclass(frozen=True)
class _Chunk:
    """Validated rows, with what validation had read and reported by the end of them."""

    prepared: PreparedRows
    rows_read: int
    checked: ImportReport


def _chunk_sizes() -> Iterator[int]:
    """FIRST_CHUNK_ROWS, doubling up to CHUNK_ROWS: the database starts on a small chunk while
    the next, larger one is validated, instead of waiting for a whole chunk's validation."""
    size = min(FIRST_CHUNK_ROWS, CHUNK_ROWS)
    while True:
        yield size
        size = min(size * 2, CHUNK_ROWS)


def _validated_chunks(header, rows, *, region: str, first_row: int) -> Iterator[_Chunk]:
    """Chunks of good rows (see _chunk_sizes); the last one (maybe empty) carries the final
    counts."""
    checked, read = ImportReport(), 0

    def counted():
        nonlocal read
        for cells in rows:
            read += 1
            yield cells

    def snapshot(copy_rows: CopyRows) -> _Chunk:
        state = ImportReport(0, 0, checked.skipped_count, list(checked.errors))
        return _Chunk(copy_rows.prepared(), read, state)

    good = valid_rows(header, counted(), region=region, report=checked, first_row=first_row)
    sizes = _chunk_sizes()
    size, chunk = next(sizes), CopyRows()
    for row in good:
        chunk.add(row)
        if chunk.row_count == size:
            yield snapshot(chunk)
            size, chunk = next(sizes), CopyRows()
    yield snapshot(chunk)


# Every join of a merge looks up a chunk's rows by an indexed key, so a chunk costs about the same
# into 1,000 or 1,000,000 contacts. Left to itself, with the contacts' statistics stale during a
# bulk import, the planner hashed the whole table for every chunk (3-5 of 23 s at 1M rows).
_CHUNK_SETTINGS = "SET LOCAL enable_hashjoin = off; SET LOCAL enable_mergejoin = off"


def _run_chunks(job: ContactImport, region: str) -> None:
    """Count the rows, then merge chunk after chunk, each committed with its progress. The next
    chunk is validated in a second thread meanwhile: pure Python, while Postgres (in its own
    process) merges this one, so the two cores work at once. The database is used from this
    thread only. A file over the row limit fails before any of its rows is merged. Where the
    time went is logged: what the figure of a slow import is made of.
    """
    started = time.perf_counter()
    with tempfile.TemporaryFile("w+", encoding="utf-8", newline="") as spool:
        with job.file.open("rb") as handle:
            (header, rows), job.total_rows = read_counted(handle.read(), job.file_format, spool)
        job.save(update_fields=["total_rows"])
        counted = time.perf_counter()
        done_before = job.rows_done
        for _ in range(done_before):  # rows a previous run already committed
            next(rows, None)
        before = ImportReport(job.imported_count, job.updated_count, job.skipped_count, job.errors)
        merged = ImportReport()
        chunks = _validated_chunks(header, rows, region=region, first_row=done_before + 2)
        waited = 0.0
        with ThreadPoolExecutor(max_workers=1, thread_name_prefix="contact-import") as validator:
            pending = validator.submit(next, chunks, None)
            while True:
                wait_started = time.perf_counter()
                chunk = pending.result()
                waited += time.perf_counter() - wait_started
                if chunk is None:
                    break
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
    logger.info(
        "Contact import %s: %d rows read and counted in %.2f s, merged in %.2f s "
        "(%.2f s of it waiting for validation)",
        job.pk,
        job.total_rows,
        counted - started,
        time.perf_counter() - counted,
        waited,
    )


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
