"""The one pagination class: `page` and `page_size` (default 20, max 100), inside the envelope."""

from typing import Any

from django.core.paginator import Page
from rest_framework.pagination import PageNumberPagination

from mifumo.responses import envelope


class EnvelopePagination(PageNumberPagination):
    page_size = 20
    page_size_query_param = "page_size"
    max_page_size = 100
    page: Page[Any]  # set by paginate_queryset before any response is rendered

    def get_paginated_response(self, data, message: str = "OK"):
        return envelope(
            {
                "results": data,
                "count": self.page.paginator.count,
                "next": self.get_next_link(),
                "previous": self.get_previous_link(),
            },
            message=message,
        )


def paginated(request, queryset, serialize, *, view=None, message: str = "OK"):
    """One page of `queryset`, each item rendered by `serialize(items) -> list`, enveloped."""
    paginator = EnvelopePagination()
    page: list[Any] | None = paginator.paginate_queryset(queryset, request, view=view)
    return paginator.get_paginated_response(serialize(page), message=message)
