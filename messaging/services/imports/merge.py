"""Merging validated rows into the tenant's contacts in sets (the import's hot path): a chunk is
COPYed into a temporary table and merged with a handful of set-based statements: match by
phone, then by email; update or skip the matches; insert the rest. Also what a bulk merge
leaves to settle in the contacts' indexes and statistics."""

import csv
import io
from collections.abc import Iterable
from dataclasses import dataclass
from json.encoder import encode_basestring_ascii as _json_string

from django.db import IntegrityError, connection, transaction

from messaging.services.imports.report import MAX_REPORTED_ERRORS, ImportReport
from messaging.services.imports.rows import ValidRow
from mifumo.ids import uuid7_head


def _pg_array(tags: tuple[str, ...]) -> str:
    quoted = (t.replace("\\", "\\\\").replace('"', '\\"') for t in tags)
    return "{" + ",".join(f'"{t}"' for t in quoted) + "}"


def _json_object(attributes: dict[str, str], keys: dict[str, str]) -> str:
    """json.dumps of a dict of strings (the same escapes) without its per-call set-up, which
    cost more than the escaping; `keys` remembers each key's encoding."""
    if not attributes:
        return "{}"
    pairs = []
    for key, value in attributes.items():
        encoded = keys.get(key)
        if encoded is None:
            encoded = keys[key] = _json_string(key) + ":"
        pairs.append(encoded + _json_string(value))
    return "{" + ",".join(pairs) + "}"


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
class PreparedRows:
    """Validated rows as COPY input, built away from the database's critical path."""

    copy_data: str
    row_count: int
    has_emails: bool


class CopyRows:
    """Validated rows rendered as COPY input one by one as they are validated, so no row is
    kept (a chunk of row objects held for later kept the garbage collector busy)."""

    def __init__(self) -> None:
        self._buffer = io.StringIO()
        self._write = csv.writer(self._buffer).writerow
        self._arrays: dict[tuple[str, ...], str] = {}
        self._keys: dict[str, str] = {}
        self.row_count = 0
        self.has_emails = False

    def add(self, row: ValidRow) -> None:
        tags = self._arrays.get(row.tags)
        if tags is None:
            tags = self._arrays[row.tags] = _pg_array(row.tags)
        self._write(
            (
                row.row_no,
                row.name,
                row.phone,
                row.email,
                tags,
                _json_object(row.attributes, self._keys),
            )
        )
        self.row_count += 1
        if row.email:
            self.has_emails = True

    def prepared(self) -> PreparedRows:
        return PreparedRows(self._buffer.getvalue(), self.row_count, self.has_emails)


def prepare_rows(rows: Iterable[ValidRow]) -> PreparedRows:
    copy_rows = CopyRows()
    for row in rows:
        copy_rows.add(row)
    return copy_rows.prepared()


def merge_rows(
    prepared: PreparedRows,
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


def settle_contacts() -> None:
    """After a bulk merge: fold the GIN pending lists into their indexes (every search scans
    them linearly until then) and refresh the planner's statistics."""
    with connection.cursor() as cursor:
        for index in ("contact_search_trgm", "contact_tags"):
            cursor.execute("SELECT gin_clean_pending_list(%s::regclass)", [index])
        cursor.execute("ANALYZE messaging_contact")
