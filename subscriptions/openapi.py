"""The OpenAPI document's `webhooks` section, built from the EventType rows.

drf-spectacular's own `WEBHOOKS` setting is read once at startup; event types live in the
database (admins add them at run time), so a postprocessing hook adds them on every schema
generation instead. Each webhook's body is a named component (`NewSubscription-Event`):
code-declared types reference their serializer's component inside it, admin-declared types
get their stored JSON Schema, and each of its `$defs`, as components too, so code generators
name every model instead of typing deep references into `webhooks` as `any`.

List `add_webhooks` BEFORE `postprocess_schema_enums` in `POSTPROCESSING_HOOKS`: that hook
rebuilds `components` from the registry, which is how the components registered here get
into the document. (Registered after its scan, they also keep admins' enums verbatim.)
"""

from __future__ import annotations

import copy
import logging
import re
import string
from collections.abc import Callable
from typing import Any
from urllib.parse import quote, unquote

from django.db import DatabaseError
from django.db.models import Count, Max, Q
from drf_spectacular.plumbing import ResolvedComponent

from subscriptions import wire
from subscriptions.catalog import body_schema_view
from subscriptions.catalog import webhooks as declared_webhooks
from subscriptions.models import EventType, first_line
from subscriptions.schemas import REF_KEYS

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

COMPONENTS = "#/components/schemas/"


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


# --- Names --------------------------------------------------------------------------------
# Every operationId and component a webhook adds is made of its type's key, and the key is an
# injective function of the name, so two types never share one however alike they look
# (`a-b` -> `AB`, `a_b` -> `A_b`). The component names all hold a hyphen, which no API
# component has (drf-spectacular names them after Python classes), and the operationIds too,
# which drf-spectacular's never have (it turns the path's hyphens into underscores).

_LOWER = frozenset(string.ascii_lowercase)
_PLAIN = _LOWER | frozenset(string.digits)


def type_key(name: str) -> str:
    """The PascalCase key of an event type name: `new-subscription` -> `NewSubscription`.

    A name is a slug (`[-a-zA-Z0-9_]`). Lowercase letters and digits stay, a letter starting
    the name or following a hyphen is capitalised and that hyphen dropped; every other
    character becomes an escape starting with `_`, which nothing else produces: `_` stays
    `_` before a lowercase letter or digit and is `__` otherwise, another hyphen is `_H`, a
    capital `X` is `_UX`, anything else `_X` and six hex digits. So each key decodes back
    to exactly one name."""
    parts = []
    capital = True
    for index, char in enumerate(name):
        following = name[index + 1 : index + 2]
        if char in _LOWER and capital:
            parts.append(char.upper())
        elif char in _PLAIN:
            parts.append(char)
        elif char == "-" and index > 0 and following in _LOWER:
            parts.append("")  # said by the next letter's capital
        elif char == "_":
            parts.append("_" if following in _PLAIN else "__")
        elif char == "-":
            parts.append("_H")
        elif char in string.ascii_uppercase:
            parts.append("_U" + char)
        else:
            parts.append(f"_X{ord(char):06X}")
        capital = parts[-1] == ""
    return "".join(parts)


def _definition_key(name: str) -> str:
    # `$defs` keys are any text; identifier characters stay as written (they are what code
    # generators keep), a hyphen doubles and anything else is `-<hex>-`: still injective.
    return "".join(
        char
        if char in string.ascii_letters or char in string.digits or char == "_"
        else ("--" if char == "-" else f"-{ord(char):X}-")
        for char in name
    )


def operation_id(type_name: str) -> str:
    return f"webhook-{type_key(type_name)}"


def envelope_component(type_name: str) -> str:
    """The body's component: `{type, timestamp, data}`."""
    return f"{type_key(type_name)}-Event"


def data_component(type_name: str) -> str:
    """An admin-declared type's stored schema of `data`."""
    return f"{type_key(type_name)}-Data"


def definition_component(type_name: str, definition: str) -> str:
    """One `$defs` entry of an admin-declared type's stored schema."""
    return f"{type_key(type_name)}-Data-{_definition_key(definition)}"


# --- Staff-written text -------------------------------------------------------------------
# Redoc and Swagger UI render descriptions as Markdown with HTML, so a description could run
# a script in the docs pages of everyone who reads them. Staff text is made inert instead.

# A lone `&` is text everywhere; only one starting a character reference (`&lt;`, `&#106;`)
# must be escaped, and escaping the rest would show `&amp;` where summaries are plain text.
_CHARACTER_REFERENCE = re.compile(r"&(?=#?\w+;)")
# The `](` of an inline link or image and the `]:` of a link reference definition.
_LINK_DESTINATION = re.compile(r"\]([(:])")
_WEB_URL = re.compile(r"\s*https?://", re.IGNORECASE)


def plain_text(text: str) -> str:
    """`text` that Markdown and HTML renderers show as written, minus what they would run:
    no element (`<` and `>` are escaped) and no link to anything but an http(s) URL (the
    `](` or `]:` before any other destination is backslash-escaped, so it stays text)."""
    text = _CHARACTER_REFERENCE.sub("&amp;", text)
    text = text.replace("<", "&lt;").replace(">", "&gt;")

    def neutralise(match: re.Match) -> str:
        if _WEB_URL.match(text, match.end()):
            return match.group()
        return "]\\" + match.group(1)

    return _LINK_DESTINATION.sub(neutralise, text)


# Keywords whose value is JSON data, not schemas; and those whose value maps names (which may
# well be "description" or "nullable") to schemas.
_DATA_KEYWORDS = frozenset({"const", "default", "enum", "example", "examples"})
_NAME_MAPS = frozenset(
    {"properties", "patternProperties", "$defs", "definitions", "dependentSchemas"}
)


def _documented_schema(node: Any, place: Callable[[str], str]) -> Any:
    """A stored schema as the document shows it: each `$ref` / `$dynamicRef` swapped for
    `place(ref)`, descriptions made plain text, and `$anchor` (refs to one are pointers now)
    and `nullable` left out. `nullable` is no keyword in Draft 2020-12, so the validator
    ignores it and `null` is refused: left in, tools with OpenAPI 3.0 habits would tell
    receivers that `null` may come. Data (`examples`, `enum`, ...) is copied untouched."""
    if isinstance(node, list):
        return [_documented_schema(item, place) for item in node]
    if not isinstance(node, dict):
        return node
    result = {}
    for key, value in node.items():
        if key in _DATA_KEYWORDS:
            result[key] = value
        elif key in REF_KEYS and isinstance(value, str):
            result[key] = place(value)
        elif key in _NAME_MAPS and isinstance(value, dict):
            result[key] = {name: _documented_schema(sub, place) for name, sub in value.items()}
        elif key == "description" and isinstance(value, str):
            result[key] = plain_text(value)
        elif not (key == "nullable" and isinstance(value, bool)) and key != "$anchor":
            result[key] = _documented_schema(value, place)
    return result


# --- Stored schemas as components ---------------------------------------------------------


def _anchors(node: Any, path: tuple = ()) -> dict[str, tuple]:
    """`$anchor` (and `$dynamicAnchor`) name -> the path of the schema that declares it."""
    found: dict[str, tuple] = {}
    if isinstance(node, dict):
        for key, value in node.items():
            if key in ("$anchor", "$dynamicAnchor") and isinstance(value, str):
                found.setdefault(value, path)
            elif key not in _DATA_KEYWORDS:
                found = {**_anchors(value, (*path, key)), **found}
    elif isinstance(node, list):
        for index, item in enumerate(node):
            found = {**_anchors(item, (*path, str(index))), **found}
    return found


def _pointer(tokens: tuple) -> str:
    return "".join(
        "/" + quote(token.replace("~", "~0").replace("/", "~1"), safe="!$&'()*+,;=:@-._~")
        for token in tokens
    )


def _target(ref: str, anchors: dict[str, tuple]) -> tuple | None:
    """The path inside the stored schema a local `$ref` points at; None for a remote one
    (refused when the schema is saved) or an anchor nothing declares (the linters say so)."""
    if not ref.startswith("#"):
        return None
    fragment = unquote(ref[1:])
    if fragment and not fragment.startswith("/"):
        return anchors.get(fragment)
    return tuple(token.replace("~1", "/").replace("~0", "~") for token in fragment.split("/")[1:])


def _pointing(anchors: dict[str, tuple], place: Callable[[tuple], str]) -> Callable:
    """A ref mapper: a local `$ref` goes to `place(path it points at)`, others stay."""

    def point(ref: str) -> str:
        target = _target(ref, anchors)
        return ref if target is None else place(target)

    return point


def stored_schema_components(type_name: str, schema: dict) -> dict[str, Any]:
    """Component name -> schema for an admin-declared type: its stored schema (first, without
    `$defs` and `$schema`: the validator is Draft 2020-12 whatever it says) and each
    top-level `$defs` entry, every local `$ref` rewritten to point at them."""

    def place(path: tuple) -> str:
        if len(path) >= 2 and path[0] == "$defs":
            return COMPONENTS + definition_component(type_name, path[1]) + _pointer(path[2:])
        return COMPONENTS + data_component(type_name) + _pointer(path)

    root = {key: value for key, value in schema.items() if key not in ("$defs", "$schema")}
    parts = {data_component(type_name): root}
    definitions = schema.get("$defs")
    if isinstance(definitions, dict):
        for name, definition in definitions.items():
            parts[definition_component(type_name, name)] = definition
    point = _pointing(_anchors(schema), place)
    return {name: _documented_schema(part, point) for name, part in parts.items()}


def _register(registry, name: str, schema: Any) -> dict:
    component = ResolvedComponent(
        name=name, type=ResolvedComponent.SCHEMA, schema=schema, object=f"webhook:{name}"
    )
    registry.register(component)
    return component.ref


def _data_schema(event_type: EventType, registry) -> dict:
    """The `data` schema, its components registered: the serializer's for a code-declared
    type, the stored schema's for an admin-declared one."""
    declared = declared_webhooks.get(event_type.name)
    if event_type.is_code_declared and declared is not None:
        view = body_schema_view(declared.serializer_class, registry)
        return view.schema.resolve_serializer(declared.serializer_class, "request").ref
    parts = stored_schema_components(event_type.name, event_type.schema or {})
    refs = [_register(registry, name, schema) for name, schema in parts.items()]
    return refs[0]


def _self_contained_body(event_type: EventType, method: str) -> dict:
    # JSON pointer of `data` inside the document: the stored schema's own `#/...` refs must
    # resolve against it, not against the document's root.
    pointer = (
        f"#/webhooks/{event_type.name}/{method}/requestBody/content/"
        "application~1json/schema/properties/data"
    )
    stored = event_type.schema or {}
    point = _pointing(_anchors(stored), lambda path: pointer + _pointer(path))
    return wire.envelope_schema(event_type.name, _documented_schema(stored, point))


# --- The webhooks -------------------------------------------------------------------------


def _summary(event_type: EventType) -> str:
    declared = declared_webhooks.get(event_type.name)
    if event_type.is_code_declared and declared is not None:
        return declared.summary
    return event_type.summary[:120] or event_type.name


def _description(event_type: EventType, summary: str) -> str:
    """What the description says beyond the summary ("" when nothing)."""
    text = (event_type.description or "").strip()
    if first_line(text) == summary:
        return text[len(text.splitlines()[0]) :].strip()
    return text


def webhook_path_item(event_type: EventType, registry=None) -> dict:
    """One `webhooks` entry: the request HookHub sends for this event type.

    With drf-spectacular's component registry, its body is registered as named components
    (see the names above); without one (a single webhook shown on its own), the entry is
    self-contained: the envelope inline, around the stored schema."""
    method = event_type.method.lower()
    if registry is None:
        schema = _self_contained_body(event_type, method)
    else:
        body = wire.envelope_schema(event_type.name, _data_schema(event_type, registry))
        schema = _register(registry, envelope_component(event_type.name), body)
    media: dict[str, Any] = {"schema": schema}
    if event_type.example is not None:
        media["example"] = wire.example(event_type.name, event_type.example)
    summary = _summary(event_type)
    operation = {
        "operationId": operation_id(event_type.name),
        "summary": plain_text(summary),
        "tags": ["webhooks"],
        # Receivers check the signature headers; no API credential is sent to them.
        "security": [],
        "parameters": copy.deepcopy(SIGNATURE_HEADERS),
        "requestBody": {"required": True, "content": {"application/json": media}},
        "responses": copy.deepcopy(RESPONSES),
    }
    description = _description(event_type, summary)
    if description:
        operation["description"] = plain_text(description)
    if event_type.operational:
        # HookHub's own events: for the provider's staff endpoints, not subscribers'.
        operation["tags"] = ["operational webhooks"]
        operation["x-hookhub-operational"] = True
        note = "Operational: sent only to staff endpoints that chose this type."
        operation["description"] = f"{operation.get('description', '')}\n\n{note}".strip()
    return {method: operation}


def add_webhooks(result: dict, generator, **kwargs) -> dict:
    """drf-spectacular postprocessing hook: one `webhooks` entry per active event type."""
    try:
        event_types = list(EventType.objects.filter(archived=False).order_by("name"))
    except DatabaseError:
        # `spectacular` run before `migrate`: a document without webhooks beats a crash.
        logger.warning("OpenAPI webhooks skipped: the event type table is not available.")
        return result
    section = dict(result.get("webhooks") or {})
    for event_type in event_types:
        section[event_type.name] = webhook_path_item(event_type, generator.registry)
    if section:
        result["webhooks"] = section
    return result
