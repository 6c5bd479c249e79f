"""Documents routes for drf-yasg with their real bodies: the envelope around each payload."""

from drf_yasg import openapi
from drf_yasg.utils import swagger_auto_schema
from rest_framework import serializers


class ErrorEnvelopeSerializer(serializers.Serializer):
    success = serializers.BooleanField(default=False)
    message = serializers.CharField()
    data = serializers.JSONField(allow_null=True, default=None)
    error_code = serializers.CharField(help_text="Stable code from mifumo.errors.ErrorCode")
    details = serializers.JSONField(allow_null=True)
    errors = serializers.DictField(
        child=serializers.ListField(child=serializers.CharField()),
        required=False,
        help_text="Field errors, on VALIDATION_ERROR only",
    )


_envelopes: dict[tuple, type[serializers.Serializer]] = {}


def _page_of(item: type[serializers.Serializer]) -> type[serializers.Serializer]:
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


def enveloped(payload: type[serializers.Serializer] | None, *, paginated: bool = False):
    """A serializer class describing {success, message, data: payload, error_code, details}."""
    key = (payload, paginated)
    if key not in _envelopes:
        data = serializers.JSONField(allow_null=True, default=None)
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
    openapi.Parameter("page", openapi.IN_QUERY, "Page number, from 1", type=openapi.TYPE_INTEGER),
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
):
    """swagger_auto_schema with the error statuses a route can answer, all as the envelope.

    `public=True` marks a route that takes no token; `paginated=True` documents the paging
    query parameters of a route answering with `enveloped(..., paginated=True)`.
    """
    documented = dict(responses)
    for code in errors:
        documented.setdefault(code, ErrorEnvelopeSerializer)
    if public:
        kwargs["security"] = []
    if paginated:
        kwargs["manual_parameters"] = [*kwargs.get("manual_parameters", []), *PAGE_PARAMETERS]
    return swagger_auto_schema(
        operation_summary=summary,
        request_body=request,
        responses=documented,
        tags=tags,
        **kwargs,
    )
