"""Reads every app shares."""

from rest_framework import status

from mifumo.errors import ApplicationError, ErrorCode


def get_or_404(queryset, pk, label: str):
    """The row of `queryset` with this primary key, or the uniform 404 NOT_FOUND (also for a
    malformed id, and for another tenant's row, which the queryset never holds)."""
    try:
        return queryset.get(pk=pk)
    except (queryset.model.DoesNotExist, ValueError, TypeError) as exc:
        raise ApplicationError(
            f"{label} not found.", code=ErrorCode.NOT_FOUND, status_code=status.HTTP_404_NOT_FOUND
        ) from exc
