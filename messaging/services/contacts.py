"""Contact writes: upsert by phone then email, update, soft delete, opt-in and opt-out, and
the bulk delete and tagging of a set of contacts."""

from django.contrib.postgres.fields import ArrayField
from django.db import IntegrityError, models, transaction
from django.db.models import F, Func, Q, Value
from django.utils import timezone
from rest_framework import status

from messaging.models import Contact
from mifumo.errors import ApplicationError, ErrorCode


def normalize_tags(tags) -> list[str]:
    """Trimmed, lower-cased, de-duplicated, in their first order."""
    return list(dict.fromkeys(t.strip().lower() for t in tags if t and t.strip()))


def _email_taken_error(email: str) -> ApplicationError:
    message = f"Another contact already uses {email}."
    return ApplicationError(message, code=ErrorCode.VALIDATION_ERROR, errors={"email": [message]})


def _check_email_free(email: str, contact_id) -> None:
    if email and Contact.objects.filter(email=email).exclude(pk=contact_id).exists():
        raise _email_taken_error(email)


def contact_upsert(*, data: dict, created_by=None) -> tuple[Contact, bool]:
    """Create the contact, or update the one with this phone (else this email).

    Returns (contact, upserted); a soft-deleted match is brought back and counts as created.
    """
    try:
        with transaction.atomic():
            return _contact_upsert(data, created_by)
    except IntegrityError:  # a concurrent request created the same phone or email first
        with transaction.atomic():
            return _contact_upsert(data, created_by)


def _contact_upsert(data: dict, created_by) -> tuple[Contact, bool]:
    email = data.get("email", "")
    match = Contact.objects.select_for_update().filter(phone_e164=data["phone_e164"]).first()
    if match is None and email:
        match = Contact.objects.select_for_update().filter(email=email).first()
    if match is None:
        contact = Contact(created_by=created_by, **data)
        contact.save()
        return contact, False
    was_live = match.deleted_at is None
    _check_email_free(email, match.pk)
    for field, value in data.items():
        setattr(match, field, value)
    match.deleted_at = None
    match.save()
    return match, was_live


@transaction.atomic
def contact_update(*, contact: Contact, data: dict) -> Contact:
    phone = data.get("phone_e164", contact.phone_e164)
    if Contact.objects.filter(phone_e164=phone).exclude(pk=contact.pk).exists():
        message = f"Another contact already uses {phone}."
        raise ApplicationError(
            message, code=ErrorCode.VALIDATION_ERROR, errors={"phone_e164": [message]}
        )
    _check_email_free(data.get("email", ""), contact.pk)
    for field, value in data.items():
        setattr(contact, field, value)
    contact.save()
    return contact


def contact_delete(*, contact: Contact) -> None:
    contact.deleted_at = timezone.now()
    contact.save(update_fields=["deleted_at", "updated_at"])


def contact_opt_in(*, contact: Contact) -> Contact:
    contact.is_opted_in = True
    contact.opt_in_at = timezone.now()
    contact.opt_out_at = None
    contact.opt_out_reason = ""
    contact.save(
        update_fields=["is_opted_in", "opt_in_at", "opt_out_at", "opt_out_reason", "updated_at"]
    )
    return contact


def contact_opt_out(*, contact: Contact, reason: str = "") -> Contact:
    contact.is_opted_in = False
    contact.opt_out_at = timezone.now()
    contact.opt_out_reason = reason
    contact.save(update_fields=["is_opted_in", "opt_out_at", "opt_out_reason", "updated_at"])
    return contact


# --- Bulk: one statement for the whole set, whatever its size


def _live_set(contact_ids) -> list:
    """The ids, each once, after checking they are all live contacts of this tenant (one
    query); otherwise a 404 that lists the missing ones, and nothing changes."""
    wanted = list(dict.fromkeys(contact_ids))
    found = set(
        Contact.objects.filter(pk__in=wanted, deleted_at__isnull=True).values_list("pk", flat=True)
    )
    missing = [str(pk) for pk in wanted if pk not in found]
    if missing:
        raise ApplicationError(
            f"{len(missing)} contact(s) not found.",
            code=ErrorCode.NOT_FOUND,
            status_code=status.HTTP_404_NOT_FOUND,
            details={"not_found": missing},
        )
    return wanted


@transaction.atomic
def contacts_bulk_delete(*, contact_ids) -> int:
    """Soft-delete these contacts (as contact_delete does one) in one UPDATE."""
    ids = _live_set(contact_ids)
    now = timezone.now()
    return Contact.objects.filter(pk__in=ids, deleted_at__isnull=True).update(
        deleted_at=now, updated_at=now
    )


class _TagsRewrite(Func):
    """A contact's `tags` rewritten with a list of given tags, as `template` says, in SQL: one
    UPDATE rewrites a whole set of contacts."""

    output_field = ArrayField(models.CharField(max_length=64))

    def __init__(self, given: list[str]):
        super().__init__(F("tags"), Value(given, output_field=self.output_field))

    def as_sql(self, compiler, connection, **extra_context):
        (tags, tags_params), (given, given_params) = (
            compiler.compile(expression) for expression in self.get_source_expressions()
        )
        # `tags` is a column, with no parameters: the given tags' are the only ones.
        return self.template % {"tags": tags, "given": given}, (*tags_params, *given_params)


class _TagsAdded(_TagsRewrite):
    """The given tags a contact lacks appended to its own, both in their order."""

    template = (
        "%(tags)s || ARRAY(SELECT t FROM unnest(%(given)s::varchar(64)[]) "
        "WITH ORDINALITY AS n(t, i) WHERE t <> ALL(%(tags)s) ORDER BY i)"
    )


class _TagsRemoved(_TagsRewrite):
    """A contact's tags without the given ones, in their order."""

    template = (
        "ARRAY(SELECT t FROM unnest(%(tags)s) WITH ORDINALITY AS n(t, i) "
        "WHERE t <> ALL(%(given)s::varchar(64)[]) ORDER BY i)"
    )


@transaction.atomic
def contacts_bulk_add_tags(*, contact_ids, tags: list[str]) -> int:
    """Add normalised `tags` to these contacts in one UPDATE; returns how many changed (a
    contact that has them all already is left as it is)."""
    ids = _live_set(contact_ids)
    return (
        Contact.objects.filter(pk__in=ids, deleted_at__isnull=True)
        .exclude(tags__contains=tags)
        .update(tags=_TagsAdded(tags), updated_at=timezone.now())
    )


@transaction.atomic
def contacts_bulk_remove_tags(*, contact_ids, tags: list[str]) -> int:
    """Remove normalised `tags` from these contacts in one UPDATE; returns how many changed."""
    ids = _live_set(contact_ids)
    return Contact.objects.filter(
        Q(tags__overlap=tags), pk__in=ids, deleted_at__isnull=True
    ).update(tags=_TagsRemoved(tags), updated_at=timezone.now())
