"""EndpointForm, given the owner, refuses a URL they already have an endpoint at (every event
would arrive twice) until they tick "Add it anyway"; the box is offered only then."""

from __future__ import annotations

import pytest

from subscriptions.forms import EndpointForm
from tests.factories import EndpointFactory

pytestmark = pytest.mark.django_db

URL = "http://127.0.0.1:9/demo/inbox/1/"


def post(**extra) -> dict:
    return {"url": URL, "description": "", "all_event_types": "on", **extra}


def test_a_url_the_owner_already_uses_is_refused_with_the_add_anyway_box(owner):
    existing = EndpointFactory(owner=owner, url=URL)
    form = EndpointForm(post(), owner=owner)
    assert not form.is_valid()
    assert form.duplicate == existing
    assert form.has_error("url", code="duplicate_url")
    assert "sent there twice" in form.errors["url"][0]
    assert "Add it anyway" in form.errors["url"][0]
    assert form.fields["add_anyway"].label == "Add it anyway"


def test_ticking_add_it_anyway_accepts_the_duplicate(owner):
    EndpointFactory(owner=owner, url=URL)
    form = EndpointForm(post(add_anyway="on"), owner=owner)
    assert form.is_valid(), form.errors
    assert form.endpoint_values()["url"] == URL
    assert "add_anyway" not in form.endpoint_values()


def test_another_users_endpoint_at_the_url_is_no_duplicate(owner, outsider):
    EndpointFactory(owner=outsider, url=URL)
    form = EndpointForm(post(), owner=owner)
    assert form.is_valid(), form.errors
    assert form.duplicate is None


def test_editing_without_changing_the_url_is_not_refused(owner):
    EndpointFactory(owner=owner, url=URL)
    second = EndpointFactory(owner=owner, url=URL)
    form = EndpointForm(post(description="renamed"), instance=second, owner=owner)
    assert form.is_valid(), form.errors


def test_editing_onto_an_existing_url_asks_to_save_it_anyway(owner):
    EndpointFactory(owner=owner, url=URL)
    other = EndpointFactory(owner=owner, url="http://127.0.0.1:9/other/")
    form = EndpointForm(post(), instance=other, owner=owner)
    assert not form.is_valid()
    assert form.fields["add_anyway"].label == "Save it anyway"


def test_without_an_owner_the_form_is_unchanged(owner):
    EndpointFactory(owner=owner, url=URL)
    form = EndpointForm(post())
    assert form.is_valid(), form.errors
    assert "add_anyway" not in form.fields
