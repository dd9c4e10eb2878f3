from __future__ import annotations

import json

import pytest
from django.test import Client
from openapi_core import OpenAPI
from openapi_core.contrib.django import DjangoOpenAPIRequest, DjangoOpenAPIResponse
from openapi_core.exceptions import OpenAPIError
from openapi_core.templating.paths.exceptions import OperationNotFound, PathNotFound
from openapi_schema_validator import OAS31Validator
from rest_framework.test import APIClient

from hookhub.api.docs import clear_cache
from subscriptions.models import ApiToken

API_PREFIX = "/api/v1/"


def bearer_client(user) -> APIClient:
    """An API client that authenticates like a script: `Authorization: Bearer <token>`."""
    _, key = ApiToken.issue(user, name="tests")
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {key}")
    return client


@pytest.fixture
def owner_api(owner):
    return bearer_client(owner)


@pytest.fixture
def outsider_api(outsider):
    return bearer_client(outsider)


@pytest.fixture
def staff_api(staff):
    return bearer_client(staff)


@pytest.fixture(autouse=True)
def _fresh_schema_cache():
    # The document cache is per process and keyed on the catalogue; tests roll back their
    # rows, so a fingerprint could repeat across tests with different code-level state.
    clear_cache()
    yield
    clear_cache()


class _URLRequest(DjangoOpenAPIRequest):
    # Find the operation from the URL, as a client of the document would, not from Django's
    # route (a router's regex does not translate into the document's path template).
    path_pattern = None
    # Only the response is validated; a form post's body is no longer readable anyway.
    body = b""


class ServedDocument:
    """The document /api/schema/ serves, fetched once per test session: responses are held
    to its `paths`, which only code changes. Tests that add event types change `webhooks`
    alone, so that section is left out; a path the document lacks refetches it once."""

    def __init__(self) -> None:
        self._document: dict | None = None
        self._openapi: OpenAPI | None = None
        self._refetched_for: set[str] = set()

    def check(self, response) -> None:
        request = response.wsgi_request
        if not request.path.startswith(API_PREFIX) or request.method in ("HEAD", "OPTIONS"):
            return  # HEAD and OPTIONS are HTTP's, not operations of the document
        try:
            self._validate(request, response)
        except PathNotFound:
            if request.path in self._refetched_for:
                raise
            self._refetched_for.add(request.path)
            self._load()
            self._validate(request, response)

    def _validate(self, request, response) -> None:
        if self._openapi is None:
            self._load()
        self._openapi.validate_response(_URLRequest(request), DjangoOpenAPIResponse(response))

    def _load(self) -> None:
        served = Client().get("/api/schema/", {"format": "json"})
        assert served.status_code == 200, served.content[:500]
        document = json.loads(served.content)
        document.pop("webhooks", None)
        self._document = document
        self._openapi = OpenAPI.from_dict(document)

    def check_error_shape(self, response) -> None:
        """An answer from outside the document (an unknown route, an undocumented method)
        is still the API's error: JSON matching the `Error` component."""
        if 300 <= response.status_code < 400:
            return  # a GET redirected to its slashed route
        assert response.status_code >= 400, (
            f"{response.wsgi_request.method} {response.wsgi_request.path} answered "
            f"{response.status_code} but is not in the document"
        )
        assert response["Content-Type"].startswith("application/json"), response.content[:300]
        if self._document is None:
            self._load()
        error = self._document["components"]["schemas"]["Error"]
        OAS31Validator(error).validate(json.loads(response.content))


_served = ServedDocument()


@pytest.fixture(autouse=True)
def _responses_match_document(monkeypatch):
    """Every response to /api/v1/ in these tests, errors included, is checked against the
    served OpenAPI document; a mismatch fails the test that made the request."""
    send = Client.request  # APIClient's requests end here too

    def request(client, **kwargs):
        response = send(client, **kwargs)
        try:
            _served.check(response)
        except (PathNotFound, OperationNotFound):
            _served.check_error_shape(response)
        except OpenAPIError as error:
            pytest.fail(f"Response does not match the OpenAPI document: {_describe(error)}")
        return response

    monkeypatch.setattr(Client, "request", request)


def _describe(error: OpenAPIError) -> str:
    """The error and its causes, down to each schema message with where it applies."""
    parts = [f"{type(error).__name__}: {error}"]
    cause = error.__cause__
    while cause is not None:
        parts.append(f"{type(cause).__name__}: {cause}")
        for detail in getattr(cause, "schema_errors", ()):
            parts.append(f"  at {list(detail.absolute_path)}: {detail.message}")
        cause = cause.__cause__
    return "\n".join(parts)
