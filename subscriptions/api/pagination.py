from __future__ import annotations

from rest_framework.pagination import CursorPagination


class NewestFirst(CursorPagination):
    """Keyset pagination on the primary key: stable while rows are being added, and each
    page is one index range scan however deep the client pages."""

    ordering = "-id"
    page_size_query_param = "page_size"
    max_page_size = 200


class ByName(CursorPagination):
    ordering = "name"
    page_size_query_param = "page_size"
    max_page_size = 200
