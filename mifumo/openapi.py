"""Documents routes for drf-yasg with their real bodies: the envelope around each payload."""

from collections.abc import Callable
from typing import Any, TypeVar

from django.core.exceptions import FieldDoesNotExist
from drf_yasg import openapi
from drf_yasg.inspectors import FieldInspector
from drf_yasg.utils import swagger_auto_schema
from rest_framework import serializers

ViewMethod = TypeVar("ViewMethod", bound=Callable[..., Any])


class FieldErrorsField(serializers.DictField):
    """Field -> messages, as DRF reports them: a nested object or a list field maps to its own
    errors in the same shape, e.g. `{"tags": {"0": ["..."]}}` or `{"items": [{}, {"x": [...]}]}`.
    """

    class Meta:
        # Swagger 2.0 has no oneOf for "a list of messages or nested errors": leave it untyped.
        swagger_schema_fields = {
            "additional_properties": {
                "description": "A list of messages, or a nested field's errors in this shape"
            }
        }


def _may_render_blank(field) -> bool:
    """Whether a read-only string field can answer "". A declared field says so with
    `allow_blank`; DRF drops that flag from the read-only fields it builds from a model, so for
    those the model field's `blank` answers."""
    serializer = field.parent
    model = getattr(getattr(serializer, "Meta", None), "model", None)
    if model is None or field.field_name in getattr(serializer, "_declared_fields", {}):
        return field.allow_blank
    try:
        return model._meta.get_field(field.source).blank
    except FieldDoesNotExist:
        return field.allow_blank


class ReadOnlyBlankStrings(FieldInspector):
    """Documents a read-only string that may be blank without `minLength: 1` (drf-yasg's reading
    of the dropped `allow_blank`) and without an email or URI format that "" fails."""

    def process_result(self, result, method_name, obj, **kwargs):
        if (
            isinstance(result, openapi.Schema)
            and result.get("type") == openapi.TYPE_STRING
            and isinstance(obj, serializers.CharField)
            and obj.read_only
            and _may_render_blank(obj)
        ):
            result.pop("minLength", None)
            if result.get("format") in (openapi.FORMAT_EMAIL, openapi.FORMAT_URI):
                result.pop("format")
        return result


class ErrorEnvelopeSerializer(serializers.Serializer):
    success = serializers.BooleanField(default=False)
    message = serializers.CharField()
    # The envelope's keys `data` and `errors` are also names of Serializer properties.
    data = serializers.JSONField(allow_null=True, default=None)  # type: ignore[assignment]
    error_code = serializers.CharField(help_text="Stable code from mifumo.errors.ErrorCode")
    details = serializers.JSONField(allow_null=True)
    errors = FieldErrorsField(  # type: ignore[assignment]
        required=False, help_text="Field errors, on VALIDATION_ERROR only"
    )


_envelopes: dict[tuple, type[serializers.Serializer]] = {}


def _page_of(item: type[serializers.BaseSerializer]) -> type[serializers.Serializer]:
    name = item.__name__.removesuffix("Serializer") + "PageSerializer"
    return type(
        name,
        (serializers.Serializer,),
        {
            "results": item(many=True),
            "count": serializers.IntegerField(),
            "next": serializers.URLField(allow_null=True),
            "previous": serializers.URLField(allow_null=True),
        },
    )


def enveloped(
    payload: type[serializers.BaseSerializer] | None, *, paginated: bool = False
) -> type[serializers.Serializer]:
    """A serializer class describing {success, message, data: payload, error_code, details}."""
    key = (payload, paginated)
    if key not in _envelopes:
        data: serializers.Field = serializers.JSONField(allow_null=True, default=None)
        base = "Empty"
        if payload is not None:
            data = (_page_of(payload) if paginated else payload)()
            base = payload.__name__.removesuffix("Serializer")
        _envelopes[key] = type(
            f"{base}{'Page' if paginated else ''}EnvelopeSerializer",
            (serializers.Serializer,),
            {
                "success": serializers.BooleanField(default=True),
                "message": serializers.CharField(),
                "data": data,
                "error_code": serializers.CharField(allow_null=True, default=None),
                "details": serializers.JSONField(allow_null=True, default=None),
            },
        )
    return _envelopes[key]


PAGE_PARAMETERS = [
    openapi.Parameter(
        "page",
        openapi.IN_QUERY,
        "Page number, from 1; one that is not a page of the list is a 404",
        type=openapi.TYPE_INTEGER,
    ),
    openapi.Parameter(
        "page_size",
        openapi.IN_QUERY,
        "Items per page (default 20, at most 100)",
        type=openapi.TYPE_INTEGER,
    ),
]


def api_doc(
    *,
    summary: str,
    request=None,
    responses: dict,
    errors=(400,),
    tags=None,
    public=False,
    paginated=False,
    **kwargs,
) -> Callable[[ViewMethod], ViewMethod]:
    """swagger_auto_schema with the error statuses a route can answer, all as the envelope:
    `errors`, plus the 400 (and, with a body, the 413) of the input limits every route has.

    `public=True` marks a route that takes no token; `paginated=True` documents the paging
    query parameters of a route answering with `enveloped(..., paginated=True)`, and the 404
    for a page number that is not one of its pages.
    """
    documented = dict(responses)
    # Whatever the route, RequestLimitsMiddleware answers a NUL or lone surrogate in the path or
    # query with a 400, and a body over REQUEST_MAX_BYTES with a 413, before any view runs.
    for code in (*errors, 400, *((413,) if request is not None else ())):
        documented.setdefault(code, ErrorEnvelopeSerializer)
    if public:
        kwargs["security"] = []
    if paginated:
        kwargs["manual_parameters"] = [*kwargs.get("manual_parameters", []), *PAGE_PARAMETERS]
        documented.setdefault(404, ErrorEnvelopeSerializer)  # EnvelopePagination's "Invalid page."
    return swagger_auto_schema(
        operation_summary=summary,
        request_body=request,
        responses=documented,
        tags=tags,
        field_inspectors=[ReadOnlyBlankStrings],
        **kwargs,
    )
