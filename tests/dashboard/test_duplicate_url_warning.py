"""The add and edit pages refuse a URL the endpoint's owner already has an endpoint at (every
event would arrive twice) and offer "Add it anyway" / "Save it anyway", linking to the one
already there; another user's endpoint at the URL, or the endpoint itself, does not count."""

from __future__ import annotations

import pytest
from django.urls import reverse

from subscriptions.forms import EndpointForm
from subscriptions.models import Endpoint
from tests.factories import EndpointFactory, UserFactory

pytestmark = pytest.mark.django_db

URL = "http://127.0.0.1:9/demo/inbox/1/"
OTHER_URL = "http://127.0.0.1:9/demo/inbox/2/"
BOX = 'name="add_anyway"'


def post(**extra) -> dict:
    return {"url": URL, "description": "second", "all_event_types": "on", **extra}


def test_a_second_endpoint_at_the_same_url_is_refused_with_the_box(owner_client, owner):
    existing = EndpointFactory(owner=owner, url=URL)
    response = owner_client.post(reverse("dashboard:endpoint-create"), post())
    body = response.content.decode()
    assert response.status_code == 200
    assert response.context["form"].has_error("url", code="duplicate_url")
    assert list(Endpoint.objects.filter(owner=owner)) == [existing]
    assert BOX in body and "Add it anyway" in body
    assert f'href="{existing.get_absolute_url()}"' in body
    assert 'aria-describedby="id_add_anyway_helptext id_url_error"' in body
    assert 'id="id_add_anyway_helptext"' in body and 'id="id_url_error"' in body


def test_the_add_page_has_no_box_before_a_duplicate(owner_client, owner):
    EndpointFactory(owner=owner, url=URL)
    assert BOX not in owner_client.get(reverse("dashboard:endpoint-create")).content.decode()


def test_ticking_add_it_anyway_creates_the_second_endpoint(owner_client, owner):
    existing = EndpointFactory(owner=owner, url=URL)
    response = owner_client.post(reverse("dashboard:endpoint-create"), post(add_anyway="on"))
    added = Endpoint.objects.exclude(pk=existing.pk).get(owner=owner)
    assert response.status_code == 302
    assert response.url == added.get_absolute_url()
    assert added.url == URL and added.description == "second"
    assert Endpoint.objects.filter(owner=owner, url=URL).count() == 2


def test_another_users_endpoint_at_the_url_does_not_warn(owner_client, owner, outsider):
    EndpointFactory(owner=outsider, url=URL)
    response = owner_client.post(reverse("dashboard:endpoint-create"), post())
    assert response.status_code == 302
    assert Endpoint.objects.get(owner=owner).url == URL
    assert Endpoint.objects.filter(url=URL).count() == 2


def test_editing_without_changing_the_url_saves_without_the_warning(owner_client, owner):
    EndpointFactory(owner=owner, url=URL)  # an earlier duplicate, added anyway
    endpoint = EndpointFactory(owner=owner, url=URL, description="old")
    edit_url = reverse("dashboard:endpoint-edit", args=[endpoint.uid])
    response = owner_client.post(edit_url, post(description="renamed"))
    endpoint.refresh_from_db()
    assert response.status_code == 302
    assert endpoint.description == "renamed" and endpoint.url == URL


def test_the_endpoint_being_edited_never_counts_as_its_own_duplicate(owner):
    endpoint = EndpointFactory(owner=owner, url=URL)
    # `initial` makes the URL count as changed, so the duplicate query runs; it leaves out
    # the endpoint itself, the only one at the URL.
    form = EndpointForm(post(), instance=endpoint, owner=owner, initial={"url": OTHER_URL})
    assert "url" in form.changed_data
    assert form.is_valid(), form.errors
    assert form.duplicate is None


def test_editing_onto_another_of_the_owners_urls_asks_to_save_it_anyway(owner_client, owner):
    existing = EndpointFactory(owner=owner, url=URL)
    endpoint = EndpointFactory(owner=owner, url=OTHER_URL)
    edit_url = reverse("dashboard:endpoint-edit", args=[endpoint.uid])
    response = owner_client.post(edit_url, post())
    body = response.content.decode()
    endpoint.refresh_from_db()
    assert response.status_code == 200 and endpoint.url == OTHER_URL
    assert "Save it anyway" in body and f'href="{existing.get_absolute_url()}"' in body
    response = owner_client.post(edit_url, post(add_anyway="on"))
    endpoint.refresh_from_db()
    assert response.status_code == 302 and endpoint.url == URL


def test_staff_editing_alices_endpoint_are_checked_against_alices(staff_client, staff):
    alice = UserFactory(username="alice")
    EndpointFactory(owner=staff, url=OTHER_URL)  # staff's own: not alice's duplicate
    alices_other = EndpointFactory(owner=alice, url=URL)
    endpoint = EndpointFactory(owner=alice, url="http://127.0.0.1:9/demo/inbox/3/")
    edit_url = reverse("dashboard:endpoint-edit", args=[endpoint.uid])

    response = staff_client.post(edit_url, post())
    endpoint.refresh_from_db()
    assert response.status_code == 200
    assert response.context["form"].duplicate == alices_other
    assert endpoint.url.endswith("/3/")

    response = staff_client.post(edit_url, post(url=OTHER_URL))
    endpoint.refresh_from_db()
    assert response.status_code == 302 and endpoint.url == OTHER_URL
    assert endpoint.owner == alice
