"""The staff banner ("alice's endpoint — you are viewing it as staff") is on the secret
rotation and recover pages too, and never shows for the endpoint's owner."""

from __future__ import annotations

import pytest
from django.urls import reverse

from tests.factories import EndpointFactory, UserFactory

pytestmark = pytest.mark.django_db

BANNER = "<strong>alice</strong>'s endpoint — you are viewing it as staff."
PAGES = ["secret-rotate", "recover"]


@pytest.fixture
def alices(db):
    return EndpointFactory(owner=UserFactory(username="alice"))


@pytest.mark.parametrize("name", PAGES)
def test_staff_see_whose_endpoint_the_page_is_for(staff_client, alices, name):
    response = staff_client.get(reverse(f"dashboard:{name}", args=[alices.uid]))
    assert response.status_code == 200
    assert BANNER in response.content.decode()


@pytest.mark.parametrize("name", PAGES)
def test_alice_gets_no_banner_on_her_own_endpoint(client, alices, name):
    client.force_login(alices.owner)
    response = client.get(reverse(f"dashboard:{name}", args=[alices.uid]))
    assert response.status_code == 200
    assert "you are viewing it as staff" not in response.content.decode()
