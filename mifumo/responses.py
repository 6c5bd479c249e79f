"""The success envelope every non-auth endpoint answers with (DESIGN section 3)."""

from typing import Any

from rest_framework import status as http_status
from rest_framework.response import Response


def envelope(
    data: Any = None,
    message: str = "OK",
    status: int = http_status.HTTP_200_OK,
    details: Any = None,
    **kwargs: Any,
) -> Response:
    body = {
        "success": True,
        "message": message,
        "data": data,
        "error_code": None,
        "details": details,
    }
    return Response(body, status=status, **kwargs)
