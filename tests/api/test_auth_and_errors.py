"""Bearer tokens, session auth and the one JSON error shape."""

from __future__ import annotations

import pytest
from django.core.management import call_command
from rest_framework.test import APIClient

pytestmark = pytest.mark.django_db


def test_token_from_the_command_authenticates(owner, capsys):
    call_command("create_api_token", owner.username)
    token = capsys.readouterr().out.strip().split()[-1]
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {token}")
    assert client.get("/api/v1/endpoints/").status_code == 200


@pytest.mark.parametrize(
    "header", ["Bearer hh_not-a-real-token", "Bearer", "Bearer two parts", "bearer  "]
)
def test_bad_token_is_a_json_401(header):
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=header)
    response = client.get("/api/v1/endpoints/")
    assert response.status_code == 401
    assert response["Content-Type"] == "application/json"
    assert response.json()["detail"]
    assert response["WWW-Authenticate"] == "Bearer"


def test_no_credentials_is_a_json_401():
    response = APIClient().get("/api/v1/deliveries/")
    assert response.status_code == 401
    assert response.json() == {
        "detail": "Authentication credentials were not provided.",
        "code": "not_authenticated",
    }


def test_session_login_works_for_the_browser(owner_client):
    assert owner_client.get("/api/v1/endpoints/").status_code == 200


def test_unknown_api_route_is_json_404(owner_api):
    response = owner_api.get("/api/v1/nothing-here/")
    assert response.status_code == 404
    assert response.json()["code"] == "not_found"


def test_malformed_json_is_a_400_with_a_message(owner_api):
    response = owner_api.generic(
        "POST", "/api/v1/endpoints/", "{not json", content_type="application/json"
    )
    assert response.status_code == 400
    assert "JSON parse error" in response.json()["detail"]
