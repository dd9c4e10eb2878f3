"""Staff know whose endpoint they see: the owner column and filter on the endpoint list, the
banner on someone else's endpoint pages, the overview after sign-in; and the 403, 404 and
500 pages are HookHub's own, with a way back."""

from __future__ import annotations

import pytest
from django.http import HttpRequest
from django.test import RequestFactory
from django.urls import include, path, reverse

from hookhub.api import errors
from tests.factories import DeliveryFactory, EndpointFactory, UserFactory

pytestmark = pytest.mark.django_db

BANNER = "'s endpoint — you are viewing it as staff."
STYLESHEET = 'rel="stylesheet" href="/static/hookhub/hookhub.css"'


def crash(request: HttpRequest):
    raise RuntimeError("boom")


# A URLconf for the 500 test: the real one plus a view that fails.
urlpatterns = [path("crash/", crash), path("", include("hookhub.urls"))]
handler404 = "hookhub.api.errors.json_not_found"
handler500 = "hookhub.api.errors.json_server_error"


@pytest.fixture
def alices(db):
    alice = UserFactory(username="alice")
    return EndpointFactory(owner=alice, url="https://alice.example.com/hook")


def test_staff_see_every_endpoints_owner_and_an_owner_filter(staff_client, alices, owner):
    EndpointFactory(owner=owner, url="https://owner.example.com/hook")
    response = staff_client.get(reverse("dashboard:endpoint-list"))
    body = response.content.decode()
    assert response.status_code == 200
    assert "<th>Owner</th>" in body
    assert '<td class="owner">alice</td>' in body and '<td class="owner">owner</td>' in body
    assert '<form method="get" class="filters"' in body and 'name="owner"' in body


def test_the_owner_filter_lists_one_subscribers_endpoints(staff_client, alices, owner):
    EndpointFactory(owner=owner, url="https://owner.example.com/hook")
    response = staff_client.get(reverse("dashboard:endpoint-list"), {"owner": "alice"})
    rows = response.context["rows"]
    assert [endpoint.url for endpoint, _ in rows] == ["https://alice.example.com/hook"]
    assert "owner.example.com" not in response.content.decode()
    assert "Clear" in response.content.decode()


def test_an_unknown_owner_is_an_error_not_an_empty_list(staff_client, alices):
    response = staff_client.get(reverse("dashboard:endpoint-list"), {"owner": "nobody"})
    body = response.content.decode()
    assert response.status_code == 200
    assert response.context["rows"] == []
    assert "No user named “nobody”." in body
    assert "No endpoints match these filters." in body and "No endpoints yet" not in body


def test_subscribers_get_neither_the_column_nor_the_filter(owner_client, owner, alices):
    EndpointFactory(owner=owner, url="https://owner.example.com/hook")
    response = owner_client.get(reverse("dashboard:endpoint-list"), {"owner": "alice"})
    body = response.content.decode()
    assert "<th>Owner</th>" not in body and 'name="owner"' not in body
    assert [endpoint.owner for endpoint, _ in response.context["rows"]] == [owner]


@pytest.mark.parametrize(
    "name", ["endpoint-detail", "endpoint-edit", "endpoint-delete", "delivery-log"]
)
def test_staff_are_told_whose_endpoint_page_they_are_on(staff_client, alices, name):
    response = staff_client.get(reverse(f"dashboard:{name}", args=[alices.uid]))
    body = response.content.decode()
    assert response.status_code == 200
    assert f"<strong>alice</strong>{BANNER}" in body


def test_the_banner_is_on_another_users_delivery_too(staff_client, alices):
    delivery = DeliveryFactory(endpoint=alices)
    body = staff_client.get(delivery.get_absolute_url()).content.decode()
    assert f"<strong>alice</strong>{BANNER}" in body


def test_no_banner_for_the_owner_or_on_staffs_own_endpoint(client, alices, staff):
    client.force_login(alices.owner)
    assert BANNER not in client.get(alices.get_absolute_url()).content.decode()
    client.force_login(staff)
    own = EndpointFactory(owner=staff)
    assert BANNER not in client.get(own.get_absolute_url()).content.decode()


@pytest.mark.parametrize(
    ("who", "landing"),
    [("staff", "dashboard:review-overview"), ("owner", "dashboard:endpoint-list")],
)
def test_signing_in_lands_staff_on_the_overview_and_others_on_their_endpoints(
    client, request, who, landing
):
    user = request.getfixturevalue(who)
    response = client.post(
        reverse("login"),
        {"username": user.username, "password": "correct horse battery staple"},
        follow=True,
    )
    assert [url for url, _ in response.redirect_chain] == [reverse("home"), reverse(landing)]
    assert response.status_code == 200


def test_home_sends_anonymous_visitors_to_sign_in(client):
    response = client.get(reverse("home"))
    assert response.status_code == 302
    assert response.url == f"{reverse('login')}?next=/"


def test_a_subscriber_on_a_staff_page_gets_a_styled_403_with_a_way_back(owner_client, owner):
    response = owner_client.get(reverse("dashboard:review-overview"))
    body = response.content.decode()
    assert response.status_code == 403
    assert "403.html" in [template.name for template in response.templates]
    assert STYLESHEET in body and 'class="mainnav"' in body
    assert "This page is for HookHub staff" in body and "<strong>owner</strong>" in body
    assert f'href="{reverse("home")}">Back to your endpoints</a>' in body


def test_an_unknown_page_is_a_styled_404_that_does_not_say_whose(owner_client, alices):
    for url in ("/no-such-page/", alices.get_absolute_url()):
        response = owner_client.get(url)
        body = response.content.decode()
        assert response.status_code == 404
        assert STYLESHEET in body and "Page not found" in body
        assert "or it is not yours to see" in body
        assert f'href="{reverse("home")}"' in body


def test_api_paths_keep_their_json_404(owner_client):
    response = owner_client.get("/api/v1/no-such-route/")
    assert response.status_code == 404
    assert response.json() == {"detail": "No such API route.", "code": "not_found"}


def test_the_500_page_renders_without_a_request_context():
    request = RequestFactory().get("/endpoints/")
    response = errors.json_server_error(request)
    body = response.content.decode()
    assert response.status_code == 500
    assert STYLESHEET in body and "Something went wrong on our side" in body
    assert f'href="{reverse("home")}">Back to HookHub</a>' in body


@pytest.mark.urls(__name__)
def test_a_crash_outside_the_api_shows_the_500_page(owner_client):
    owner_client.raise_request_exception = False
    response = owner_client.get("/crash/")
    assert response.status_code == 500
    assert "Something went wrong on our side" in response.content.decode()
