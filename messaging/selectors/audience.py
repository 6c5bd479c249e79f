"""Reads of contacts, segments, templates and contact imports (the request's tenant schema)."""

from django.db.models import QuerySet, Value
from django.db.models.functions import Upper

from messaging.models import (
    CONTACT_SEARCH_TEXT,
    SEARCH_FIELD_SEPARATOR,
    Contact,
    ContactImport,
    Segment,
    Template,
)
from messaging.segment_filters import segment_filter_q
from mifumo.selectors import get_or_404


def contacts_live():
    return Contact.objects.filter(deleted_at__isnull=True)


def contact_get(*, contact_id) -> Contact:
    return get_or_404(contacts_live(), contact_id, "Contact")


def contact_search(queryset, term: str):
    """Case-insensitive substring match on name, phone or email (trigram-indexed).

    Postgres upper-cases both sides, so letters Python would expand (ß -> SS) compare alike.
    """
    term = term.replace(SEARCH_FIELD_SEPARATOR, "").strip()
    if not term:
        return queryset
    matches = queryset.alias(search_text=CONTACT_SEARCH_TEXT)
    return matches.filter(search_text__contains=Upper(Value(term)))


def segment_get(*, segment_id) -> Segment:
    return get_or_404(Segment.objects.all(), segment_id, "Segment")


def segment_members(segment: Segment) -> QuerySet[Contact]:
    """The live contacts a segment's filter selects."""
    return contacts_live().filter(segment_filter_q(segment.filter_json))


def template_get(*, template_id) -> Template:
    return get_or_404(Template.objects.all(), template_id, "Template")


def contact_import_get(*, import_id) -> ContactImport:
    return get_or_404(ContactImport.objects.all(), import_id, "Import")
