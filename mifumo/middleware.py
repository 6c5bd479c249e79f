"""Turns any non-JSON error page (Django's 404, 500, 400 for a bad Host) into the envelope.

DRF views already answer through mifumo.errors; this covers what happens outside them:
unknown URLs, errors raised in middleware and Django's own debug pages. The admin keeps its
HTML pages, since people read them.
"""

from django.http import JsonResponse
from django.urls import Resolver404, resolve

from mifumo.errors import ErrorCode, error_body

_STATUS_ERRORS = {
    400: (ErrorCode.MALFORMED_REQUEST, "Bad request."),
    403: (ErrorCode.PERMISSION_DENIED, "Permission denied."),
    404: (ErrorCode.NOT_FOUND, "Not found."),
    405: (ErrorCode.METHOD_NOT_ALLOWED, "Method not allowed."),
}
_HTML_PREFIXES = ("/admin/",)
_BODY_HEADERS = {"content-type", "content-length"}


class JsonErrorMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        response = self.get_response(request)
        if response.status_code < 400 or request.path.startswith(_HTML_PREFIXES):
            return response
        if response.get("Content-Type", "").startswith("application/json"):
            return response
        code, message = _STATUS_ERRORS.get(
            response.status_code,
            (ErrorCode.INTERNAL_ERROR, "Internal server error."),
        )
        if response.status_code == 404 and _resolves(request.path + "/", request):
            message = f"Not found. Did you mean {request.path}/ (with the trailing slash)?"
        envelope = JsonResponse(error_body(message, code), status=response.status_code)
        for header, value in response.items():
            if header.lower() not in _BODY_HEADERS:
                envelope[header] = value
        return envelope


def _resolves(path: str, request) -> bool:
    try:
        resolve(path, getattr(request, "urlconf", None))
    except Resolver404:
        return False
    return True
