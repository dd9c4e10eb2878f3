"""Every response that carries a signing secret says `Cache-Control: no-store`, so no
browser, proxy or HTTP client cache keeps a copy: the API's endpoint creation and rotation,
the dashboard's secret reveal and its page after a rotation."""

from __future__ import annotations

import pytest
from django.urls import reverse
from rest_framework.test import APIClient

from subscriptions.models import ApiToken, Endpoint
from tests.factories import EndpointFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def owner_api(owner) -> APIClient:
    _, key = ApiToken.issue(owner, name="tests")
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {key}")
    return client


def assert_not_stored(response) -> None:
    directives = {part.strip() for part in response["Cache-Control"].split(",")}
    assert {"no-store", "private"} <= directives, response["Cache-Control"]


def test_the_api_answer_to_creating_an_endpoint_is_not_stored(owner_api, owner, event_type):
    response = owner_api.post(
        "/api/v1/endpoints/",
        {"url": "https://receiver.example.com/hooks", "event_types": ["order-paid"]},
        format="json",
    )
    assert response.status_code == 201, response.content
    endpoint = Endpoint.objects.get(owner=owner)
    assert response.json()["secret"] == endpoint.secret
    assert_not_stored(response)


def test_the_api_answer_to_rotating_a_secret_is_not_stored(owner_api, owner):
    endpoint = EndpointFactory(owner=owner)
    response = owner_api.post(f"/api/v1/endpoints/{endpoint.uid}/rotate-secret/", format="json")
    assert response.status_code == 200, response.content
    endpoint.refresh_from_db()
    assert response.json()["secret"] == endpoint.secret
    assert_not_stored(response)


def test_the_dashboards_secret_reveal_is_not_stored(owner_client, owner):
    endpoint = EndpointFactory(owner=owner)
    response = owner_client.post(reverse("dashboard:secret-reveal", args=[endpoint.uid]))
    assert response.status_code == 200
    assert endpoint.secret in response.content.decode()
    assert_not_stored(response)


def test_the_dashboards_page_after_a_rotation_is_not_stored(owner_client, owner):
    endpoint = EndpointFactory(owner=owner)
    response = owner_client.post(
        reverse("dashboard:secret-rotate", args=[endpoint.uid]), {"previous_expires": "24h"}
    )
    assert response.status_code == 200, response.content.decode()
    endpoint.refresh_from_db()
    assert endpoint.secret in response.content.decode()
    assert_not_stored(response)


def test_reading_an_endpoint_carries_no_secret(owner_api, owner):
    """The ordinary answers need no such header: they never include the secret."""
    endpoint = EndpointFactory(owner=owner)
    response = owner_api.get(f"/api/v1/endpoints/{endpoint.uid}/")
    assert response.status_code == 200
    assert "secret" not in response.json()
    assert endpoint.secret not in response.content.decode()
