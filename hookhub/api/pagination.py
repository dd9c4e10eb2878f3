from __future__ import annotations

from rest_framework.exceptions import ValidationError
from rest_framework.pagination import CursorPagination


class StrictCursorPagination(CursorPagination):
    """Cursor pagination whose `page_size` is checked (DRF silently ignores a bad one) and
    documented with its bounds."""

    page_size_query_param = "page_size"
    max_page_size = 200

    def get_page_size(self, request) -> int:
        raw = request.query_params.get(self.page_size_query_param)
        if raw is None:
            return self.page_size
        try:
            size = int(raw)
        except ValueError:
            size = 0
        if not 1 <= size <= self.max_page_size:
            raise ValidationError(
                {
                    self.page_size_query_param: [
                        f"Use a whole number from 1 to {self.max_page_size}."
                    ]
                }
            )
        return size

    def get_schema_operation_parameters(self, view):
        parameters = super().get_schema_operation_parameters(view)
        for parameter in parameters:
            if parameter["name"] == self.page_size_query_param:
                parameter["schema"].update(minimum=1, maximum=self.max_page_size)
        return parameters

    def get_paginated_response_schema(self, schema: dict) -> dict:
        """DRF's schema marks `next`/`previous` with OpenAPI 3.0's `nullable`, which a 3.1
        document ignores (so `null`, the last page's `next`, would not match); 3.1 says it
        with a type list. All three keys are in every page."""
        return {
            "type": "object",
            "required": ["next", "previous", "results"],
            "properties": {
                "next": self._link_schema("The next page, or null on the last one."),
                "previous": self._link_schema("The previous page, or null on the first one."),
                "results": schema,
            },
        }

    def _link_schema(self, description: str) -> dict:
        return {
            "type": ["string", "null"],
            "format": "uri",
            "description": description,
            "example": f"https://hookhub.example/api/v1/endpoints/?{self.cursor_query_param}=cD00ODY%3D",
        }


class NewestFirst(StrictCursorPagination):
    """Keyset pagination on the primary key: stable while rows are being added, and each
    page is one index range scan however deep the client pages."""

    ordering = "-id"


class ByName(StrictCursorPagination):
    ordering = "name"
