"""The one pagination class: `page` and `page_size` (default 20, max 100), inside the envelope."""

from collections.abc import Callable, Sequence
from functools import cached_property
from typing import Any

from django.core.paginator import Page, Paginator
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


class _CountCappedPaginator(Paginator):  # type: ignore[type-arg]
    """Counts no further than `limit` rows: a count of every match of a broad search would
    cost more than its page."""

    limit: int

    @cached_property
    def count(self) -> int:
        rows: Any = self.object_list  # a queryset: only querysets are given a count_limit
        return min(rows.order_by()[: self.limit].count(), self.limit)


class _CountCappedPagination(EnvelopePagination):
    def __init__(self, count_limit: int) -> None:
        self.django_paginator_class = type(
            "CountCappedPaginator", (_CountCappedPaginator,), {"limit": count_limit}
        )


def paginated(
    request: Request,
    queryset: QuerySet[Any] | Sequence[Any],
    serialize: Callable[[list[Any] | None], Any],
    *,
    view: APIView | None = None,
    message: str = "OK",
    count_limit: int | None = None,
) -> Response:
    """One page of `queryset`, each item rendered by `serialize(items) -> list`, enveloped;
    with `count_limit`, `count` stops there (and so do the pages)."""
    paginator = EnvelopePagination() if count_limit is None else _CountCappedPagination(count_limit)
    page: list[Any] | None = paginator.paginate_queryset(queryset, request, view=view)
    return paginator.get_paginated_response(serialize(page), message=message)
