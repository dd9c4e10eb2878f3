"""The API's endpoint representation never returns a secret header value.

Reads mask them; writing `headers` replaces the whole set, and a masked value (or null) for a
name keeps the value stored under it, so a client can send back what it read."""

from __future__ import annotations

import pytest

from subscriptions.headers import MASK
from subscriptions.models import Endpoint
from tests.factories import EndpointFactory

pytestmark = pytest.mark.django_db

TOKEN = "Bearer api-tok-91c7-credential"
MARKED = "marked-api-value-3310"
HEADERS = {"Authorization": TOKEN, "X-Tenant": "acme", "X-Pass": MARKED}
MASKED = {"Authorization": MASK, "X-Tenant": "acme", "X-Pass": MASK}


def path(endpoint: Endpoint) -> str:
    return f"/api/v1/endpoints/{endpoint.uid}/"


@pytest.fixture
def endpoint(owner):
    return EndpointFactory(owner=owner, headers=HEADERS, secret_header_names=["X-Pass"])


def test_reads_mask_secret_values_for_owner_and_staff(owner_api, staff_api, endpoint):
    for api in (owner_api, staff_api):
        one = api.get(path(endpoint))
        assert one.status_code == 200
        assert one.json()["headers"] == MASKED
        assert one.json()["secret_header_names"] == ["X-Pass"]
        listed = api.get("/api/v1/endpoints/").content.decode()
        assert TOKEN not in listed and MARKED not in listed
        assert TOKEN not in one.content.decode() and MARKED not in one.content.decode()


def test_create_stores_the_values_and_answers_masked(owner_api):
    response = owner_api.post(
        "/api/v1/endpoints/",
        {
            "url": "https://hooks.example.com/in",
            "all_event_types": True,
            "headers": HEADERS,
            "secret_header_names": ["x-pass", "X-Api-Key"],
        },
        format="json",
    )
    assert response.status_code == 201, response.content
    body = response.json()
    assert body["headers"] == MASKED
    endpoint = Endpoint.objects.get(uid=body["id"])
    assert endpoint.headers == HEADERS
    # Credential-like names are secret anyway; only the owner's additions are stored.
    assert endpoint.secret_header_names == ["x-pass"] == body["secret_header_names"]


def test_patching_back_what_was_read_keeps_every_value(owner_api, endpoint):
    read = owner_api.get(path(endpoint)).json()
    changed = {**read["headers"], "X-Tenant": "globex"}
    response = owner_api.patch(path(endpoint), {"headers": changed}, format="json")
    assert response.status_code == 200, response.content
    endpoint.refresh_from_db()
    assert endpoint.headers == {**HEADERS, "X-Tenant": "globex"}


def test_a_null_value_keeps_the_stored_one_and_a_typed_one_replaces_it(owner_api, endpoint):
    body = {"headers": {"Authorization": "Bearer replaced", "X-Pass": None, "X-Tenant": "a"}}
    assert owner_api.patch(path(endpoint), body, format="json").status_code == 200
    endpoint.refresh_from_db()
    assert endpoint.headers == {
        "Authorization": "Bearer replaced",
        "X-Pass": MARKED,
        "X-Tenant": "a",
    }


def test_a_patch_without_headers_changes_none(owner_api, endpoint):
    response = owner_api.patch(path(endpoint), {"description": "other"}, format="json")
    assert response.status_code == 200
    endpoint.refresh_from_db()
    assert endpoint.headers == HEADERS and endpoint.description == "other"


def test_a_name_left_out_of_headers_is_removed(owner_api, endpoint):
    body = {"headers": {"Authorization": MASK}}
    assert owner_api.patch(path(endpoint), body, format="json").status_code == 200
    endpoint.refresh_from_db()
    assert endpoint.headers == {"Authorization": TOKEN}


def test_a_masked_value_with_nothing_stored_is_a_400(owner_api, endpoint):
    response = owner_api.patch(
        path(endpoint), {"headers": {**MASKED, "X-Other-Token": None}}, format="json"
    )
    assert response.status_code == 400
    assert "X-Other-Token" in str(response.json()["errors"]["headers"])
    endpoint.refresh_from_db()
    assert endpoint.headers == HEADERS


def test_marking_a_header_secret_masks_it(owner_api, endpoint):
    body = {"secret_header_names": ["X-Pass", "X-Tenant"]}
    response = owner_api.patch(path(endpoint), body, format="json")
    assert response.status_code == 200
    assert response.json()["headers"]["X-Tenant"] == MASK
    bad = owner_api.patch(path(endpoint), {"secret_header_names": ["Bad Name"]}, format="json")
    assert bad.status_code == 400 and "secret_header_names" in bad.json()["errors"]


def test_the_schema_documents_the_semantics(owner_api):
    schema = owner_api.get("/api/schema/?format=json").json()
    endpoint_schema = schema["components"]["schemas"]["Endpoint"]["properties"]
    assert "keeps the value" in endpoint_schema["headers"]["description"]
    assert "secret_header_names" in endpoint_schema
