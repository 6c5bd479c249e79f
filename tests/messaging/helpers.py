"""Shared URLs and data builders of the messaging tests."""

import csv
import io
import itertools
import uuid

from django.utils import timezone
from django_tenants.utils import tenant_context

from messaging.models import Contact, Message, Segment, Template

CONTACTS = "/api/messaging/contacts/"
IMPORT = f"{CONTACTS}bulk-import/"
SEGMENTS = "/api/messaging/segments/"
TEMPLATES = "/api/messaging/templates/"

_numbers = itertools.count(1)


def new_phone() -> str:
    """A fresh Tanzanian mobile number in E.164, unique within the test session."""
    return f"+2557130{next(_numbers):05d}"


def contact_url(contact_id, action: str = "") -> str:
    return f"{CONTACTS}{contact_id}/" + (f"{action}/" if action else "")


def segment_url(segment_id, action: str = "") -> str:
    return f"{SEGMENTS}{segment_id}/" + (f"{action}/" if action else "")


def template_url(template_id, action: str = "") -> str:
    return f"{TEMPLATES}{template_id}/" + (f"{action}/" if action else "")


def import_url(import_id) -> str:
    return f"{IMPORT}{import_id}/"


def unknown_id() -> str:
    return str(uuid.uuid4())


def message_fields(**fields) -> dict:
    """The fields of an outbound SMS to a new number, one GSM-7 segment and one credit, with
    `fields` (status, send, times, text...) over them: for Message(...) or create(...)."""
    defaults = {
        "recipient": new_phone(),
        "sender": "Taarifa-SMS",
        "text": "Hi",
        "encoding": "GSM-7",
        "segments": 1,
        "credits": 1,
    }
    return {**defaults, **fields}


def queued_messages(tenant, count: int) -> list[str]:
    """The ids of `count` messages queued in `tenant`'s schema, as a send leaves them for the
    outbox (one segment, one credit each)."""
    with tenant_context(tenant):
        now = timezone.now()
        messages = Message.objects.bulk_create(
            Message(**message_fields(status=Message.Status.QUEUED, queued_at=now))
            for _ in range(count)
        )
    return [str(m.pk) for m in messages]


def make_contact(tenant, **fields) -> Contact:
    """A contact created directly in `tenant`'s schema."""
    with tenant_context(tenant):
        return Contact.objects.create(**{"phone_e164": new_phone(), **fields})


def make_contacts(tenant, count: int, **fields) -> list[Contact]:
    with tenant_context(tenant):
        return Contact.objects.bulk_create(
            Contact(phone_e164=new_phone(), name=f"Bulk {i}", **fields) for i in range(count)
        )


def make_segment(tenant, **fields) -> Segment:
    with tenant_context(tenant):
        return Segment.objects.create(**{"name": "Segment", **fields})


def make_template(tenant, **fields) -> Template:
    with tenant_context(tenant):
        return Template.objects.create(**{"name": "Template", "content": "Hello", **fields})


def in_tenant(tenant, query):
    """Evaluate `query()` (a callable doing ORM work) inside `tenant`'s schema."""
    with tenant_context(tenant):
        return query()


def xlsx_bytes(rows: list[list]) -> bytes:
    from openpyxl import Workbook

    workbook = Workbook()
    sheet = workbook.active
    for row in rows:
        sheet.append(row)
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


def csv_text(rows: list[list]) -> str:
    buffer = io.StringIO()
    csv.writer(buffer, lineterminator="\n").writerows(rows)
    return buffer.getvalue()
