"""Template writes and rendering. Placeholders are {{name}}; variables are read from the text."""

import re

from django.db import transaction

from messaging.models import Channel, Contact, Template
from sms.segments import segment_info

VARIABLE_RE = re.compile(r"{{\s*([A-Za-z_][\w.]*)\s*}}")


def template_variables(content: str) -> list[str]:
    return list(dict.fromkeys(VARIABLE_RE.findall(content)))


def is_personalised(content: str) -> bool:
    """True when the text has placeholders to fill per recipient."""
    return VARIABLE_RE.search(content) is not None


def template_render(content: str, values: dict) -> tuple[str, list[str]]:
    """The text with each placeholder filled; a missing value renders empty and is listed."""
    missing = []

    def fill(match):
        value = values.get(match.group(1))
        if value is None or value == "":
            missing.append(match.group(1))
            return ""
        return str(value)

    return VARIABLE_RE.sub(fill, content), list(dict.fromkeys(missing))


def contact_variables(contact: Contact) -> dict:
    return contact_values(contact.phone_e164, contact.name, contact.email, contact.attributes)


def contact_values(phone_e164: str, name: str, email: str, attributes: dict) -> dict:
    """What a template can use of a contact: its attributes, name parts, number and email."""
    first_name, _, last_name = name.partition(" ")
    return {
        **attributes,
        "name": name,
        "first_name": first_name,
        "last_name": last_name,
        "phone": phone_e164,
        "phone_e164": phone_e164,
        "email": email,
    }


# The contact fields contact_values reads, in its argument order.
CONTACT_VALUE_FIELDS = ("phone_e164", "name", "email", "attributes")
# The variables every contact fills, whatever its attributes.
CONTACT_VARIABLES = frozenset(contact_values("", "", "", {}))


def template_variables_describe(template: Template) -> dict:
    """The template's variables, split into those every contact fills and the others (read
    from a contact's attributes, or given at preview)."""
    variables = template_variables(template.content)
    return {
        "template_id": template.pk,
        "variables": variables,
        "contact_fields": [name for name in variables if name in CONTACT_VARIABLES],
        "attribute_fields": [name for name in variables if name not in CONTACT_VARIABLES],
    }


def _approval_for(channel: str) -> str:
    # Meta reviews WhatsApp templates; SMS text needs no review.
    if channel == Channel.WHATSAPP:
        return Template.ApprovalStatus.PENDING
    return Template.ApprovalStatus.APPROVED


def template_create(*, data: dict, created_by=None) -> Template:
    template = Template(created_by=created_by, **data)
    template.variables = template_variables(template.content)
    template.approval_status = _approval_for(template.channel)
    template.save()
    return template


def template_update(*, template: Template, data: dict) -> Template:
    for field, value in data.items():
        setattr(template, field, value)
    template.variables = template_variables(template.content)
    if {"content", "channel"} & data.keys():
        template.approval_status = _approval_for(template.channel)
    template.save()
    return template


def template_delete(*, template: Template) -> None:
    template.delete()


@transaction.atomic
def template_favorite_set(*, template: Template, is_favorite: bool | None = None) -> Template:
    """Mark or unmark a favourite; None toggles it (the row is locked, so two toggles at once
    flip it twice)."""
    template = Template.objects.select_for_update().get(pk=template.pk)
    template.is_favorite = (not template.is_favorite) if is_favorite is None else is_favorite
    template.save(update_fields=["is_favorite"])
    return template


def template_preview(*, template: Template, values: dict) -> dict:
    text, missing = template_render(template.content, values)
    info = segment_info(text)
    return {
        "text": text,
        "encoding": info.encoding,
        "characters": info.units,
        "segments": info.segments,
        "missing_variables": missing,
    }
