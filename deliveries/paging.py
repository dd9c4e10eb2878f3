"""Keyset (cursor) pagination on `id`, newest first.

`WHERE id < :cursor ORDER BY id DESC LIMIT n+1` walks an index from a known point, so page
1,000 costs what page 1 costs; no OFFSET, and no COUNT(*) of the whole set."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass
class Page:
    rows: list
    next_before: int | None


def keyset_page(queryset, before: str | None, size: int) -> Page:
    queryset = queryset.order_by("-id")
    if before and before.isdigit():
        queryset = queryset.filter(id__lt=int(before))
    rows = list(queryset[: size + 1])
    if len(rows) > size:
        return Page(rows=rows[:size], next_before=rows[size - 1].id)
    return Page(rows=rows, next_before=None)
