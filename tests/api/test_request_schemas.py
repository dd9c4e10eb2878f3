"""Request bodies are documented as the server checks them: what the document offers a
request is accepted, and what the server refuses (with a 400 that changes nothing) the
document leaves out. Responses keep describing everything a stored row may hold."""

from __future__ import annotations

import json
import re

import pytest

from deliveries.models import Event
from subscriptions.models import Endpoint, EventType
from tests.factories import EndpointFactory

pytestmark = pytest.mark.django_db

# Operations whose bodies hold null or nested JSON, which form encodings cannot express.
JSON_ONLY_OPERATIONS = [
    ("/api/v1/endpoints/", "post"),
    ("/api/v1/endpoints/{id}/", "patch"),
    ("/api/v1/endpoints/{id}/test/", "post"),
    ("/api/v1/event-types/", "post"),
    ("/api/v1/event-types/{name}/", "patch"),
    ("/api/v1/events/", "post"),
    ("/api/v1/events/batch/", "post"),
]


@pytest.fixture
def document(client) -> dict:
    response = client.get("/api/schema/", {"format": "json"})
    assert response.status_code == 200
    return json.loads(response.content)


def schemas(document: dict) -> dict:
    return document["components"]["schemas"]


def request_schema(document: dict, path: str, method: str) -> dict:
    body = document["paths"][path][method]["requestBody"]["content"]["application/json"]
    return resolve(document, body["schema"])


def resolve(document: dict, node: dict) -> dict:
    while "$ref" in node:
        node = schemas(document)[node["$ref"].rsplit("/", 1)[1]]
    return node


def test_requests_may_set_enabled_or_paused_while_responses_may_also_say_disabled(document):
    for path, method in [("/api/v1/endpoints/", "post"), ("/api/v1/endpoints/{id}/", "patch")]:
        state = request_schema(document, path, method)["properties"]["state"]
        assert state == {"$ref": "#/components/schemas/RequestedStateEnum"}
    assert schemas(document)["RequestedStateEnum"]["enum"] == ["enabled", "paused"]
    response_state = resolve(document, schemas(document)["Endpoint"]["properties"]["state"])
    assert response_state["enum"] == ["enabled", "paused", "disabled"]


def test_endpoint_request_components_leave_out_the_read_only_fields(document):
    created = request_schema(document, "/api/v1/endpoints/", "post")
    assert not {"id", "owner", "disabled_at", "created_at"} & set(created["properties"])
    assert created["required"] == ["url"]
    assert "required" not in request_schema(document, "/api/v1/endpoints/{id}/", "patch")


def test_requesting_the_disabled_state_is_refused_and_changes_nothing(owner_api, owner):
    endpoint = EndpointFactory(owner=owner, state=Endpoint.State.PAUSED)

    response = owner_api.patch(
        f"/api/v1/endpoints/{endpoint.uid}/", {"state": "disabled"}, format="json"
    )

    assert response.status_code == 400
    assert "state" in response.json()["errors"]
    endpoint.refresh_from_db()
    assert endpoint.state == Endpoint.State.PAUSED


def test_creating_an_endpoint_in_the_disabled_state_is_refused(owner_api):
    response = owner_api.post(
        "/api/v1/endpoints/",
        {"url": "https://hooks.example.com/in", "state": "disabled"},
        format="json",
    )

    assert response.status_code == 400
    assert "state" in response.json()["errors"]
    assert not Endpoint.objects.exists()


def test_rate_limit_is_documented_as_positive_or_null(document):
    rate_limit = request_schema(document, "/api/v1/endpoints/{id}/", "patch")["properties"][
        "rate_limit"
    ]
    assert rate_limit["minimum"] == 1
    assert set(rate_limit["type"]) == {"integer", "null"}


def test_a_zero_rate_limit_is_refused_and_one_or_null_is_accepted(owner_api, owner):
    endpoint = EndpointFactory(owner=owner, rate_limit=5)
    path = f"/api/v1/endpoints/{endpoint.uid}/"

    refused = owner_api.patch(path, {"rate_limit": 0}, format="json")
    assert refused.status_code == 400 and "rate_limit" in refused.json()["errors"]
    endpoint.refresh_from_db()
    assert endpoint.rate_limit == 5

    assert owner_api.patch(path, {"rate_limit": 1}, format="json").json()["rate_limit"] == 1
    assert owner_api.patch(path, {"rate_limit": None}, format="json").json()["rate_limit"] is None


def test_an_event_types_schema_is_documented_as_an_object(document):
    for component in ("EventType", "PatchedEventType"):
        assert schemas(document)[component]["properties"]["schema"]["type"] == "object"


@pytest.mark.parametrize("schema", [[], "object", 3, True])
def test_an_event_type_schema_that_is_not_an_object_is_refused(staff_api, schema):
    response = staff_api.post(
        "/api/v1/event-types/", {"name": "refund-issued", "schema": schema}, format="json"
    )

    assert response.status_code == 400
    assert "schema" in response.json()["errors"]
    assert not EventType.objects.filter(name="refund-issued").exists()


def test_an_event_type_description_with_a_control_character_is_refused_as_documented(
    document, staff_api
):
    pattern = schemas(document)["EventType"]["properties"]["description"]["pattern"]
    assert re.search(pattern, "Tabs\tand\nline breaks are fine.")
    assert not re.search(pattern, "bell\x07")

    response = staff_api.post(
        "/api/v1/event-types/", {"name": "refund-issued", "description": "x\x87"}, format="json"
    )

    assert response.status_code == 400 and "description" in response.json()["errors"]
    assert not EventType.objects.filter(name="refund-issued").exists()


def test_a_payload_is_documented_as_any_json_but_null(document):
    for component in ("EventIngest", "EventBatchItem", "TestEvent"):
        data = schemas(document)[component]["properties"]["data"]
        assert "null" not in data["type"] and "object" in data["type"]


def test_a_null_payload_is_refused_and_nothing_is_published(staff_api, event_type):
    response = staff_api.post(
        "/api/v1/events/", {"type": event_type.name, "data": None}, format="json"
    )

    assert response.status_code == 400 and "data" in response.json()["errors"]
    assert not Event.objects.exists()


def test_header_names_and_values_are_documented_as_the_server_checks_them(document, settings):
    headers = request_schema(document, "/api/v1/endpoints/", "post")["properties"]["headers"]
    names = headers["propertyNames"]
    values = headers["additionalProperties"]

    assert re.search(names["pattern"], "X-Team")
    assert not re.search(names["pattern"], "X Team") and not re.search(names["pattern"], "")
    assert names["maxLength"] == settings.HOOKHUB_MAX_HEADER_NAME_LENGTH
    assert headers["maxProperties"] == settings.HOOKHUB_MAX_CUSTOM_HEADERS
    assert re.search(values["pattern"], "billing team") and re.search(values["pattern"], "")
    assert not re.search(values["pattern"], " padded ") and not re.search(values["pattern"], "a\nb")


def test_a_header_name_the_document_refuses_is_refused_by_the_server(owner_api):
    response = owner_api.post(
        "/api/v1/endpoints/",
        {"url": "https://hooks.example.com/in", "headers": {"X Team": "billing"}},
        format="json",
    )

    assert response.status_code == 400 and "headers" in response.json()["errors"]
    assert not Endpoint.objects.exists()


def test_operations_with_json_bodies_offer_json_only_and_document_the_415(document):
    for path, method in JSON_ONLY_OPERATIONS:
        operation = document["paths"][path][method]
        assert list(operation["requestBody"]["content"]) == ["application/json"], path
        assert "415" in operation["responses"], path


def test_a_form_post_to_a_json_only_operation_is_a_415_and_stores_nothing(owner_api, staff_api):
    endpoint = owner_api.post(
        "/api/v1/endpoints/", {"url": "https://hooks.example.com/in"}, format="multipart"
    )
    event_type = staff_api.post("/api/v1/event-types/", {"name": "refund-issued"})

    for response in (endpoint, event_type):
        assert response.status_code == 415
        assert response.json()["code"] == "unsupported_media_type"
    assert not Endpoint.objects.exists()
    assert not EventType.objects.filter(name="refund-issued").exists()


def test_operations_with_plain_scalar_options_still_take_a_form_post(owner_api, owner, document):
    endpoint = EndpointFactory(owner=owner)
    operation = document["paths"]["/api/v1/endpoints/{id}/rotate-secret/"]["post"]
    assert "multipart/form-data" in operation["requestBody"]["content"]

    response = owner_api.post(
        f"/api/v1/endpoints/{endpoint.uid}/rotate-secret/",
        {"previous_expires_in": "3600"},
        format="multipart",
    )

    assert response.status_code == 200, response.content
