"""The segment filter language: a JSON object whose keys are ANDed together.

    {"tags": ["vip"]}                 any of these tags (also "tags_any")
    {"tags_all": ["vip", "retail"]}   every one of these tags
    {"is_active": true, "is_opted_in": false}
    {"attributes": {"city": "Arusha", "tier": 2}}   attribute equality
    {"created_after": "2026-01-01", "created_before": "2026-06-30T12:00:00Z"}
    {"last_contacted_before": "2026-11-01"}         (never-contacted contacts included)

Unknown keys and badly typed values are refused with a message per key.
"""

from datetime import datetime, time

from django.db.models import Q
from django.utils import timezone
from django.utils.dateparse import parse_date, parse_datetime


class SegmentFilterError(ValueError):
    def __init__(self, errors: dict[str, str]):
        super().__init__("; ".join(f"{k}: {v}" for k, v in errors.items()))
        self.errors = errors


def _tags(value) -> list[str]:
    if not isinstance(value, list) or not all(isinstance(t, str) and t.strip() for t in value):
        raise ValueError("must be a list of tag names")
    return sorted({t.strip().lower() for t in value})


def _boolean(value) -> bool:
    if not isinstance(value, bool):
        raise ValueError("must be true or false")
    return value


def _moment(value) -> datetime:
    if isinstance(value, str):
        moment = parse_datetime(value)
        if moment is None and (day := parse_date(value)) is not None:
            moment = datetime.combine(day, time.min)
        if moment is not None:
            return moment if timezone.is_aware(moment) else timezone.make_aware(moment)
    raise ValueError("must be an ISO date or date-time")


def _attributes(value) -> dict:
    if not isinstance(value, dict) or not all(
        isinstance(v, str | int | float | bool) for v in value.values()
    ):
        raise ValueError("must be an object of attribute names to text, number or boolean")
    return value


_RULES = {
    "tags": lambda v: Q(tags__overlap=_tags(v)),
    "tags_any": lambda v: Q(tags__overlap=_tags(v)),
    "tags_all": lambda v: Q(tags__contains=_tags(v)),
    "is_active": lambda v: Q(is_active=_boolean(v)),
    "is_opted_in": lambda v: Q(is_opted_in=_boolean(v)),
    "attributes": lambda v: Q(attributes__contains=_attributes(v)),
    "created_after": lambda v: Q(created_at__gte=_moment(v)),
    "created_before": lambda v: Q(created_at__lt=_moment(v)),
    "last_contacted_before": lambda v: (
        Q(last_contacted_at__lt=_moment(v)) | Q(last_contacted_at__isnull=True)
    ),
}
FILTER_KEYS = tuple(_RULES)


def segment_filter_q(filter_json) -> Q:
    """The contact filter for `filter_json`; raises SegmentFilterError naming each bad key."""
    if not isinstance(filter_json, dict):
        raise SegmentFilterError({"filter_json": "must be a JSON object"})
    errors, query = {}, Q()
    for key, value in filter_json.items():
        rule = _RULES.get(key)
        if rule is None:
            errors[key] = f"unknown filter; use one of {', '.join(FILTER_KEYS)}"
            continue
        try:
            query &= rule(value)
        except ValueError as exc:
            errors[key] = str(exc)
    if errors:
        raise SegmentFilterError(errors)
    return query
