"""Reads every app shares."""

from typing import TypeVar

from django.core.exceptions import ObjectDoesNotExist
from django.db.models import Model, QuerySet
from rest_framework import status

from mifumo.errors import ApplicationError, ErrorCode

ModelT = TypeVar("ModelT", bound=Model)


def get_or_404(queryset: QuerySet[ModelT], pk: object, label: str) -> ModelT:
    """The row of `queryset` with this primary key, or the uniform 404 NOT_FOUND (also for a
    malformed id, and for another tenant's row, which the queryset never holds)."""
    try:
        return queryset.get(pk=pk)
    except (ObjectDoesNotExist, ValueError, TypeError) as exc:  # the model's DoesNotExist is one
        raise ApplicationError(
            f"{label} not found.", code=ErrorCode.NOT_FOUND, status_code=status.HTTP_404_NOT_FOUND
        ) from exc
