"""Checks for JSON Schemas that admins store on event types.

A stored schema is embedded verbatim in the OpenAPI document's `webhooks` section, so a
broken one must be refused when it is saved (a form or API error), never discovered by a
receiver whose code generator chokes on the document.

Payloads (on publish) and a type's example are checked by one validator, payload_validator,
so what the document promises receivers is what HookHub lets through.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from decimal import Decimal
from fractions import Fraction
from typing import Any

from django.core.exceptions import ValidationError
from jsonschema import Draft202012Validator, validators
from jsonschema import exceptions as jsonschema_exceptions
from jsonschema.protocols import Validator


def default_schema() -> dict:
    """The schema of a type created without one: any JSON object."""
    return {"type": "object"}


def _path(parts) -> str:
    return "/" + "/".join(str(part) for part in parts) if parts else "the top level"


REF_KEYS = ("$ref", "$dynamicRef")


def map_refs(node: Any, replace: Callable[[str, tuple], Any], path: tuple = ()) -> Any:
    """A copy of the JSON value `node` in which each `$ref` / `$dynamicRef` string (at
    `path`, a tuple of keys and indexes) is swapped for `replace(ref, path)`; when that
    returns an object, it stands in for the whole object holding the reference. The one
    walker for checking, re-basing and inlining references."""
    if isinstance(node, dict):
        result = {}
        for key, value in node.items():
            if key in REF_KEYS and isinstance(value, str):
                swapped = replace(value, (*path, key))
                if isinstance(swapped, dict):
                    return swapped
                result[key] = swapped
            else:
                result[key] = map_refs(value, replace, (*path, key))
        return result
    if isinstance(node, list):
        return [map_refs(item, replace, (*path, index)) for index, item in enumerate(node)]
    return node


def unstorable_text(value: Any) -> str | None:
    """Why a JSON value cannot be stored, or None: PostgreSQL's jsonb refuses NUL characters
    and lone surrogates in strings and keys (SQLite takes them), so both databases refuse
    them up front rather than one answering a 500. Walked without recursion."""
    stack = [value]
    while stack:
        item = stack.pop()
        if isinstance(item, dict):
            stack.extend(item.keys())
            stack.extend(item.values())
        elif isinstance(item, list):
            stack.extend(item)
        elif isinstance(item, str):
            if "\x00" in item:
                return "contains a NUL character (\\u0000), which cannot be stored"
            if any("\ud800" <= ch <= "\udfff" for ch in item):
                return "contains an unpaired surrogate (\\ud800-\\udfff), which is not text"
    return None


def check_storable(value: Any, what: str) -> None:
    """Raise `ValidationError` naming `what` if `value` cannot be stored (unstorable_text)."""
    problem = unstorable_text(value)
    if problem:
        raise ValidationError(f"The {what} {problem}.", code="unstorable")


def check_event_schema(schema: Any) -> None:
    """Raise `ValidationError` unless `schema` is a Draft 2020-12 JSON Schema object whose
    `$ref`s all point inside itself.

    Remote references are refused: the OpenAPI document must stand alone, and resolving
    them would make HookHub (or every reader of the document) fetch arbitrary URLs."""
    if not isinstance(schema, dict):
        raise ValidationError('The schema must be a JSON object, e.g. {"type": "object"}.')
    check_storable(schema, "schema")
    try:
        Draft202012Validator.check_schema(schema)
    except jsonschema_exceptions.SchemaError as error:
        raise ValidationError(
            f"Not a valid JSON Schema (Draft 2020-12): {error.message} "
            f"(at {_path(error.absolute_path)})."
        ) from None

    def refuse_remote(ref: str, path: tuple) -> str:
        if not ref.startswith("#"):
            raise ValidationError(
                f'Only references inside the schema are allowed ("#/$defs/..."); '
                f"{ref!r} at {_path(path)} points elsewhere."
            )
        return ref

    map_refs(schema, refuse_remote)
    if "$id" in schema:
        raise ValidationError('Leave out "$id": the schema is embedded in the API document.')


def check_event_example(schema: dict, example: Any) -> None:
    """Raise `ValidationError` if `example` does not match `schema` (which must be valid)."""
    if example is None:
        return
    check_storable(example, "example")
    error = jsonschema_exceptions.best_match(payload_validator(schema).iter_errors(example))
    if error is not None:
        raise ValidationError(
            f"The example does not match the schema: {error.message} "
            f"(at {_path(error.absolute_path)})."
        )


def is_multiple_of(value: int | float, step: int | float) -> bool:
    """Whether `value` is a whole multiple of `step`, counted in decimal as the JSON text
    reads (0.29 is a multiple of 0.01); a NaN or an infinity is nobody's multiple."""
    try:
        return (Fraction(Decimal(repr(value))) / Fraction(Decimal(repr(step)))).denominator == 1
    except (ValueError, ArithmeticError):
        return False


def _decimal_multiple_of(
    validator: Validator, step: Any, instance: Any, schema: dict
) -> Iterator[jsonschema_exceptions.ValidationError]:
    # jsonschema divides floats, so it finds 0.29 "not a multiple of 0.01"; a DecimalField
    # with decimal_places=2 is documented as multipleOf 0.01 and its serializer accepts 0.29.
    if validator.is_type(instance, "number") and not is_multiple_of(instance, step):
        yield jsonschema_exceptions.ValidationError(f"{instance!r} is not a multiple of {step}")


PayloadValidator = validators.extend(Draft202012Validator, {"multipleOf": _decimal_multiple_of})


def payload_validator(schema: dict) -> Validator:
    """The validator of event data against a type's schema: on publish, and for the type's
    example. Formats are asserted (date-time, date, time, email, uri, uuid, ipv4, ipv6, ...),
    not just annotations as Draft 2020-12 has them by default: receivers' generated models
    parse them, so a "date-time" without a timezone or "next tuesday" must not be sent."""
    return PayloadValidator(schema, format_checker=PayloadValidator.FORMAT_CHECKER)
