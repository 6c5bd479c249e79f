"""Segment writes. A segment's count is stored so reading it is cheap; every write recounts."""

from django.utils import timezone
from rest_framework import status

from messaging.models import Segment
from messaging.segment_filters import SegmentFilterError, segment_filter_q
from messaging.selectors import segment_members
from mifumo.errors import ApplicationError, ErrorCode


def _checked_filter(filter_json) -> dict:
    try:
        segment_filter_q(filter_json)
    except SegmentFilterError as exc:
        raise ApplicationError(
            "The segment filter is not valid.",
            code=ErrorCode.INVALID_SEGMENT_FILTER,
            status_code=status.HTTP_400_BAD_REQUEST,
            details=exc.errors,
            errors={"filter_json": [f"{key}: {message}" for key, message in exc.errors.items()]},
        ) from exc
    return filter_json


def segment_count_refresh(*, segment: Segment) -> Segment:
    segment.contact_count = segment_members(segment).count()
    segment.counted_at = timezone.now()
    segment.save(update_fields=["contact_count", "counted_at", "updated_at"])
    return segment


def segment_create(*, name: str, description: str = "", filter_json=None, created_by=None):
    segment = Segment(
        name=name,
        description=description,
        filter_json=_checked_filter({} if filter_json is None else filter_json),
        created_by=created_by,
    )
    segment.save()
    return segment_count_refresh(segment=segment)


def segment_update(*, segment: Segment, data: dict) -> Segment:
    if "filter_json" in data:
        filter_json = data["filter_json"]
        data = {**data, "filter_json": _checked_filter({} if filter_json is None else filter_json)}
    for field, value in data.items():
        setattr(segment, field, value)
    segment.save()
    return segment_count_refresh(segment=segment)


def segment_delete(*, segment: Segment) -> None:
    segment.delete()
