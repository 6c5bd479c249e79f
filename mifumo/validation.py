"""Request body and query string validation shared by the views."""

from typing import Any

from rest_framework.request import Request
from rest_framework.serializers import BaseSerializer


def validated(
    serializer_class: type[BaseSerializer], request: Request, *, partial: bool = False
) -> dict[str, Any]:
    """The request body checked by `serializer_class` (a partial body when `partial`);
    a failure is the 400 envelope. The serializer sees the request in its context."""
    serializer = serializer_class(data=request.data, partial=partial, context={"request": request})
    serializer.is_valid(raise_exception=True)
    return serializer.validated_data


def validated_query(serializer_class: type[BaseSerializer], request: Request) -> dict[str, Any]:
    """The query string checked by `serializer_class`; a failure is the 400 envelope."""
    serializer = serializer_class(data=request.query_params.dict())
    serializer.is_valid(raise_exception=True)
    return serializer.validated_data
