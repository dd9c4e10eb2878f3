"""Every response the API tests get from /api/v1/ is held to the served OpenAPI document
(tests/api/conftest.py): a body, status or content type the document does not describe
fails the test, and an answer from outside the document must still be the JSON error."""

from __future__ import annotations

import json

import pytest
from django.http import HttpResponse
from rest_framework.response import Response

from subscriptions.api import views
from tests.api import conftest
from tests.factories import EndpointFactory

pytestmark = pytest.mark.django_db


def test_a_response_body_the_document_does_not_describe_fails_the_test(owner_api, monkeypatch):
    monkeypatch.setattr(
        views.EndpointViewSet, "list", lambda self, request: Response({"results": "none"})
    )

    with pytest.raises(pytest.fail.Exception, match="does not match the OpenAPI document"):
        owner_api.get("/api/v1/endpoints/")


def test_an_undocumented_status_fails_the_test(owner_api, monkeypatch):
    monkeypatch.setattr(
        views.EndpointViewSet, "list", lambda self, request: Response({"detail": "x"}, status=418)
    )

    with pytest.raises(pytest.fail.Exception, match="ResponseNotFound"):
        owner_api.get("/api/v1/endpoints/")


def test_the_last_page_with_null_links_matches_the_document(owner_api, owner, client):
    EndpointFactory(owner=owner)

    page = owner_api.get("/api/v1/endpoints/").json()  # validated on the way

    assert page["next"] is None and page["previous"] is None
    document = json.loads(client.get("/api/schema/", {"format": "json"}).content)
    for name, schema in document["components"]["schemas"].items():
        if name.startswith("Paginated"):
            assert schema["required"] == ["next", "previous", "results"]
            for link in ("next", "previous"):
                assert schema["properties"][link]["type"] == ["string", "null"]
                assert "nullable" not in schema["properties"][link]


def test_an_undocumented_method_still_answers_the_json_error(owner_api, owner):
    endpoint = EndpointFactory(owner=owner)

    response = owner_api.put(f"/api/v1/endpoints/{endpoint.uid}/", {}, format="json")

    assert response.status_code == 405
    assert response.json()["code"] == "method_not_allowed"


def test_an_error_outside_the_document_that_is_not_the_json_error_fails(owner_api):
    owner_api.get("/api/v1/no-such-route/")  # the JSON 404 passes
    page = HttpResponse("<h1>Not Found</h1>", status=404, content_type="text/html")

    with pytest.raises(AssertionError):
        conftest._served.check_error_shape(page)


def test_the_document_is_fetched_once_and_again_only_for_a_path_it_lacks(owner_api, monkeypatch):
    served = conftest.ServedDocument()
    monkeypatch.setattr(conftest, "_served", served)
    loads = []
    load = served._load
    monkeypatch.setattr(served, "_load", lambda: loads.append(1) or load())

    owner_api.get("/api/v1/endpoints/")
    owner_api.get("/api/v1/deliveries/")
    assert len(loads) == 1

    owner_api.get("/api/v1/no-such-route/")
    owner_api.get("/api/v1/no-such-route/")
    assert len(loads) == 2
