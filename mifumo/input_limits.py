"""Bounds on what a request may carry, checked before any view trusts it.

- Size: a body over REQUEST_MAX_BYTES is refused with 413 before it is read.
- Nesting: JSON deeper than JSON_MAX_DEPTH is refused with 400 (Python's parser would hit its
  recursion limit near 1,000 and fail as a 500; nothing Mifumo stores nests anywhere near 32).
- Characters: NUL and lone UTF-16 surrogates are refused with 400 in every JSON or form string
  (keys included) and in the query string and path. Postgres can store neither in text or
  jsonb, so letting them through turns a client's mistake into a server error at the database.
- Page numbers: PageNumberField clamps them, so no page turns into an offset past bigint.
"""

import json
import re

from django.conf import settings
from django.http import JsonResponse
from rest_framework import parsers, serializers

from mifumo.errors import ApplicationError, ErrorCode, error_body

_BAD_CHARACTERS = re.compile("[\x00\ud800-\udfff]")
BAD_CHARACTERS_MESSAGE = "Text may not contain NUL characters or lone surrogates."


def has_bad_characters(text: str) -> bool:
    return _BAD_CHARACTERS.search(text) is not None


def json_value_check(value) -> None:
    """Raise a 400 ApplicationError if `value` (parsed JSON) nests too deep or holds a string
    with a NUL or a lone surrogate. Iterative, so its own depth is no limit."""
    limit = settings.JSON_MAX_DEPTH
    stack = [(value, 1)]
    while stack:
        item, depth = stack.pop()
        if isinstance(item, str):
            if has_bad_characters(item):
                raise ApplicationError(BAD_CHARACTERS_MESSAGE, code=ErrorCode.INVALID_CHARACTERS)
            continue
        if not isinstance(item, dict | list):
            continue
        if depth > limit:
            raise _too_deep()
        if isinstance(item, dict):
            stack.extend((key, depth) for key in item)
            stack.extend((child, depth + 1) for child in item.values())
        else:
            stack.extend((child, depth + 1) for child in item)


def _too_deep() -> ApplicationError:
    return ApplicationError(
        f"JSON may nest at most {settings.JSON_MAX_DEPTH} levels deep.",
        code=ErrorCode.NESTING_TOO_DEEP,
    )


def json_loads_bounded(text: str | bytes):
    """json.loads, then json_value_check; a ValueError for what is not JSON at all."""
    try:
        value = json.loads(text)
    except RecursionError:
        raise _too_deep() from None
    json_value_check(value)
    return value


class BoundedJSONParser(parsers.JSONParser):
    def parse(self, stream, media_type=None, parser_context=None):
        try:
            data = super().parse(stream, media_type, parser_context)
        except RecursionError:
            raise _too_deep() from None
        json_value_check(data)
        return data


def _form_check(data) -> None:
    for key, values in data.lists():
        if has_bad_characters(key) or any(
            isinstance(v, str) and has_bad_characters(v) for v in values
        ):
            raise ApplicationError(BAD_CHARACTERS_MESSAGE, code=ErrorCode.INVALID_CHARACTERS)


class BoundedFormParser(parsers.FormParser):
    def parse(self, stream, media_type=None, parser_context=None):
        data = super().parse(stream, media_type, parser_context)
        _form_check(data)
        return data


class BoundedMultiPartParser(parsers.MultiPartParser):
    def parse(self, stream, media_type=None, parser_context=None):
        result = super().parse(stream, media_type, parser_context)
        _form_check(result.data)
        return result


class RequestLimitsMiddleware:
    """413 for a body over REQUEST_MAX_BYTES, 400 for a NUL or lone surrogate in the path or
    the query string, in the envelope, before anything reads the request."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        try:
            length = int(request.META.get("CONTENT_LENGTH") or 0)
        except ValueError:
            length = 0
        if length > settings.REQUEST_MAX_BYTES:
            megabytes = settings.REQUEST_MAX_BYTES // (1024 * 1024)
            body = error_body(
                f"The request body is larger than {megabytes} MB.", ErrorCode.PAYLOAD_TOO_LARGE
            )
            return JsonResponse(body, status=413)
        query = request.GET
        if has_bad_characters(request.path) or any(
            has_bad_characters(key) or any(has_bad_characters(v) for v in values)
            for key, values in query.lists()
        ):
            body = error_body(BAD_CHARACTERS_MESSAGE, ErrorCode.INVALID_CHARACTERS)
            return JsonResponse(body, status=400)
        return self.get_response(request)


class PageNumberField(serializers.IntegerField):
    """A page number: at least 1; past PAGE_NUMBER_MAX it is that page (an empty one)."""

    def __init__(self, **kwargs):
        kwargs.setdefault("min_value", 1)
        kwargs.setdefault("default", 1)
        kwargs.setdefault("required", False)
        super().__init__(**kwargs)

    def to_internal_value(self, data):
        if isinstance(data, str) and len(data) > 50:
            self.fail("invalid")
        return min(super().to_internal_value(data), settings.PAGE_NUMBER_MAX)
