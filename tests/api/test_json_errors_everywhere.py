"""Under /api/ every error is the API's JSON error, with DEBUG on as well as off: unknown
routes, and routes spelled without their trailing slash (which APPEND_SLASH would redirect,
losing a POST's body, or with DEBUG on turn into a 500 page). Other pages keep Django's."""

from __future__ import annotations

import pytest
from django.test import override_settings

from subscriptions.models import Endpoint
from tests.factories import EndpointFactory

pytestmark = [pytest.mark.django_db, pytest.mark.parametrize("debug", [False, True])]


def assert_json_404(response) -> dict:
    assert response.status_code == 404, response.content[:300]
    assert response["Content-Type"] == "application/json"
    body = response.json()
    assert body["code"] == "not_found"
    return body


def test_an_unknown_api_route_is_a_json_404(owner_api, debug):
    with override_settings(DEBUG=debug):
        for path in ("/api/v1/no-such-thing/", "/api/v2/endpoints/", "/api/", "/api"):
            assert_json_404(owner_api.get(path))


def test_a_post_without_the_trailing_slash_names_the_route_and_stores_nothing(owner_api, debug):
    with override_settings(DEBUG=debug):
        response = owner_api.post(
            "/api/v1/endpoints", {"url": "https://hooks.example.com/in"}, format="json"
        )

    assert "POST /api/v1/endpoints/" in assert_json_404(response)["detail"]
    assert not Endpoint.objects.exists()


def test_a_patch_without_the_trailing_slash_changes_nothing(owner_api, owner, debug):
    endpoint = EndpointFactory(owner=owner, description="before")

    with override_settings(DEBUG=debug):
        response = owner_api.patch(
            f"/api/v1/endpoints/{endpoint.uid}", {"description": "after"}, format="json"
        )

    assert f"PATCH /api/v1/endpoints/{endpoint.uid}/" in assert_json_404(response)["detail"]
    endpoint.refresh_from_db()
    assert endpoint.description == "before"


def test_a_post_to_an_unknown_route_without_a_slash_suggests_nothing(owner_api, debug):
    with override_settings(DEBUG=debug):
        response = owner_api.post("/api/v1/no-such-thing", {}, format="json")

    assert assert_json_404(response)["detail"] == "No such API route."


def test_a_get_without_the_trailing_slash_is_redirected_to_the_route(owner_api, client, debug):
    with override_settings(DEBUG=debug):
        listed = owner_api.get("/api/v1/endpoints", {"page_size": "5"})
        docs = client.get("/api/docs")

    assert listed.status_code == 301
    assert listed["Location"] == "/api/v1/endpoints/?page_size=5"
    assert docs.status_code == 301 and docs["Location"] == "/api/docs/"


def test_pages_outside_the_api_keep_djangos_html_404(client, debug):
    with override_settings(DEBUG=debug):
        response = client.get("/no-such-page/")

    assert response.status_code == 404
    assert response["Content-Type"].startswith("text/html")
