"""What the document's webhooks look like to code generators and docs readers: unique names,
named components, examples that match, 3.1's way of saying null, inert staff text."""

from __future__ import annotations

import json
import re
import string
from html.parser import HTMLParser
from urllib.parse import quote

import pytest
from django.urls import path
from drf_spectacular.generators import SchemaGenerator
from drf_spectacular.settings import patched_settings
from drf_spectacular.utils import OpenApiParameter, extend_schema
from hypothesis import given, settings
from hypothesis import strategies as st
from jsonschema import Draft202012Validator
from referencing import Registry
from referencing.jsonschema import DRAFT202012
from rest_framework.response import Response
from rest_framework.views import APIView

from hookhub.api.openapi31 import allow_null, postprocess_nullable
from subscriptions.openapi import (
    _definition_key,
    data_component,
    definition_component,
    envelope_component,
    operation_id,
    plain_text,
    type_key,
)
from tests.api.test_openapi_document import all_refs, body, fetch_document, resolve
from tests.factories import EventTypeFactory

pytestmark = pytest.mark.django_db

SLUG = string.ascii_letters + string.digits + "-_"
COMPONENTS = "#/components/schemas/"
ORDER_SCHEMA = {
    "type": "object",
    "description": "An order <b>paid</b>.",
    "required": ["id", "lines"],
    "properties": {
        "id": {"type": "integer"},
        "paid_at": {"type": "string", "format": "date-time"},
        "billing": {"$ref": "#/$defs/address"},
        "shipping": {"$ref": "#addr"},
        "lines": {"type": "array", "items": {"$ref": "#/$defs/line-item"}},
        "first_quantity": {"$ref": "#/$defs/line-item/properties/quantity"},
        "parent": {"$ref": "#"},
        "note": {"type": "string", "nullable": True},
    },
    "$defs": {
        "address": {
            "$anchor": "addr",
            "type": "object",
            "properties": {"city": {"type": "string"}},
        },
        "line-item": {
            "type": "object",
            "required": ["sku"],
            "properties": {"sku": {"type": "string"}, "quantity": {"type": "integer"}},
        },
    },
}
ORDER_EXAMPLE = {
    "id": 7,
    "paid_at": "2026-11-28T10:00:00Z",
    "billing": {"city": "Lyon"},
    "lines": [{"sku": "tea", "quantity": 2}],
}


# --- Names ----------------------------------------------------------------------------------


def decode_type_key(key: str) -> str:
    """The inverse of type_key, written from its docstring: one name per key."""
    name, index = [], 0
    while index < len(key):
        char, code = key[index], key[index + 1 : index + 2]
        if char == "_" and code and code in string.ascii_lowercase + string.digits:
            name.append("_")
            index += 1
        elif char == "_":
            width = {"_": 2, "H": 2, "U": 3, "X": 8}[code]
            name.append(
                {"_": "_", "H": "-"}.get(code)
                or (key[index + 2] if code == "U" else chr(int(key[index + 2 : index + 8], 16)))
            )
            index += width
        elif char in string.ascii_uppercase:
            name.append(("-" if index else "") + char.lower())
            index += 1
        else:
            name.append(char)
            index += 1
    return "".join(name)


def decode_definition_key(key: str) -> str:
    return re.sub(r"--|-([0-9A-F]+)-", lambda m: chr(int(m[1], 16)) if m[1] else "-", key)


@pytest.mark.parametrize(
    ("name", "key"),
    [
        ("new-subscription", "NewSubscription"),
        ("a-b", "AB"),
        ("a_b", "A_b"),
        ("order_paid-v2", "Order_paidV2"),
        ("a--b", "A_HB"),
        ("-a", "_Ha"),
        ("Order-Paid", "_UOrder_H_UPaid"),
        ("level-2", "Level_H2"),
        ("a__", "A____"),
    ],
)
def test_type_keys_are_pascal_case_with_escapes_for_the_rest(name, key):
    assert type_key(name) == key
    assert decode_type_key(key) == name


@settings(max_examples=400, deadline=None)
@given(st.text(alphabet=SLUG, min_size=1, max_size=16) | st.text(min_size=1, max_size=8))
def test_a_type_key_decodes_back_to_exactly_its_name(name):
    key = type_key(name)
    assert re.fullmatch(r"[A-Za-z0-9_]+", key)
    assert decode_type_key(key) == name


@settings(max_examples=300, deadline=None)
@given(st.text(min_size=1, max_size=12))
def test_a_definition_key_decodes_back_to_exactly_its_name(definition):
    key = _definition_key(definition)
    assert re.fullmatch(r"[A-Za-z0-9_-]+", key)
    assert decode_definition_key(key) == definition


@settings(max_examples=300, deadline=None)
@given(
    st.text(alphabet=SLUG, min_size=1, max_size=10), st.text(alphabet=SLUG, min_size=1, max_size=10)
)
def test_two_types_never_share_an_operation_id_or_component(first, second):
    if first == second:
        return
    names = [
        operation_id(first),
        operation_id(second),
        *(make(name) for make in (envelope_component, data_component) for name in (first, second)),
        definition_component(first, "x"),
        definition_component(second, "x"),
    ]
    assert len(set(names)) == len(names)


LOOKALIKES = ["a-b", "a_b", "a--b", "a-B", "A-b", "ab", "Ab", "a-b-c", "a_b-c", "a-b_c"]


def test_lookalike_names_get_their_own_operations_and_components(client):
    for name in LOOKALIKES:
        EventTypeFactory(name=name, schema={"type": "object", "$defs": {"x": {"type": "string"}}})
    document = fetch_document(client)

    operation_ids = [
        operation["operationId"]
        for section in ("paths", "webhooks")
        for item in document[section].values()
        for operation in item.values()
    ]
    assert len(operation_ids) == len(set(operation_ids))
    bodies = {name: body(document, name)["properties"]["type"]["const"] for name in LOOKALIKES}
    assert bodies == {name: name for name in LOOKALIKES}
    datas = {body(document, name)["properties"]["data"]["$ref"] for name in LOOKALIKES}
    assert len(datas) == len(LOOKALIKES)


def test_webhook_components_never_replace_the_apis_own(client):
    before = fetch_document(client)["components"]["schemas"]
    assert {"TestEvent", "Endpoint", "Error", "EventType"} <= set(before)
    for name in ("test", "endpoint", "error", "event-type", "test-event", "Endpoint", "Error"):
        EventTypeFactory(
            name=name, schema={"type": "object", "properties": {"x": {"type": "string"}}}
        )
    after = fetch_document(client)["components"]["schemas"]

    assert {name: after[name] for name in before} == before
    assert all("-" in name for name in set(after) - set(before))


def test_no_api_component_has_a_hyphen_which_marks_the_webhooks_own():
    with patched_settings(
        {"POSTPROCESSING_HOOKS": ["drf_spectacular.hooks.postprocess_schema_enums"]}
    ):
        api_only = SchemaGenerator().get_schema(request=None, public=True)
    assert "webhooks" not in api_only
    assert [name for name in api_only["components"]["schemas"] if "-" in name] == []
    operation_ids = [
        op["operationId"] for item in api_only["paths"].values() for op in item.values()
    ]
    assert operation_ids and not [name for name in operation_ids if "-" in name]


# --- Components -----------------------------------------------------------------------------


def test_every_webhook_body_is_a_named_envelope_component(client):
    EventTypeFactory(name="order-paid")
    document = fetch_document(client)

    for name, item in document["webhooks"].items():
        (operation,) = item.values()
        schema = operation["requestBody"]["content"]["application/json"]["schema"]
        assert schema == {"$ref": COMPONENTS + envelope_component(name)}, name
    envelope = body(document, "order-paid")
    assert envelope["required"] == ["type", "timestamp", "data"]
    assert "webhook-timestamp" in envelope["properties"]["timestamp"]["description"]
    assert envelope["properties"]["type"]["description"]
    assert envelope["properties"]["data"] == {"$ref": COMPONENTS + "OrderPaid-Data"}


def test_code_declared_types_keep_their_serializer_component(client):
    document = fetch_document(client)
    assert body(document, "new-subscription")["properties"]["data"] == {
        "$ref": COMPONENTS + "NewSubscription"
    }


def test_stored_schema_and_its_defs_are_components_with_their_refs_pointed_at_them(client):
    EventTypeFactory(name="order-paid", schema=ORDER_SCHEMA, example=ORDER_EXAMPLE)
    document = fetch_document(client)
    schemas = document["components"]["schemas"]

    data = schemas["OrderPaid-Data"]
    assert "$defs" not in data
    assert data["properties"]["billing"] == {"$ref": COMPONENTS + "OrderPaid-Data-address"}
    assert data["properties"]["shipping"] == {"$ref": COMPONENTS + "OrderPaid-Data-address"}
    assert data["properties"]["lines"]["items"] == {
        "$ref": COMPONENTS + "OrderPaid-Data-line--item"
    }
    assert data["properties"]["parent"] == {"$ref": COMPONENTS + "OrderPaid-Data"}
    quantity = resolve(document, data["properties"]["first_quantity"])
    assert quantity == {"type": "integer"}
    assert "$anchor" not in schemas["OrderPaid-Data-address"]
    for ref in all_refs(document):
        assert not ref.startswith("#/webhooks"), ref
        resolve(document, {"$ref": ref})


def test_webhook_operations_need_no_api_credentials(client):
    document = fetch_document(client)
    assert all(
        operation["security"] == []
        for item in document["webhooks"].values()
        for operation in item.values()
    )
    assert document["paths"]["/api/v1/endpoints/"]["get"]["security"] != []


@pytest.mark.parametrize(
    ("description", "expected"),
    [
        ("Stock is low.", None),
        ("Stock is low.\n\nReorder within a day.\nOr two.", "Reorder within a day.\nOr two."),
        ("", None),
    ],
)
def test_the_description_says_only_what_the_summary_does_not(client, description, expected):
    EventTypeFactory(name="stock-low", description=description)
    operation = fetch_document(client)["webhooks"]["stock-low"]["post"]
    assert operation["summary"] == (description.splitlines()[0] if description else "stock-low")
    assert operation.get("description") == expected


# --- Examples -------------------------------------------------------------------------------


def _pointer(parts) -> str:
    return "#" + "".join(
        "/" + quote(str(part).replace("~", "~0").replace("/", "~1"), safe="") for part in parts
    )


# Keys of these objects are names (a property may be called "example"), not keywords.
SCHEMA_NAME_MAPS = {"properties", "patternProperties", "$defs", "dependentSchemas"}


def examples_and_schemas(node, path=(), in_schema=False, names=False):
    """(path of the example, the example, path of its schema) for every example: those of
    parameters, headers and media types, and the `example`/`examples` of schemas."""
    if isinstance(node, list):
        for index, item in enumerate(node):
            yield from examples_and_schemas(item, (*path, index), in_schema)
        return
    if not isinstance(node, dict):
        return
    if names:
        for key, value in node.items():
            yield from examples_and_schemas(value, (*path, key), in_schema)
        return
    if in_schema:
        if "example" in node:
            yield (*path, "example"), node["example"], path
        for index, example in enumerate(node.get("examples") or []):
            yield (*path, "examples", index), example, path
    elif "schema" in node:
        if "example" in node:
            yield (*path, "example"), node["example"], (*path, "schema")
        for name, example in (node.get("examples") or {}).items():
            yield (*path, "examples", name), example["value"], (*path, "schema")
    for key, value in node.items():
        if key in ("example", "examples") or (in_schema and key in ("enum", "const", "default")):
            continue
        component_schemas = path == ("components",) and key == "schemas"
        yield from examples_and_schemas(
            value,
            (*path, key),
            in_schema or key == "schema" or component_schemas,
            (in_schema and key in SCHEMA_NAME_MAPS) or component_schemas,
        )


def example_errors(document: dict) -> list[str]:
    """Each example checked against its schema (refs resolved in the document, formats
    asserted) by a Draft 2020-12 validator; the problems found."""
    registry = Registry().with_resource("urn:hookhub:doc", DRAFT202012.create_resource(document))
    problems = []
    for where, example, schema_path in examples_and_schemas(document):
        validator = Draft202012Validator(
            {"$ref": "urn:hookhub:doc" + _pointer(schema_path)},
            registry=registry,
            format_checker=Draft202012Validator.FORMAT_CHECKER,
        )
        problems += [f"{_pointer(where)}: {e.message}" for e in validator.iter_errors(example)]
    return problems


def test_every_example_in_the_document_is_valid_for_its_schema(client):
    EventTypeFactory(name="order-paid", schema=ORDER_SCHEMA, example=ORDER_EXAMPLE)
    EventTypeFactory(name="order_paid", schema={"type": "object"}, example={"any": "thing"})
    document = fetch_document(client)

    found = {where: schema for where, _, schema in examples_and_schemas(document)}
    media = ("webhooks", "order-paid", "post", "requestBody", "content", "application/json")
    assert found[(*media, "example")] == (*media, "schema")
    link = ("components", "schemas", "PaginatedEndpointList", "properties", "next")
    assert found[(*link, "example")] == link
    assert not [where for where in found if "EventType" in where]  # its `example` is a field
    assert example_errors(document) == []


def test_a_wrong_example_is_found(client):
    EventTypeFactory(name="order-paid", schema=ORDER_SCHEMA, example=ORDER_EXAMPLE)
    document = fetch_document(client)
    media = document["webhooks"]["order-paid"]["post"]["requestBody"]["content"]["application/json"]
    media["example"]["data"]["lines"][0]["quantity"] = "two"
    media["example"]["timestamp"] = "yesterday"

    problems = example_errors(document)
    assert len(problems) == 2, problems
    assert all("order-paid" in problem for problem in problems)


# --- Null, the 3.1 way ----------------------------------------------------------------------

REFERENCED = {"$defs": {"Money": {"type": "object", "required": ["cents"]}}}


@pytest.mark.parametrize(
    ("schema", "still_valid", "still_invalid"),
    [
        ({"type": "string", "nullable": True}, "x", 1),
        ({"type": ["string", "integer"], "nullable": True}, 1, 1.5),
        ({"type": "string", "enum": ["a", "b"], "nullable": True}, "a", "c"),
        ({"enum": ["a"], "nullable": True}, "a", "c"),
        ({"$ref": "#/$defs/Money", "nullable": True, "readOnly": True}, {"cents": 1}, {}),
        ({"allOf": [{"$ref": "#/$defs/Money"}], "nullable": True}, {"cents": 1}, {}),
        ({"oneOf": [{"type": "string"}, {"type": "integer"}], "nullable": True}, 1, []),
        (
            {"type": "object", "allOf": [{"$ref": "#/$defs/Money"}], "nullable": True},
            {"cents": 1},
            "x",
        ),
        ({"const": 3, "nullable": True}, 3, 4),
    ],
)
def test_nullable_becomes_a_type_list_or_a_null_branch(schema, still_valid, still_invalid):
    rewritten = allow_null(schema)

    def valid(candidate, value):
        return Draft202012Validator({**REFERENCED, **candidate}).is_valid(value)

    assert "nullable" not in json.dumps(rewritten)
    assert not valid(schema, None) and valid(rewritten, None)
    assert valid(rewritten, still_valid) and not valid(rewritten, still_invalid)
    assert rewritten.get("readOnly") == schema.get("readOnly")


def test_the_hook_rewrites_schemas_but_not_data_or_names():
    document = {
        "components": {
            "schemas": {
                "nullable": {
                    "type": "object",
                    "properties": {"nullable": True, "when": {"type": "string", "nullable": True}},
                    "example": {"nullable": True},
                    "default": {"nullable": True},
                }
            },
            "responses": {
                "default": {"content": {"a/b": {"schema": {"$ref": "#/x", "nullable": True}}}}
            },
        },
        "webhooks": {
            "x": {
                "post": {
                    "requestBody": {
                        "content": {"a/b": {"examples": {"e": {"value": {"nullable": True}}}}}
                    }
                }
            }
        },
    }
    result = postprocess_nullable(document, generator=None)

    schema = result["components"]["schemas"]["nullable"]
    assert schema["properties"] == {"nullable": True, "when": {"type": ["string", "null"]}}
    assert schema["example"] == schema["default"] == {"nullable": True}
    response = result["components"]["responses"]["default"]["content"]["a/b"]["schema"]
    assert response == {"anyOf": [{"$ref": "#/x"}, {"type": "null"}]}
    assert result["webhooks"] == document["webhooks"]


class RawSchemaView(APIView):
    # Raw schemas in `extend_schema` reach the document as written: 3.0's `nullable` too.
    @extend_schema(
        parameters=[OpenApiParameter("since", {"type": "string", "nullable": True})],
        responses={
            200: {
                "type": "object",
                "properties": {"error": {"$ref": "#/components/schemas/Error", "nullable": True}},
            }
        },
    )
    def get(self, request):
        return Response({"error": None})


def test_the_generated_document_says_null_the_3_1_way(client):
    document = SchemaGenerator(patterns=[path("raw/", RawSchemaView.as_view())]).get_schema(
        request=None, public=True
    )
    operation = document["paths"]["/raw/"]["get"]
    assert operation["parameters"][0]["schema"] == {"type": ["string", "null"]}
    schema = operation["responses"]["200"]["content"]["application/json"]["schema"]
    assert schema["properties"]["error"] == {
        "anyOf": [{"$ref": "#/components/schemas/Error"}, {"type": "null"}]
    }

    EventTypeFactory(name="order-paid", schema=ORDER_SCHEMA, example=ORDER_EXAMPLE)
    served = fetch_document(client)
    assert '"nullable"' not in json.dumps(served)
    # A stored `nullable` is no keyword to the validator that checks payloads: still no null.
    note = served["components"]["schemas"]["OrderPaid-Data"]["properties"]["note"]
    assert note == {"type": "string"}


# --- Staff-written text ---------------------------------------------------------------------

SAFE_TAGS = set("p a img em strong code pre ul ol li blockquote hr br h1 h2 h3 h4 h5 h6".split())


class _Elements(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.tags: set[str] = set()
        self.urls: list[str] = []

    def handle_starttag(self, tag, attrs):
        self.tags.add(tag)
        self.urls += [value or "" for name, value in attrs if name in ("href", "src")]


def rendered(text: str) -> _Elements:
    """`text` through a Markdown renderer that, like Redoc's by default, passes HTML and any
    link through (markdown-it's own link check is turned off)."""
    markdown_it = pytest.importorskip("markdown_it", reason="markdown-it-py (from schemathesis)")
    renderer = markdown_it.MarkdownIt("commonmark", {"html": True})
    renderer.validateLink = lambda url: True
    elements = _Elements()
    elements.feed(renderer.render(text))
    return elements


ATTACKS = [
    "<script>alert(1)</script>",
    "[x](javascript:alert(1))",
    "[x]( JavaScript:alert(1))",
    "![x](javascript:alert(1))",
    "[x]: javascript:alert(1)\n\n[x]",
    "- [y]:\n  javascript:alert(1)\n\n[y]",
    "[x](&#106;avascript:alert(1))",
    "<a href='javascript:alert(1)'>x</a>",
    "<javascript:alert(1)>",
    "[x](data:text/html,<script>alert(1)</script>)",
]


@pytest.mark.parametrize("attack", ATTACKS)
def test_staff_text_renders_without_scripts_or_non_web_links(attack):
    raw = rendered(attack)
    assert "script" in raw.tags or any(not url.startswith("http") for url in raw.urls)
    made_plain = rendered(plain_text(attack))
    assert made_plain.tags <= SAFE_TAGS
    assert all(re.match(r"https?://", url) for url in made_plain.urls)


def test_plain_text_keeps_web_links_and_ordinary_ampersands():
    text = "R&D: see [the guide](https://example.com/a?b=1&c=2) & [more]: https://x.example"
    assert plain_text(text) == text
    assert rendered(plain_text(text)).urls == ["https://example.com/a?b=1&c=2"]
    assert plain_text("a &lt; b, 1 < 2 > 0") == "a &amp;lt; b, 1 &lt; 2 &gt; 0"


# Markdown's and HTML's active characters, and words that make links and scripts.
FRAGMENTS = [*"<>&#;[]():! \n\\`-*/'\"=", "javascript:", "https://a.example", "script", "106", "x"]


@settings(max_examples=300, deadline=None)
@given(st.lists(st.sampled_from(FRAGMENTS), max_size=30))
def test_no_staff_text_renders_an_element_or_a_non_web_link(parts):
    elements = rendered(plain_text("".join(parts)))
    assert elements.tags <= SAFE_TAGS
    assert all(re.match(r"https?://", url) for url in elements.urls), elements.urls


def test_descriptions_and_summaries_reach_the_document_inert(client):
    EventTypeFactory(
        name="order-paid",
        description="<script>alert(1)</script>\n\nPay [here](javascript:alert(1)) or "
        "[there](https://pay.example).",
        schema={
            "type": "object",
            "properties": {"id": {"type": "integer", "description": "[x](javascript:alert(1))"}},
        },
        example={"id": 1},
    )
    document = fetch_document(client)
    operation = document["webhooks"]["order-paid"]["post"]
    text = json.dumps(document)

    assert operation["summary"] == "&lt;script&gt;alert(1)&lt;/script&gt;"
    assert operation["description"] == (
        "Pay [here]\\(javascript:alert(1)) or [there](https://pay.example)."
    )
    assert "<script" not in text and "](javascript:" not in text
    data = document["components"]["schemas"]["OrderPaid-Data"]
    assert data["properties"]["id"]["description"] == "[x]\\(javascript:alert(1))"
