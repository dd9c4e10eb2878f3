"""Make the document say "may be null" the OpenAPI 3.1 way.

`nullable: true` is OpenAPI 3.0; a 3.1 document is JSON Schema 2020-12, where it is an
unknown keyword that validators ignore, so `null` would be refused where the API sends it.
drf-spectacular writes type lists in 3.1 mode, but extensions, `extend_schema` overrides and
third-party fields can still carry the 3.0 form; this last postprocessing hook rewrites
whatever is left, so no reader has to guess which dialect a schema was written in.
"""

from __future__ import annotations

from typing import Any

# Keywords whose value is JSON data, not a schema: a `nullable` key inside an example is data.
_DATA_KEYWORDS = frozenset({"const", "default", "enum", "example", "examples", "value"})
# Objects whose keys are names, not keywords: a property may be called "nullable" (with the
# schema `true`), and a response "default".
_NAME_MAPS = frozenset(
    {
        *("properties", "patternProperties", "$defs", "definitions", "dependentSchemas"),
        *("paths", "webhooks", "schemas", "responses", "headers", "content", "parameters"),
    }
)
# Keywords that constrain every instance, `null` included: they move into the non-null branch.
_APPLY_TO_NULL = tuple("$ref $dynamicRef allOf anyOf oneOf not const if then else".split())


def allow_null(schema: dict) -> dict:
    """`schema` (which has `nullable: true`) in 3.1 form: `null` added to its `type` (and
    `enum`), and whatever else would still refuse `null` (`$ref`, `allOf`, ...) put in an
    `anyOf` beside `{"type": "null"}`. Annotations (`description`, `readOnly`, ...) stay."""
    schema = {key: value for key, value in schema.items() if key != "nullable"}
    if "type" in schema:
        types = schema["type"] if isinstance(schema["type"], list) else [schema["type"]]
        schema["type"] = types if "null" in types else [*types, "null"]
    if isinstance(schema.get("enum"), list) and None not in schema["enum"]:
        schema["enum"] = [*schema["enum"], None]
    branch = {key: schema.pop(key) for key in _APPLY_TO_NULL if key in schema}
    if branch:
        schema["anyOf"] = [branch, {"type": "null"}]
    return schema


def _rewritten(node: Any, keys_are_names: bool = False) -> Any:
    if isinstance(node, list):
        return [_rewritten(item) for item in node]
    if not isinstance(node, dict):
        return node
    result = {}
    for key, value in node.items():
        if keys_are_names:
            result[key] = _rewritten(value)
        elif key in _DATA_KEYWORDS:
            result[key] = value
        else:
            result[key] = _rewritten(value, key in _NAME_MAPS)
    if not keys_are_names and isinstance(result.get("nullable"), bool):
        return allow_null(result) if result["nullable"] else _without(result, "nullable")
    return result


def _without(node: dict, key: str) -> dict:
    return {name: value for name, value in node.items() if name != key}


def postprocess_nullable(result: dict, generator, **kwargs) -> dict:
    """drf-spectacular postprocessing hook (list it last): no `nullable` left anywhere."""
    return _rewritten(result)
