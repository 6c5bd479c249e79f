"""A worker killed part-way through an import: the rerun resumes after the committed rows."""

import pytest
from django.core.files.base import ContentFile
from django_tenants.utils import tenant_context

from messaging.models import Contact, ContactImport
from messaging.services.imports import jobs


class WorkerKilled(BaseException):
    """Stands for SIGKILL: not an Exception, so the job cannot record a failure."""


def _file(rows: int) -> bytes:
    lines = ["name,phone"] + [f"Person {n},07140{n:05d}" for n in range(rows)]
    lines.insert(5, "Broken,12")  # a bad row in the first chunk
    return ("\n".join(lines) + "\n").encode()


@pytest.fixture
def job(a, monkeypatch):
    monkeypatch.setattr(jobs, "CHUNK_ROWS", 5)
    with tenant_context(a.tenant):
        raw = _file(12)
        record = ContactImport(file_format="csv")
        record.file.save(f"{record.id}.csv", ContentFile(raw), save=False)
        record.save()
        yield record


def test_a_killed_import_resumes_after_its_last_committed_chunk(a, job, monkeypatch):
    real_merge = jobs.merge_rows
    calls = []

    def merge_then_die(prepared, **kwargs):
        calls.append(prepared.row_count)
        if len(calls) == 2:
            raise WorkerKilled
        return real_merge(prepared, **kwargs)

    with tenant_context(a.tenant):
        monkeypatch.setattr(jobs, "merge_rows", merge_then_die)
        with pytest.raises(WorkerKilled):
            jobs.contact_import_run(import_id=str(job.id), region="TZ")
        job.refresh_from_db()
        assert job.status == ContactImport.Status.RUNNING
        assert job.total_rows == 13  # counted before the first chunk was merged
        assert (job.rows_done, job.imported_count, job.skipped_count) == (6, 5, 1)
        assert Contact.objects.count() == 5

        monkeypatch.setattr(jobs, "merge_rows", real_merge)
        jobs.contact_import_run(import_id=str(job.id), region="TZ")
        job.refresh_from_db()

        assert job.status == ContactImport.Status.COMPLETED
        assert (job.imported_count, job.updated_count, job.skipped_count) == (12, 0, 1)
        assert [(e["row"], e["field"]) for e in job.errors] == [(6, "phone")]
        assert Contact.objects.count() == 12
        assert job.progress_percentage == 100


def test_a_finished_import_is_not_run_again(a, job):
    with tenant_context(a.tenant):
        jobs.contact_import_run(import_id=str(job.id), region="TZ")
        jobs.contact_import_run(import_id=str(job.id), region="TZ")
        job.refresh_from_db()

        assert (job.status, job.imported_count) == (ContactImport.Status.COMPLETED, 12)
        assert Contact.objects.count() == 12
