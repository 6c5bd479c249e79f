"""The import's shortcuts give the answers of the plain way they replace: counting a CSV by its
line ends, reading it as it is decoded, a tags cell read once per spelling, attributes encoded
without json.dumps, rows rendered as they are validated, chunks that start small, and an upload
received in memory."""

import csv
import io
import json

from django.core.files import uploadhandler
from django.core.files.base import ContentFile
from django.core.files.uploadedfile import SimpleUploadedFile
from django_tenants.utils import tenant_context
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from messaging.models import Contact, ContactImport
from messaging.services.contacts import normalize_tags
from messaging.services.imports import files, jobs, merge, rows
from messaging.services.imports.report import ImportReport
from tests.envelope import ok_data
from tests.messaging.helpers import IMPORT

MANY = settings(
    max_examples=500, deadline=None, suppress_health_check=[HealthCheck.too_slow], database=None
)
# Characters the csv reader, io's newline handling or str.splitlines treat specially.
CSV_TEXT = st.text(
    alphabet=st.sampled_from([*"ab, ;\"'\t\r\n", "\x0b", "\x0c", "\x1c", "\x85", "\u2028", "é"]),
    min_size=1,
    max_size=60,
)


def csv_rows(text: str) -> list[list[str]]:
    """The plain way: the whole text decoded, read by the csv module from a StringIO."""
    return list(csv.reader(io.StringIO(text, newline="")))


@MANY
@given(text=CSV_TEXT, bom=st.booleans())
@example(text="phone\n", bom=False)
@example(text="phone", bom=True)
@example(text="phone\n\n\n", bom=False)
@example(text='phone\n"07\n12"\n', bom=False)
@example(text="phone\r\n0712\r\n", bom=False)
def test_counting_by_line_ends_agrees_with_the_csv_reader(text, bom):
    raw = (("\ufeff" if bom else "") + text).encode()

    counted = files._csv_data_lines(raw)

    assert counted is None or counted == len(csv_rows(text)) - 1
    if '"' not in text and "\r" not in text:
        assert counted is not None


@MANY
@given(text=CSV_TEXT)
@example(text="phone\n" + "x" * 12 + "\nok\n")
@example(text="phone\n" + "é" * 6 + "\n")
def test_a_line_over_the_field_limit_is_left_to_the_csv_reader(text):
    limit = csv.field_size_limit(8)
    try:
        counted = files._csv_data_lines(text.encode())
        try:
            expected = len(csv_rows(text)) - 1
        except csv.Error:  # so the job fails before it merges any row, as before
            assert counted is None
        else:
            assert counted in (None, expected)
    finally:
        csv.field_size_limit(limit)


@MANY
@given(text=CSV_TEXT, bom=st.booleans())
def test_a_csv_read_as_it_is_decoded_gives_the_same_rows(text, bom):
    raw = (("\ufeff" if bom else "") + "phone," + text).encode()
    expected = csv_rows("phone," + text)

    header, rows_read = files.read_table(raw, "csv")

    assert [header, *rows_read] == [[h.strip().lower() for h in expected[0]], *expected[1:]]


TAG_CELL = st.lists(st.sampled_from([*"aB ,;", "x" * 30, "İ", "\u00a0"]), max_size=8).map("".join)


def tags_the_plain_way(cell: str) -> tuple[str, ...] | None:
    tags = normalize_tags(rows.TAG_SPLIT_RE.split(cell))
    return None if any(len(t) > rows.MAX_TAG_LENGTH for t in tags) else tuple(tags)


@MANY
@given(cells=st.lists(TAG_CELL, max_size=20), remembered=st.integers(0, 3))
def test_a_tags_cell_read_once_per_spelling_reads_as_before(cells, remembered):
    original, rows.TAG_CELLS_REMEMBERED = rows.TAG_CELLS_REMEMBERED, remembered
    try:
        read = rows._tags_reader()
        assert [read(cell) for cell in cells] == [tags_the_plain_way(cell) for cell in cells]
    finally:
        rows.TAG_CELLS_REMEMBERED = original


@MANY
@given(attributes=st.dictionaries(st.text(max_size=5), st.text(max_size=8), max_size=4))
@example(attributes={'a"b': "c\\d", "ü": "\x01\n", "x": "\U0001f600"})
def test_attributes_encode_to_what_json_dumps_would_store(attributes):
    keys: dict[str, str] = {}

    encoded = [merge._json_object(attributes, keys) for _ in range(2)]

    assert encoded == [json.dumps(attributes, separators=(",", ":"))] * 2
    assert json.loads(encoded[0]) == attributes


@MANY
@given(
    cells=st.lists(
        st.tuples(
            st.text(alphabet=st.sampled_from([*"Ab ,\"\\\n'", "é"]), max_size=6),
            st.sampled_from(["0712000001", "+255712000002", "0712000003", "12", ""]),
            st.sampled_from(["", "a@b.co", "A@B.CO", "bad"]),
            TAG_CELL,
            st.text(alphabet=st.sampled_from([*'x ,"{}\\']), max_size=4),
        ),
        max_size=12,
    )
)
def test_rows_rendered_as_validated_copy_back_to_what_was_validated(cells):
    header = ["name", "phone", "email", "tags", "city"]
    good = list(
        rows.valid_rows(header, [list(c) for c in cells], region="TZ", report=ImportReport())
    )

    prepared = merge.prepare_rows(good)

    copied = list(csv.reader(io.StringIO(prepared.copy_data)))
    assert prepared.row_count == len(good) == len(copied)
    assert prepared.has_emails == any(row.email for row in good)
    for row, (row_no, name, phone, email, tags, attributes) in zip(good, copied, strict=True):
        assert (int(row_no), name, phone, email) == (row.row_no, row.name, row.phone, row.email)
        assert tags == merge._pg_array(row.tags)
        assert json.loads(attributes) == row.attributes


def test_chunks_start_small_and_double_up_to_the_chunk_size(monkeypatch):
    sizes = jobs._chunk_sizes()
    assert [next(sizes) for _ in range(7)] == [5000, 10000, 20000, 40000, 50000, 50000, 50000]

    monkeypatch.setattr(jobs, "CHUNK_ROWS", 5)
    sizes = jobs._chunk_sizes()
    assert [next(sizes) for _ in range(3)] == [5, 5, 5]


def test_an_import_in_growing_chunks_counts_as_one_chunk_would(a, monkeypatch, settings, tmp_path):
    settings.MEDIA_ROOT = str(tmp_path)
    lines = ["name,phone,tags"] + [f"P {n},07150{n:05d},t{n % 3}" for n in range(40)]
    lines[7] = "Broken,12,x"
    lines[20] = "Twice,0715000003,x"  # a duplicate of an earlier row
    raw = ("\n".join(lines) + "\n").encode()

    def run_with(first: int, size: int) -> tuple:
        monkeypatch.setattr(jobs, "FIRST_CHUNK_ROWS", first)
        monkeypatch.setattr(jobs, "CHUNK_ROWS", size)
        with tenant_context(a.tenant):
            Contact.objects.all().delete()
            job = ContactImport(file_format="csv")
            job.file.save(f"{job.id}.csv", ContentFile(raw), save=False)
            job.save()
            jobs.contact_import_run(import_id=str(job.id), region="TZ")
            job.refresh_from_db()
            phones = sorted(Contact.objects.values_list("phone_e164", "tags"))
        return (job.status, job.total_rows, job.rows_done, job.imported_count), job.errors, phones

    one_chunk = run_with(1000, 1000)
    assert one_chunk[0] == (ContactImport.Status.COMPLETED, 40, 40, 38)
    assert run_with(2, 7) == one_chunk


def test_an_upload_is_received_in_memory_not_in_a_temporary_file(api, a, settings, monkeypatch):
    settings.FILE_UPLOAD_MAX_MEMORY_SIZE = 10  # Django's handlers would spool this file to disk

    def no_temporary_file(*args, **kwargs):
        raise AssertionError("the upload went to a temporary file")

    monkeypatch.setattr(uploadhandler, "TemporaryUploadedFile", no_temporary_file)
    raw = b"name,phone\nA,0712000031\nB,0712000032\n"

    response = api(a.owner).post(
        IMPORT, {"file": SimpleUploadedFile("contacts.csv", raw)}, format="multipart"
    )

    assert ok_data(response)["imported_count"] == 2
