"""CSRF: state-changing forms refuse a POST without the token and change nothing."""

from __future__ import annotations

import pytest
from django.test import Client
from django.urls import reverse

from subscriptions.models import Endpoint
from tests.factories import UserFactory
from tests.security.urlwalk import fill_kwargs, iter_routes, snapshot_all_tables

pytestmark = pytest.mark.django_db

PASSWORD = "correct horse battery staple"


def test_login_without_csrf_token_is_refused():
    UserFactory(username="carol")
    client = Client(enforce_csrf_checks=True)
    response = client.post(reverse("login"), {"username": "carol", "password": PASSWORD})
    assert response.status_code == 403
    assert "_auth_user_id" not in client.session


def test_login_with_csrf_token_works():
    UserFactory(username="carol")
    client = Client(enforce_csrf_checks=True)
    page = client.get(reverse("login"))
    token = page.cookies["csrftoken"].value
    response = client.post(
        reverse("login"),
        {"username": "carol", "password": PASSWORD, "csrfmiddlewaretoken": token},
    )
    assert response.status_code == 302


def test_logout_without_csrf_token_keeps_the_session():
    user = UserFactory(username="carol")
    client = Client(enforce_csrf_checks=True)
    client.force_login(user)
    assert client.post(reverse("logout")).status_code == 403
    assert client.session["_auth_user_id"] == str(user.pk)


def test_every_post_route_refuses_a_signed_in_user_without_csrf_token(owner, world):
    """Walks every URL pattern with a session but no token: nothing changes anywhere."""

    endpoint = world["objects"]["endpoint"]
    client = Client(enforce_csrf_checks=True)
    client.force_login(owner)
    before = snapshot_all_tables()
    refused = []
    for route in iter_routes():
        url = route.reverse(fill_kwargs(route, **world["objects"]))
        for method in ("post", "put", "patch", "delete"):
            response = getattr(client, method)(url)
            assert response.status_code in (403, 404, 405), (method, url, response.status_code)
            refused.append((method, url, response.status_code))
    assert snapshot_all_tables() == before
    assert any(status == 403 for *_, status in refused)
    assert Endpoint.objects.filter(pk=endpoint.pk).exists()
