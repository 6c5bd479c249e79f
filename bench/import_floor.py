"""The floor both contact-import benchmarks compare with (bench/audience.py in-process,
bench/import_http.py through the public path). Imported after django.setup()."""

import csv
import io
import json
import random
import time

from django.db import connection, transaction
from django_tenants.utils import tenant_context
from load import checkpoint

from tenants.models import Tenant


def copy_upsert_floor(tenant: Tenant, raw: bytes) -> float:
    """COPY the rows of the CSV `raw` in their final form (E.164, tag arrays, attributes,
    ascending ids like the job's: UUIDv7, a millisecond then a counter), then one INSERT ...
    ON CONFLICT into a scratch table like the contacts (its unique phone and every index);
    only the database's part is timed."""
    with tenant_context(tenant), transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("DROP TABLE IF EXISTS bench_contact")
        cursor.execute("CREATE TABLE bench_contact (LIKE messaging_contact INCLUDING ALL)")
        prepared = io.StringIO()
        writer = csv.writer(prepared)
        rng = random.Random(5)
        id_head = f"{time.time_ns() // 1_000_000:012x}7{rng.getrandbits(12):03x}8"
        rows = csv.reader(io.StringIO(raw.decode()))
        next(rows)  # the header
        for n, (name, phone, tags, city) in enumerate(rows):
            contact_id = f"{id_head}{n:08x}{rng.getrandbits(28):07x}"
            tag_array = "{" + tags.replace(";", ",") + "}"
            attributes = json.dumps({"city": city})
            writer.writerow((contact_id, name, f"+255{phone[-9:]}", tag_array, attributes))
        prepared.seek(0)
        checkpoint()
        started = time.perf_counter()
        cursor.execute(
            "CREATE TEMP TABLE raw_rows (id uuid, name text, phone text, tags varchar(64)[], "
            "attributes jsonb) ON COMMIT DROP"
        )
        cursor.copy_expert("COPY raw_rows FROM STDIN WITH (FORMAT csv)", prepared)
        cursor.execute(
            """INSERT INTO bench_contact (id, name, phone_e164, email, attributes, tags, is_active,
                   is_opted_in, opt_out_reason, created_at, updated_at)
               SELECT id, name, phone, '', attributes, tags, true, false, '', now(), now()
               FROM raw_rows
               ON CONFLICT (phone_e164) DO UPDATE SET name = EXCLUDED.name,
                   tags = EXCLUDED.tags, attributes = EXCLUDED.attributes"""
        )
        elapsed = time.perf_counter() - started
        cursor.execute("DROP TABLE bench_contact")
    return elapsed
