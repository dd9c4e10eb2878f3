"""The OpenAPI 3.1 document: valid, complete `webhooks`, live with the catalogue."""

from __future__ import annotations

import json
import re

import pytest
import yaml
from django.core.management import call_command
from openapi_spec_validator import validate
from openapi_spec_validator.validation import OpenAPIV31SpecValidator

from subscriptions.models import EventType
from tests.factories import EventTypeFactory

pytestmark = pytest.mark.django_db


def fetch_document(client, **params) -> dict:
    response = client.get("/api/schema/", {"format": "json", **params})
    assert response.status_code == 200
    return json.loads(response.content)


def resolve(document: dict, node: dict) -> dict:
    while "$ref" in node:
        pointer = node["$ref"]
        assert pointer.startswith("#/"), pointer
        node = document
        for part in pointer[2:].split("/"):
            node = node[part.replace("~1", "/").replace("~0", "~")]
    return node


def body(document: dict, type_name: str, method: str = "post") -> dict:
    """A webhook's body schema (the envelope), its `$ref` followed."""
    media = document["webhooks"][type_name][method]["requestBody"]["content"]["application/json"]
    return resolve(document, media["schema"])


def all_refs(node):
    if isinstance(node, dict):
        for key, value in node.items():
            if key == "$ref":
                yield value
            else:
                yield from all_refs(value)
    elif isinstance(node, list):
        for item in node:
            yield from all_refs(item)


def test_document_is_valid_openapi_3_1_with_every_ref_resolving(client):
    EventTypeFactory(
        name="order-shipped",
        schema={
            "type": "object",
            "properties": {"address": {"$ref": "#/$defs/address"}},
            "$defs": {"address": {"type": "object", "properties": {"city": {"type": "string"}}}},
        },
        example={"address": {"city": "Lyon"}},
    )
    document = fetch_document(client)

    assert document["openapi"] == "3.1.0"
    validate(document, cls=OpenAPIV31SpecValidator)
    for ref in all_refs(document):
        resolve(document, {"$ref": ref})  # raises KeyError on a dangling $ref
    data = resolve(document, body(document, "order-shipped")["properties"]["data"])
    address = resolve(document, data["properties"]["address"])
    assert address["properties"]["city"] == {"type": "string"}


def test_spectacular_command_validates_with_fail_on_warn(tmp_path):
    target = tmp_path / "schema.yaml"
    call_command("spectacular", "--validate", "--fail-on-warn", "--file", str(target))
    document = yaml.safe_load(target.read_text())
    assert "new-subscription" in document["webhooks"]


def test_new_subscription_webhook_has_exactly_the_three_declared_fields(client):
    document = fetch_document(client)
    operation = document["webhooks"]["new-subscription"]["post"]

    assert operation["summary"] == "A user subscribed to a plan."
    headers = {p["name"]: p for p in operation["parameters"] if p["in"] == "header"}
    assert set(headers) == {"webhook-id", "webhook-timestamp", "webhook-signature"}
    assert all(p["required"] for p in headers.values())
    assert set(operation["responses"]) == {"2XX"}

    media = operation["requestBody"]["content"]["application/json"]
    envelope = body(document, "new-subscription")
    assert set(envelope["properties"]) == {"type", "timestamp", "data"}
    assert envelope["properties"]["type"]["const"] == "new-subscription"
    assert "$ref" in envelope["properties"]["data"]  # a named component, for code generators
    data = resolve(document, envelope["properties"]["data"])
    assert data["properties"] == {
        "username": {"type": "string"},
        "monthly_fee": {"type": "number", "format": "double"},
        "start_date": {"type": "string", "format": "date-time"},
    }
    assert sorted(data["required"]) == ["monthly_fee", "start_date", "username"]
    assert media["example"]["data"]["username"] == "ada"


def test_database_type_appears_without_restart_and_disappears_when_archived(staff_api, client):
    assert "refund-issued" not in fetch_document(client)["webhooks"]

    created = staff_api.post(
        "/api/v1/event-types/",
        {
            "name": "refund-issued",
            "description": "A refund was issued.\n\nMoney goes back within 5 days.",
            "schema": {
                "type": "object",
                "properties": {"amount": {"type": "number"}},
                "required": ["amount"],
            },
            "example": {"amount": 5},
        },
        format="json",
    )
    assert created.status_code == 201, created.content

    document = fetch_document(client)
    webhook = document["webhooks"]["refund-issued"]["post"]
    assert webhook["summary"] == "A refund was issued."
    assert webhook["description"] == "Money goes back within 5 days."
    data = resolve(document, body(document, "refund-issued")["properties"]["data"])
    assert data["properties"] == {"amount": {"type": "number"}}

    archived = staff_api.patch(
        "/api/v1/event-types/refund-issued/", {"archived": True}, format="json"
    )
    assert archived.status_code == 200
    assert "refund-issued" not in fetch_document(client)["webhooks"]


def test_put_type_is_listed_under_put(client):
    EventTypeFactory(name="profile-replaced", method=EventType.Method.PUT)
    assert set(fetch_document(client)["webhooks"]["profile-replaced"]) == {"put"}


def test_archiving_with_queryset_update_still_refreshes_the_cached_document(client):
    EventTypeFactory(name="stock-low")
    assert "stock-low" in fetch_document(client)["webhooks"]
    EventType.objects.filter(name="stock-low").update(archived=True)
    assert "stock-low" not in fetch_document(client)["webhooks"]


def test_schema_is_served_as_yaml_and_json(client):
    as_yaml = client.get("/api/schema/")
    assert as_yaml.status_code == 200
    assert as_yaml["Content-Type"].startswith("application/vnd.oai.openapi")
    assert yaml.safe_load(as_yaml.content)["openapi"] == "3.1.0"

    as_json = client.get("/api/schema/", HTTP_ACCEPT="application/vnd.oai.openapi+json")
    assert json.loads(as_json.content)["webhooks"]
    assert yaml.safe_load(client.get("/api/schema/?format=yaml").content)["webhooks"]


def test_error_responses_are_documented_on_every_operation(client):
    document = fetch_document(client)
    for path, item in document["paths"].items():
        for method, operation in item.items():
            assert {"401", "403", "404"} <= set(operation["responses"]), (method, path)
            if method in ("post", "patch"):
                assert "400" in operation["responses"], (method, path)


@pytest.mark.parametrize("path", ["/api/docs/", "/api/redoc/"])
def test_docs_pages_load_only_local_files(client, path):
    response = client.get(path)
    assert response.status_code == 200
    html = response.content.decode()
    assert not re.search(r"(src|href)=\"(https?:)?//", html), html
    assert "fonts.googleapis" not in html
    assert "<script>" not in html  # no inline script: the CSP forbids it
    for asset in re.findall(r"(?:src|href)=\"(/static/[^\"]+)\"", html):
        assert client.get(asset).status_code == 200, asset


def test_swagger_ui_script_has_no_outside_validator(client):
    script = client.get("/api/docs/?script=").content.decode()
    assert "validatorUrl" in script and "validator.swagger.io" not in script


def test_document_for_500_types_is_cached_and_not_rebuilt_per_request(
    client, django_assert_max_num_queries
):
    EventType.objects.bulk_create(
        EventType(name=f"bulk-type-{n}", schema={"type": "object"}) for n in range(500)
    )
    first = fetch_document(client)
    assert len(first["webhooks"]) >= 500
    # A cached answer costs one query: the catalogue fingerprint. Rebuilding reads every row.
    with django_assert_max_num_queries(1):
        second = fetch_document(client)
    assert second == first
    EventTypeFactory(name="one-more")
    assert "one-more" in fetch_document(client)["webhooks"]


def test_redoc_bundle_is_served_locally_without_the_cdn_logo(client):
    html = client.get("/api/redoc/").content.decode()
    assert 'src="/api/redoc/redoc.standalone.js"' in html
    bundle = client.get("/api/redoc/redoc.standalone.js")
    assert bundle.status_code == 200
    assert b"cdn.redoc.ly" not in bundle.content and b"Redoc" in bundle.content
