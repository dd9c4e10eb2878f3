"""Checks for JSON Schemas that admins store on event types.

A stored schema is embedded verbatim in the OpenAPI document's `webhooks` section, so a
broken one must be refused when it is saved (a form or API error), never discovered by a
receiver whose code generator chokes on the document.
"""

from __future__ import annotations

from typing import Any

from django.core.exceptions import ValidationError
from jsonschema import Draft202012Validator
from jsonschema import exceptions as jsonschema_exceptions


def default_schema() -> dict:
    """The schema of a type created without one: any JSON object."""
    return {"type": "object"}


def _path(parts) -> str:
    return "/" + "/".join(str(part) for part in parts) if parts else "the top level"


def _refs(node: Any, path: tuple = ()):
    if isinstance(node, dict):
        for key, value in node.items():
            if key in ("$ref", "$dynamicRef") and isinstance(value, str):
                yield path + (key,), value
            else:
                yield from _refs(value, path + (key,))
    elif isinstance(node, list):
        for index, item in enumerate(node):
            yield from _refs(item, path + (index,))


def check_event_schema(schema: Any) -> None:
    """Raise `ValidationError` unless `schema` is a Draft 2020-12 JSON Schema object whose
    `$ref`s all point inside itself.

    Remote references are refused: the OpenAPI document must stand alone, and resolving
    them would make HookHub (or every reader of the document) fetch arbitrary URLs."""
    if not isinstance(schema, dict):
        raise ValidationError('The schema must be a JSON object, e.g. {"type": "object"}.')
    try:
        Draft202012Validator.check_schema(schema)
    except jsonschema_exceptions.SchemaError as error:
        raise ValidationError(
            f"Not a valid JSON Schema (Draft 2020-12): {error.message} "
            f"(at {_path(error.absolute_path)})."
        ) from None
    for path, ref in _refs(schema):
        if not ref.startswith("#"):
            raise ValidationError(
                f'Only references inside the schema are allowed ("#/$defs/..."); '
                f"{ref!r} at {_path(path)} points elsewhere."
            )
    if "$id" in schema:
        raise ValidationError('Leave out "$id": the schema is embedded in the API document.')


def check_event_example(schema: dict, example: Any) -> None:
    """Raise `ValidationError` if `example` does not match `schema` (which must be valid)."""
    if example is None:
        return
    error = jsonschema_exceptions.best_match(Draft202012Validator(schema).iter_errors(example))
    if error is not None:
        raise ValidationError(
            f"The example does not match the schema: {error.message} "
            f"(at {_path(error.absolute_path)})."
        )
