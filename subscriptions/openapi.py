"""The OpenAPI document's `webhooks` section, built from the EventType rows.

drf-spectacular's own `WEBHOOKS` setting is read once at startup; event types live in the
database (admins add them at run time), so a postprocessing hook adds them on every schema
generation instead. Code-declared types reference their serializer's component (so code
generators get named models); admin-declared types embed their stored JSON Schema.

List `add_webhooks` BEFORE `postprocess_schema_enums` in `POSTPROCESSING_HOOKS`: that hook
rebuilds `components` from the registry, which is how the components used only by webhooks
get into the document.
"""

from __future__ import annotations

import copy
import logging
from typing import Any

from django.db import DatabaseError
from django.db.models import Count, Max, Q

from subscriptions import wire
from subscriptions.catalog import body_schema_view
from subscriptions.catalog import webhooks as declared_webhooks
from subscriptions.models import EventType
from subscriptions.schemas import map_refs

logger = logging.getLogger(__name__)

SIGNATURE_HEADERS = [
    {
        "name": "webhook-id",
        "in": "header",
        "required": True,
        "description": "Unique id of the event (`msg_...`). The same on every retry: use it "
        "to ignore duplicates.",
        "schema": {"type": "string"},
        "example": "msg_2KWPBgLlAfxdpx2AI54pPJ85f4W",
    },
    {
        "name": "webhook-timestamp",
        "in": "header",
        "required": True,
        "description": "Unix time (seconds) of this attempt. Reject requests that are too "
        "old to stop replays.",
        "schema": {"type": "string", "pattern": "^[0-9]+$"},
        "example": "1764324000",
    },
    {
        "name": "webhook-signature",
        "in": "header",
        "required": True,
        "description": "Space-separated `v1,<base64>` HMAC-SHA256 signatures of "
        "`{webhook-id}.{webhook-timestamp}.{body}` with your endpoint's secret (one per "
        "valid secret while a rotation is in progress).",
        "schema": {"type": "string"},
        "example": "v1,K5oZfzN95Z9UVu1EsfQmfVNQhnkZ2pj9o9NDN/H/pI4=",
    },
]

RESPONSES = {
    "2XX": {
        "description": "Any 2xx status acknowledges the event. Anything else, redirects "
        "included, counts as a failure and the event is retried with backoff."
    }
}


def catalogue_fingerprint() -> tuple:
    """Changes whenever an event type is added, archived, restored or edited, so a cached
    document can be reused until then. (Counting active rows catches archiving done with
    `QuerySet.update()`, which does not touch `updated_at`.)"""
    stats = EventType.objects.aggregate(
        total=Count("id"),
        active=Count("id", filter=Q(archived=False)),
        changed=Max("updated_at"),
    )
    return (stats["total"], stats["active"], stats["changed"])


def _rebase_refs(node: Any, base: str) -> Any:
    """Point a stored schema's local `$ref`s (`#/$defs/x`) at where it sits in the document."""
    return map_refs(node, lambda ref, _path: base + ref[1:])


def _serializer_ref(serializer_class, registry) -> dict:
    view = body_schema_view(serializer_class, registry)
    component = view.schema.resolve_serializer(serializer_class, "request")
    return component.ref


def _data_schema(event_type: EventType, registry, pointer: str) -> dict:
    declared = declared_webhooks.get(event_type.name)
    if event_type.is_code_declared and declared is not None and registry:
        return _serializer_ref(declared.serializer_class, registry)
    # JSON pointer of `data` inside the document: the stored schema's own `#/...` refs must
    # resolve against it, not against the document's root.
    return _rebase_refs(event_type.schema or {}, pointer)


def _summary(event_type: EventType) -> str:
    declared = declared_webhooks.get(event_type.name)
    if event_type.is_code_declared and declared is not None:
        return declared.summary
    return event_type.summary[:120] or event_type.name


def webhook_path_item(event_type: EventType, registry=None) -> dict:
    """One `webhooks` entry: the request HookHub sends for this event type."""
    method = event_type.method.lower()
    pointer = (
        f"#/webhooks/{event_type.name}/{method}/requestBody/content/"
        "application~1json/schema/properties/data"
    )
    media: dict[str, Any] = {
        "schema": wire.envelope_schema(event_type.name, _data_schema(event_type, registry, pointer))
    }
    if event_type.example is not None:
        media["example"] = wire.example(event_type.name, event_type.example)
    operation = {
        "operationId": "webhook_" + event_type.name.replace("-", "_"),
        "summary": _summary(event_type),
        "description": event_type.description or _summary(event_type),
        "tags": ["webhooks"],
        "parameters": copy.deepcopy(SIGNATURE_HEADERS),
        "requestBody": {"required": True, "content": {"application/json": media}},
        "responses": copy.deepcopy(RESPONSES),
    }
    return {method: operation}


def add_webhooks(result: dict, generator, **kwargs) -> dict:
    """drf-spectacular postprocessing hook: one `webhooks` entry per active event type."""
    try:
        event_types = list(EventType.objects.filter(archived=False).order_by("name"))
    except DatabaseError:
        # `spectacular` run before `migrate`: a document without webhooks beats a crash.
        logger.warning("OpenAPI webhooks skipped: the event type table is not available.")
        return result
    registry = getattr(generator, "registry", None)
    section = dict(result.get("webhooks") or {})
    for event_type in event_types:
        section[event_type.name] = webhook_path_item(event_type, registry)
    if section:
        result["webhooks"] = section
    return result
