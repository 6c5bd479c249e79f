"""Reads of the messaging app. Every query runs in the request's tenant schema."""

from django.db.models import Value
from django.db.models.functions import Upper
from rest_framework import status

from messaging.models import (
    CONTACT_SEARCH_TEXT,
    SEARCH_FIELD_SEPARATOR,
    Contact,
    ContactImport,
    Segment,
    Template,
)
from mifumo.errors import ApplicationError, ErrorCode


def _get_or_404(queryset, pk, label: str):
    try:
        return queryset.get(pk=pk)
    except (queryset.model.DoesNotExist, ValueError, TypeError) as exc:
        raise ApplicationError(
            f"{label} not found.", code=ErrorCode.NOT_FOUND, status_code=status.HTTP_404_NOT_FOUND
        ) from exc


def contacts_live():
    return Contact.objects.filter(deleted_at__isnull=True)


def contact_get(*, contact_id) -> Contact:
    return _get_or_404(contacts_live(), contact_id, "Contact")


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
    return _get_or_404(Segment.objects.all(), segment_id, "Segment")


def template_get(*, template_id) -> Template:
    return _get_or_404(Template.objects.all(), template_id, "Template")


def contact_import_get(*, import_id) -> ContactImport:
    return _get_or_404(ContactImport.objects.all(), import_id, "Import")
