"""Keyset (cursor) pagination on `id`, newest first, for every dashboard list.

`WHERE id < :cursor ORDER BY id DESC LIMIT n+1` walks an index from a known point, so page
1,000 costs what page 1 costs; no OFFSET, and no COUNT(*) of the whole set."""

from __future__ import annotations

from dataclasses import dataclass

from django.conf import settings
from django.http import HttpRequest


@dataclass
class Page:
    rows: list
    next_before: int | None
    # The request's filters without the cursor: the base of the "Newest"/"Older" links.
    query: str


def keyset_page(queryset, request: HttpRequest, size: int | None = None) -> Page:
    size = size or settings.HOOKHUB_PAGE_SIZE
    queryset = queryset.order_by("-id")
    before = request.GET.get("before", "")
    if before.isdigit():
        queryset = queryset.filter(id__lt=int(before))
    rows = list(queryset[: size + 1])
    query = request.GET.copy()
    query.pop("before", None)
    if len(rows) > size:
        return Page(rows=rows[:size], next_before=rows[size - 1].id, query=query.urlencode())
    return Page(rows=rows, next_before=None, query=query.urlencode())
