"""An uploaded contact file: checked within the request, then imported at once when it is small
(one transaction, the report in the response) or kept and handed to a background job."""

from itertools import islice

from django.conf import settings
from django.db import transaction

from messaging.models import ContactImport
from messaging.services.imports.files import (
    check_file,
    check_row_count,
    file_format_of,
    read_table,
    xlsx_unpacked_bytes,
)
from messaging.services.imports.jobs import contact_import_queue
from messaging.services.imports.merge import merge_rows, prepare_rows
from messaging.services.imports.report import ImportReport
from messaging.services.imports.rows import valid_rows

# Opening a workbook parses all its shared strings, and every sheet without a <dimension> to its
# end, however few rows are then read: the request opens only workbooks this small unpacked.
XLSX_REQUEST_MAX_UNPACKED_BYTES = 4 * 1024 * 1024


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
    if file_format == "xlsx" and xlsx_unpacked_bytes(raw) > XLSX_REQUEST_MAX_UNPACKED_BYTES:
        return contact_import_queue(
            raw=raw, file_format=file_format, created_by=created_by, **options
        )
    header, rows = read_table(raw, file_format)
    head = list(islice(rows, settings.CONTACT_IMPORT_SYNC_ROWS + 1))
    check_row_count(len(head))
    if len(head) <= settings.CONTACT_IMPORT_SYNC_ROWS:
        return _import_now(header, head, region=region, created_by_id=created_by.pk, **options)
    return contact_import_queue(raw=raw, file_format=file_format, created_by=created_by, **options)


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
