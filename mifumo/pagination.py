"""The one pagination class: `page` and `page_size` (default 20, max 100), inside the envelope."""

from collections.abc import Callable, Sequence
from typing import Any

from django.core.paginator import Page
from django.db.models import QuerySet
from rest_framework.pagination import PageNumberPagination
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from mifumo.responses import envelope


class EnvelopePagination(PageNumberPagination):
    page_size = 20
    page_size_query_param = "page_size"
    max_page_size = 100
    page: Page[Any]  # set by paginate_queryset before any response is rendered

    def get_paginated_response(self, data: Any, message: str = "OK") -> Response:
        return envelope(
            {
                "results": data,
                "count": self.page.paginator.count,
                "next": self.get_next_link(),
                "previous": self.get_previous_link(),
            },
            message=message,
        )


def paginated(
    request: Request,
    queryset: QuerySet[Any] | Sequence[Any],
    serialize: Callable[[list[Any] | None], Any],
    *,
    view: APIView | None = None,
    message: str = "OK",
) -> Response:
    """One page of `queryset`, each item rendered by `serialize(items) -> list`, enveloped."""
    paginator = EnvelopePagination()
    page: list[Any] | None = paginator.paginate_queryset(queryset, request, view=view)
    return paginator.get_paginated_response(serialize(page), message=message)
