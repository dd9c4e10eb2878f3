from __future__ import annotations

import pytest
from rest_framework.test import APIClient

from hookhub.api.docs import clear_cache
from subscriptions.models import ApiToken


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
