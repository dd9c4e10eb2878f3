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
        "description": f"The body of every `{type_name}` webhook.",
        "required": ["type", "timestamp", "data"],
        "properties": {
            "type": {
                "type": "string",
                "const": type_name,
                "description": "The event type, so one URL can receive several types.",
            },
            # Two times travel with each request and receivers mix them up: this one is the
            # event's, the `webhook-timestamp` header is the attempt's (for replay checks).
            "timestamp": {
                "type": "string",
                "format": "date-time",
                "description": "When the event happened (RFC 3339, UTC): the same on every "
                "retry. The `webhook-timestamp` header is the time of this attempt instead.",
            },
            "data": data_schema,
        },
    }
