"""The envelope every webhook carries: `{"type", "timestamp", "data"}`.

One definition for the sender (deliveries.engine), the catalogue page and the OpenAPI
document, so what receivers are told is what they get."""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

# The timestamp shown in examples (catalogue page, OpenAPI document): fixed, so the document
# does not change from one request to the next.
EXAMPLE_TIMESTAMP = "2026-11-28T10:00:00Z"


def timestamp(moment: datetime) -> str:
    """RFC 3339 in UTC with a Z, as in the envelope."""
    return moment.isoformat().replace("+00:00", "Z")


def envelope(type_name: str, moment: datetime | str, data: Any) -> dict:
    return {
        "type": type_name,
        "timestamp": moment if isinstance(moment, str) else timestamp(moment),
        "data": data,
    }


def body(type_name: str, moment: datetime, data: Any) -> bytes:
    """The bytes sent: compact JSON, UTF-8, the same on every try of an event."""
    return json.dumps(
        envelope(type_name, moment, data), separators=(",", ":"), ensure_ascii=False
    ).encode()


def example(type_name: str, data: Any) -> dict:
    return envelope(type_name, EXAMPLE_TIMESTAMP, data)


def envelope_schema(type_name: str, data_schema: dict) -> dict:
    """The envelope's JSON Schema around a type's `data` schema."""
    return {
        "type": "object",
        "required": ["type", "timestamp", "data"],
        "properties": {
            "type": {"type": "string", "const": type_name},
            "timestamp": {"type": "string", "format": "date-time"},
            "data": data_schema,
        },
    }
