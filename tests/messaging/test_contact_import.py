"""POST /api/messaging/contacts/bulk-import/ and GET .../bulk-import/{id}/: CSV and XLSX files,
small ones imported within the request, larger ones by a worker."""

import io
import zipfile

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from messaging.models import Contact, ContactImport
from tests.envelope import assert_error, assert_field_errors, ok_data
from tests.messaging.helpers import (
    CONTACTS,
    IMPORT,
    csv_text,
    import_url,
    in_tenant,
    make_contact,
    unknown_id,
    xlsx_bytes,
)

REPORT_KEYS = {"imported_count", "updated_count", "skipped_count", "total_processed", "errors"}
FILE_ERRORS = ("INVALID_IMPORT_FILE", "VALIDATION_ERROR")


def import_csv(client, text: str, **options):
    return client.post(IMPORT, {"import_type": "csv", "csv_data": text, **options}, format="json")


def upload(client, raw: bytes, name: str = "contacts.csv", **options):
    body = {"file": SimpleUploadedFile(name, raw), **options}
    return client.post(IMPORT, body, format="multipart")


def contacts_of(tenant) -> dict[str, Contact]:
    return in_tenant(tenant, lambda: {c.phone_e164: c for c in Contact.objects.all()})


def counts(report: dict) -> tuple[int, int, int, int]:
    return (
        report["imported_count"],
        report["updated_count"],
        report["skipped_count"],
        report["total_processed"],
    )


def assert_file_refused(response) -> dict:
    assert response.status_code == 400, response.content
    body = assert_error(response, 400, response.json()["error_code"])
    assert body["error_code"] in FILE_ERRORS
    assert body["errors"]
    return body


@pytest.fixture
def media(settings, tmp_path):
    """Background imports keep their file under MEDIA_ROOT: a temporary folder here."""
    settings.MEDIA_ROOT = str(tmp_path)
    return tmp_path


# --- Small files, imported within the request


def test_a_csv_is_imported_with_tags_and_attributes(api, a):
    text = csv_text(
        [
            ["Name", "Phone", "Email", "Tags", "City", "Tier"],
            ["Asha", "0712000301", "Asha@Example.com", "VIP; retail,vip", "Arusha", "2"],
            ["Baraka", "+255712000302", "", "", "", ""],
        ]
    )

    report = ok_data(import_csv(api(a.owner), text))

    assert set(report) == REPORT_KEYS
    assert counts(report) == (2, 0, 0, 2)
    assert report["errors"] == []
    contacts = contacts_of(a.tenant)
    asha = contacts["+255712000301"]
    assert asha.name == "Asha"
    assert asha.email == "asha@example.com"
    assert asha.tags == ["vip", "retail"]
    assert asha.attributes == {"city": "Arusha", "tier": "2"}
    assert asha.created_by_id == a.owner.pk
    baraka = contacts["+255712000302"]
    assert (baraka.email, baraka.tags, baraka.attributes) == ("", [], {})


def test_imported_contacts_are_listed(api, a):
    client = api(a.owner)
    ok_data(import_csv(client, "name,phone_number\nZuhura,0712000303\n"))

    data = ok_data(client.get(CONTACTS, {"search": "zuhura"}))

    assert [c["phone_e164"] for c in data["results"]] == ["+255712000303"]


def test_a_multipart_csv_file_is_imported(api, a):
    raw = "\ufeffname,phone_e164\nJosé,0712000304\n".encode()

    report = ok_data(upload(api(a.owner), raw))

    assert counts(report) == (1, 0, 0, 1)
    assert contacts_of(a.tenant)["+255712000304"].name == "José"


def test_every_phone_spelling_is_read_in_the_tenants_country(api, a):
    raw = xlsx_bytes(
        [
            ["name", "phone"],
            ["international", "+255712000311"],
            ["local", "0712000312"],
            ["spaced", "0712 000 313"],
            ["number", 255712000314],
        ]
    )

    report = ok_data(upload(api(a.owner), raw, "contacts.xlsx"))

    assert counts(report) == (4, 0, 0, 4)
    phones = {c.name: p for p, c in contacts_of(a.tenant).items()}
    assert phones == {
        "international": "+255712000311",
        "local": "+255712000312",
        "spaced": "+255712000313",
        "number": "+255712000314",
    }


def test_bad_rows_are_reported_and_good_rows_saved(api, a):
    text = csv_text(
        [
            ["name", "phone", "email"],
            ["good", "0712000321", ""],
            ["no phone", "", ""],
            ["bad phone", "12", ""],
            ["bad email", "0712000322", "not-an-email"],
            ["also good", "0712000323", "x@example.com"],
        ]
    )

    report = ok_data(import_csv(api(a.owner), text))

    assert counts(report) == (2, 0, 3, 5)
    assert [(e["row"], e["field"]) for e in report["errors"]] == [
        (3, "phone"),
        (4, "phone"),
        (5, "email"),
    ]
    assert all(e["message"] for e in report["errors"])
    assert set(contacts_of(a.tenant)) == {"+255712000321", "+255712000323"}


def test_duplicates_within_the_file_are_skipped_after_the_first(api, a):
    text = csv_text(
        [
            ["name", "phone", "email"],
            ["first", "0712000331", "dup@example.com"],
            ["same phone", "+255 712 000 331", ""],
            ["same email", "0712000332", "DUP@example.com"],
        ]
    )

    report = ok_data(import_csv(api(a.owner), text))

    assert counts(report) == (1, 0, 2, 3)
    assert report["errors"] == [
        {"row": 3, "field": "phone", "message": "Duplicate of row 2."},
        {"row": 4, "field": "email", "message": "dup@example.com is already used by row 2."},
    ]
    assert contacts_of(a.tenant)["+255712000331"].name == "first"


def test_existing_contacts_are_skipped_with_skip_duplicates(api, a):
    make_contact(a.tenant, name="Kept", phone_e164="+255712000341", tags=["old"])
    text = "name,phone,tags\nChanged,0712000341,new\nFresh,0712000342,\n"

    report = ok_data(import_csv(api(a.owner), text, skip_duplicates=True))

    assert counts(report) == (1, 0, 1, 2)
    assert report["errors"] == []
    kept = contacts_of(a.tenant)["+255712000341"]
    assert (kept.name, kept.tags) == ("Kept", ["old"])


def test_existing_contacts_are_reported_when_neither_skipped_nor_updated(api, a):
    make_contact(a.tenant, phone_e164="+255712000343")

    report = ok_data(
        import_csv(
            api(a.owner), "phone\n0712000343\n", skip_duplicates=False, update_existing=False
        )
    )

    assert counts(report) == (0, 0, 1, 1)
    assert [(e["row"], e["field"]) for e in report["errors"]] == [(2, "phone")]


def test_update_existing_merges_tags_and_attributes(api, a):
    existing = make_contact(
        a.tenant,
        name="Old",
        phone_e164="+255712000351",
        email="old@example.com",
        tags=["vip", "old"],
        attributes={"city": "Moshi", "tier": 1},
    )
    by_email = make_contact(a.tenant, phone_e164="+255712000352", email="mail@example.com")
    text = csv_text(
        [
            ["name", "phone", "email", "tags", "city", "shop"],
            ["New", "0712000351", "", "VIP;new", "Arusha", "Duka"],
            ["", "0712000353", "mail@example.com", "x", "", ""],
        ]
    )

    report = ok_data(import_csv(api(a.owner), text, update_existing=True))

    assert counts(report) == (0, 2, 0, 2)
    contacts = in_tenant(a.tenant, lambda: {c.id: c for c in Contact.objects.all()})
    updated = contacts[existing.id]
    assert updated.name == "New"
    assert updated.email == "old@example.com"
    assert sorted(updated.tags) == ["new", "old", "vip"]
    assert updated.tags[:2] == ["vip", "old"]
    assert updated.attributes == {"city": "Arusha", "tier": 1, "shop": "Duka"}
    matched_by_email = contacts[by_email.id]
    assert matched_by_email.phone_e164 == "+255712000353"
    assert matched_by_email.tags == ["x"]
    assert len(contacts) == 2


def test_an_email_of_another_contact_is_reported(api, a):
    make_contact(a.tenant, phone_e164="+255712000361", email="first@example.com")
    make_contact(a.tenant, phone_e164="+255712000362", email="second@example.com")
    text = "phone,email\n0712000361,second@example.com\n0712000363,third@example.com\n"

    report = ok_data(import_csv(api(a.owner), text, update_existing=True))

    assert report["errors"] == [
        {"row": 2, "field": "email", "message": "second@example.com belongs to another contact."}
    ]
    assert counts(report) == (1, 0, 1, 2)
    contacts = contacts_of(a.tenant)
    assert contacts["+255712000361"].email == "first@example.com"
    assert contacts["+255712000362"].email == "second@example.com"
    assert contacts["+255712000363"].email == "third@example.com"


def test_an_import_brings_a_soft_deleted_contact_back(api, a):
    gone = make_contact(a.tenant, phone_e164="+255712000371", deleted_at=timezone.now())
    client = api(a.owner)

    report = ok_data(import_csv(client, "name,phone\nBack,0712000371\n"))

    assert counts(report) == (1, 0, 0, 1)
    data = ok_data(client.get(CONTACTS))
    assert [c["id"] for c in data["results"]] == [str(gone.id)]
    assert data["results"][0]["name"] == "Back"


def test_an_import_never_touches_another_tenant(api, a, b):
    theirs = make_contact(b.tenant, name="B", phone_e164="+255712000381")

    report = ok_data(import_csv(api(a.owner), "name,phone\nA,0712000381\n", update_existing=True))

    assert counts(report) == (1, 0, 0, 1)
    assert contacts_of(b.tenant) == {"+255712000381": theirs}
    assert contacts_of(b.tenant)["+255712000381"].name == "B"


def test_a_header_only_file_imports_nothing(api, a):
    assert counts(ok_data(import_csv(api(a.owner), "name,phone\n"))) == (0, 0, 0, 0)


def test_an_import_retried_with_its_idempotency_key_is_replayed(api, a):
    client = api(a.owner, HTTP_IDEMPOTENCY_KEY="import-1")
    text = "phone\n0712000391\n"

    first = ok_data(import_csv(client, text))
    again = import_csv(client, text)

    assert again["Idempotent-Replayed"] == "true"
    assert ok_data(again) == first
    assert counts(first) == (1, 0, 0, 1)


def import_queries(client, rows: int, start: int) -> int:
    lines = [["name", "phone", "email", "tags", "city"]]
    lines += [
        [f"Person {i}", f"07140{start + i:05d}", f"p{start + i}@example.com", "a;b", "Dodoma"]
        for i in range(rows)
    ]
    with CaptureQueriesContext(connection) as queries:
        report = ok_data(import_csv(client, csv_text(lines)))
    assert report["imported_count"] == rows, report
    return len(queries)


def drop_import_table() -> None:
    """The import's temporary table is dropped on commit, which a test transaction never does."""
    with connection.cursor() as cursor:
        cursor.execute("DROP TABLE IF EXISTS pg_temp.import_rows")


def test_the_import_costs_the_same_queries_for_10_or_200_rows(api, a):
    client = api(a.owner)

    few = import_queries(client, 10, start=0)
    drop_import_table()
    many = import_queries(client, 200, start=1000)

    assert many == few
    assert few <= 21


# --- Files that are refused


def latin1_csv() -> bytes:
    return "name,phone\nJos\xe9,0712000001\n".encode("latin-1")


def broken_sheet_xlsx() -> bytes:
    """A valid XLSX package whose worksheet XML is cut in half."""
    source = zipfile.ZipFile(io.BytesIO(xlsx_bytes([["name", "phone"], ["A", "0712000002"]])))
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as target:
        for item in source.infolist():
            data = source.read(item.filename)
            if item.filename == "xl/worksheets/sheet1.xml":
                data = data[: len(data) // 2]
            target.writestr(item, data)
    return out.getvalue()


@pytest.mark.parametrize(
    ("raw", "name"),
    [
        (b"", "contacts.csv"),
        (b"  \n\n", "contacts.csv"),
        (latin1_csv(), "contacts.csv"),
        (b"name,mobile\nA,0712000003\n", "contacts.csv"),
        (b"name,phone\nA,0712000004\n", "contacts.pdf"),
        (b"this is not a workbook", "contacts.xlsx"),
        (b"PK\x03\x04 truncated zip", "contacts.xlsx"),
        (xlsx_bytes([]), "contacts.xlsx"),
        (xlsx_bytes([["name", "mobile"], ["A", "0712000005"]]), "contacts.xlsx"),
    ],
    ids=[
        "empty",
        "blank",
        "latin-1",
        "no-phone-column",
        "pdf",
        "not-xlsx",
        "corrupt-zip",
        "empty-xlsx",
        "xlsx-no-phone-column",
    ],
)
def test_a_bad_file_is_a_clear_400(api, a, raw, name):
    assert_file_refused(upload(api(a.owner), raw, name))

    assert not in_tenant(a.tenant, lambda: Contact.objects.exists())


def test_a_file_over_the_size_limit_is_a_400(api, a, settings):
    settings.CONTACT_IMPORT_MAX_BYTES = 64

    rows = [["name", "phone"]] + [["A", "0712000006"]] * 10
    response = upload(api(a.owner), csv_text(rows).encode())

    assert_error(response, 400, "INVALID_IMPORT_FILE")


@pytest.mark.parametrize(
    "body",
    [{}, {"skip_duplicates": True}, {"import_type": "pdf", "csv_data": "phone\n0712000007\n"}],
    ids=["nothing", "no-data", "bad-import-type"],
)
def test_a_request_without_a_file_or_csv_data_is_a_400(api, a, body):
    response = api(a.owner).post(IMPORT, body, format="json")

    assert_field_errors(response, "import_type" if "import_type" in body else "file")


@pytest.mark.parametrize(
    ("column", "value"),
    [("tags", "t" * 65), ("email", "e" * 250 + "@example.com"), ("city", "x" * 200_000)],
    ids=["tag-over-64", "email-over-254", "cell-over-csv-limit"],
)
def test_an_oversized_cell_is_reported_not_a_500(api, a, column, value):
    text = f"name,phone,{column}\nBad,0712000011,{value}\nGood,0712000012,\n"

    response = import_csv(api(a.owner), text)

    assert response.status_code in (200, 400), response.status_code
    if response.status_code == 200:
        report = ok_data(response)
        assert report["errors"][0]["row"] == 2
        assert "+255712000012" in contacts_of(a.tenant)


@pytest.mark.parametrize(
    "raw",
    [b"name,phone\nA\x00B,0712000021\n", b"name,phone,city\nAB,0712000022,a\x00b\n"],
    ids=["in-name", "in-attribute"],
)
def test_a_nul_byte_in_a_csv_is_not_a_500(api, a, raw):
    response = upload(api(a.owner), raw)

    assert response.status_code in (200, 400), response.status_code


def test_a_damaged_worksheet_is_a_400_not_a_500(api, a):
    assert_file_refused(upload(api(a.owner), broken_sheet_xlsx(), "contacts.xlsx"))


# --- Larger files, imported by a worker


def test_a_large_file_is_imported_by_a_worker_with_progress_and_errors(
    api, a, settings, media, on_commit
):
    settings.CONTACT_IMPORT_SYNC_ROWS = 5
    make_contact(a.tenant, phone_e164="+255712000401", name="Existing")
    lines = [["name", "phone", "tags"]]
    lines += [[f"Row {i}", f"07120004{i:02d}", "big"] for i in range(1, 8)]
    lines += [["bad", "12", ""], ["dup", "0712000402", ""]]
    client = api(a.owner)

    with on_commit():
        response = import_csv(client, csv_text(lines), update_existing=True)

    job = ok_data(response, 202)
    assert set(job) >= {"id", "status", "progress_percentage", "counts", "errors"}
    assert job["status"] == "queued"
    assert job["progress_percentage"] == 0
    done = ok_data(client.get(import_url(job["id"])))
    assert done["status"] == "completed"
    assert done["progress_percentage"] == 100
    assert done["counts"] == {
        "total_rows": 9,
        "imported_count": 6,
        "updated_count": 1,
        "skipped_count": 2,
        "total_processed": 9,
    }
    assert [(e["row"], e["field"]) for e in done["errors"]] == [(9, "phone"), (10, "phone")]
    assert ok_data(client.get(CONTACTS, {"tags": "big"}))["count"] == 7
    assert contacts_of(a.tenant)["+255712000401"].name == "Row 1"


def test_a_large_xlsx_upload_is_imported_by_a_worker(api, a, settings, media, on_commit):
    settings.CONTACT_IMPORT_SYNC_ROWS = 5
    rows = [["name", "phone"]] + [[f"X{i}", 255712000410 + i] for i in range(8)]
    client = api(a.owner)

    with on_commit():
        job = ok_data(upload(client, xlsx_bytes(rows), "contacts.xlsx"), 202)

    done = ok_data(client.get(import_url(job["id"])))
    assert (done["status"], done["counts"]["imported_count"]) == ("completed", 8)
    assert len(contacts_of(a.tenant)) == 8


@pytest.mark.parametrize(
    ("header", "encoding"),
    [("name,mobile", "utf-8"), ("name,phone", "latin-1")],
    ids=["no-phone-column", "latin-1"],
)
def test_a_large_bad_file_is_refused_at_once_like_a_small_one(
    api, a, settings, media, on_commit, header, encoding
):
    settings.CONTACT_IMPORT_SYNC_ROWS = 5
    lines = [header] + [f"Jos\xe9 {i},07120005{i:02d}" for i in range(8)]
    client = api(a.owner)

    with on_commit():
        response = upload(client, "\n".join(lines).encode(encoding))

    assert_error(response, 400, "INVALID_IMPORT_FILE")


def test_an_unknown_or_foreign_import_job_is_a_404(api, a, b, media):
    foreign = in_tenant(b.tenant, lambda: ContactImport.objects.create(file_format="csv"))
    client = api(a.owner)

    assert_error(client.get(import_url(foreign.id)), 404, "NOT_FOUND")
    assert_error(client.get(import_url(unknown_id())), 404, "NOT_FOUND")
