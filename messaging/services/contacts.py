"""Contact writes: upsert by phone then email, update, soft delete, opt-in and opt-out."""

from django.db import IntegrityError, transaction
from django.utils import timezone

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
