"""Who a campaign reaches and what reaching them costs (the request's tenant schema): its
`target_criteria` read and checked, its audience (campaign_recipients, campaign_audience) and
the estimate of a start (campaign_estimate). Malformed targets are 400 field errors."""

import uuid
from collections import Counter
from dataclasses import dataclass, field

from django.db.models import Count, Q, QuerySet

from billing.selectors import credits_cost
from messaging.models import Campaign, Contact, Segment, Template
from messaging.segment_filters import SegmentFilterError, segment_filter_q
from messaging.selectors.audience import contacts_live
from messaging.services.templates import (
    CONTACT_VALUE_FIELDS,
    contact_values,
    is_personalised,
    template_render,
)
from mifumo.errors import field_error
from sms.segments import segment_info

# E.164 as stored: a plus, a country code that does not start with 0, 7 to 15 digits in all.
_E164 = r"^\+[1-9][0-9]{6,14}$"

# target_criteria: what each key does. `tags`, `attributes` and `custom_fields` (the
# dashboard's name for an attributes filter) are ANDed into one target; `groups` are segment
# ids, each a target like target_segment_ids; `opt_in_status` only restricts.
CRITERIA_KEYS = ("tags", "attributes", "custom_fields", "groups", "opt_in_status")
_CRITERIA_RULES = {"tags": "tags", "attributes": "attributes", "custom_fields": "attributes"}
# opt_in_status: `opted_in` keeps the contacts whose consent stands (not opted out), which
# every campaign requires already; `any` (or `all`, or blank) restricts nothing.
OPT_IN_STATUSES = ("opted_in", "any", "all")


def _blank(value) -> bool:
    return value is None or (isinstance(value, str | list | dict) and not value)


def _criteria(criteria) -> tuple[Q | None, list[uuid.UUID]]:
    """`target_criteria` as (the contacts it matches, or None when it names none; the segment
    ids of its `groups`). Blank keys are left out: an emptied form field targets nobody.

    `opt_in_status` never adds contacts, so criteria with only it target nobody; it cannot
    ask for opted-out contacts, whom no campaign messages.
    """
    if _blank(criteria):
        return None, []
    if not isinstance(criteria, dict):
        raise field_error("target_criteria", "must be a JSON object")
    unknown = sorted(set(criteria) - set(CRITERIA_KEYS))
    if unknown:
        raise field_error("target_criteria", f"unknown keys {unknown}; use {list(CRITERIA_KEYS)}")
    opt_in = criteria.get("opt_in_status")
    if not _blank(opt_in) and opt_in not in OPT_IN_STATUSES:
        raise field_error(
            "target_criteria",
            f"opt_in_status is one of {', '.join(OPT_IN_STATUSES)}: opted-out contacts are "
            "never messaged",
        )
    match = None
    for key, rule in _CRITERIA_RULES.items():
        if _blank(criteria.get(key)):
            continue
        try:
            query = segment_filter_q({rule: criteria[key]})
        except SegmentFilterError as exc:
            raise field_error("target_criteria", f"{key} {exc.errors[rule]}") from exc
        match = query if match is None else match & query
    return match, _group_ids(criteria.get("groups"))


def _group_ids(groups) -> list[uuid.UUID]:
    if _blank(groups):
        return []
    try:
        if not isinstance(groups, list):
            raise TypeError
        return [uuid.UUID(str(group)) for group in groups]
    except (TypeError, ValueError) as exc:
        raise field_error("target_criteria", "groups must be a list of segment ids") from exc


@dataclass
class Audience:
    """The contacts a campaign reaches, and why the others were left out."""

    recipients: QuerySet[Contact]
    total: int
    explanations: list[str] = field(default_factory=list)


def _targets(contact_ids, segment_ids, criteria) -> list[Q]:
    """Each target as a contact filter: the listed contacts, each segment (of
    target_segment_ids and of the criteria's groups), the criteria."""
    criteria_q, groups = _criteria(criteria)
    segment_ids = set(segment_ids or [])
    segments = list(Segment.objects.filter(pk__in=segment_ids | set(groups)))
    missing = (segment_ids | set(groups)) - {segment.pk for segment in segments}
    if missing & segment_ids:
        raise field_error("target_segment_ids", "Some segments do not exist.")
    if missing:
        raise field_error("target_criteria", "Some groups are not segments of this account.")
    targets = [Q(pk__in=contact_ids)] if contact_ids else []
    targets += [segment_filter_q(segment.filter_json) for segment in segments]
    if criteria_q is not None:
        targets.append(criteria_q)
    if not targets:
        raise field_error("target_contact_ids", "Target contacts, segments or criteria.")
    return targets


_OPTED_OUT = Q(is_opted_in=False, opt_out_at__isnull=False)


def _matched(targets: list[Q]) -> QuerySet[Contact]:
    """The live contacts any target matches, each once."""
    union = Q()
    for target in targets:
        union |= target
    return contacts_live().filter(union)


def _reachable(matched: QuerySet[Contact]) -> QuerySet[Contact]:
    return matched.filter(is_active=True, phone_e164__regex=_E164).exclude(_OPTED_OUT)


def campaign_targets(campaign: Campaign) -> dict:
    """The campaign's targets as the keyword arguments of campaign_audience and
    campaign_recipients."""
    return {
        "contact_ids": campaign.target_contact_ids,
        "segment_ids": campaign.target_segment_ids,
        "criteria": campaign.target_criteria,
    }


def campaign_recipients(*, contact_ids, segment_ids, criteria) -> QuerySet[Contact]:
    """The contacts a campaign reaches (a queryset, each contact once): the union of the
    three targets without inactive, opted-out or impossible numbers."""
    return _reachable(_matched(_targets(contact_ids, segment_ids, criteria)))


def campaign_audience(*, contact_ids, segment_ids, criteria) -> Audience:
    """campaign_recipients with how many they are and why the others were left out. A
    handful of counts, whatever the audience's size."""
    live = contacts_live()
    contact_ids = list(dict.fromkeys(contact_ids or []))
    targets = _targets(contact_ids, segment_ids, criteria)
    matched = _matched(targets)
    listed = sum(live.filter(target).count() for target in targets)
    counts = matched.aggregate(
        union=Count("id"),
        inactive=Count("id", filter=Q(is_active=False)),
        opted_out=Count("id", filter=Q(is_active=True) & _OPTED_OUT),
        invalid=Count("id", filter=Q(is_active=True) & ~_OPTED_OUT & ~Q(phone_e164__regex=_E164)),
    )
    unknown = len(contact_ids) - live.filter(pk__in=contact_ids).count()
    explanations = [
        f"Duplicates removed: {listed - counts['union']}",
        f"Opted-out contacts excluded: {counts['opted_out']}",
        f"Inactive contacts excluded: {counts['inactive']}",
        f"Invalid numbers excluded: {counts['invalid']}",
    ]
    if unknown:
        explanations.append(f"Unknown or deleted contacts ignored: {unknown}")
    total = counts["union"] - counts["inactive"] - counts["opted_out"] - counts["invalid"]
    return Audience(recipients=_reachable(matched), total=total, explanations=explanations)


@dataclass(frozen=True)
class Estimate:
    total_recipients: int
    credits: int
    segments_per_message: int
    explanations: list[str]

    @property
    def cost(self) -> float:
        return float(credits_cost(self.credits))


def campaign_estimate(*, audience: Audience, text: str, template: Template | None) -> Estimate:
    """What a start would cost: each recipient's text (the template's or the message's, its
    variables filled per contact) in segments. A variable a contact lacks renders empty and
    is counted."""
    explanations = list(audience.explanations)
    content = template.content if template is not None else text
    if not is_personalised(content):
        segments = segment_info(content).segments
        return Estimate(audience.total, segments * audience.total, segments, explanations)
    credits, longest, missing = 0, 0, Counter[str]()
    rows = audience.recipients.order_by().values_list(*CONTACT_VALUE_FIELDS)
    for row in rows.iterator(chunk_size=20_000):
        rendered, lacking = template_render(content, contact_values(*row))
        segments = segment_info(rendered).segments
        credits, longest = credits + segments, max(longest, segments)
        missing.update(lacking)
    explanations += [f"Contacts missing {{{{{name}}}}}: {n}" for name, n in sorted(missing.items())]
    return Estimate(audience.total, credits, longest, explanations)
