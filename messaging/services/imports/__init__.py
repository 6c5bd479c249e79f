"""Contact imports: a CSV or XLSX file's rows validated and merged into the tenant's contacts in
sets, one module per job:

- files: reading a file (bounded, streamed) and the checks that refuse one;
- rows: mapping rows to contacts (phone in the tenant's region, email, tags, attributes);
- merge: merging validated rows into contacts in sets (COPY, match, update, insert);
- report: the counts and row errors an import reports;
- upload: an uploaded file, imported within the request or handed to a job;
- jobs: the background job's lifecycle (queued -> running -> completed | failed, resumable).

The entry points callers use are re-exported here.
"""

from messaging.services.imports.jobs import contact_import_run
from messaging.services.imports.report import ImportReport
from messaging.services.imports.upload import contacts_import

__all__ = ["ImportReport", "contact_import_run", "contacts_import"]
