"""The audit log's filters are a Form (AuditFilterForm) drawn by the shared filter partial,
and its pages by the shared pager."""

from __future__ import annotations

import pytest
from django.urls import reverse

from subscriptions import audit
from tests.factories import EndpointFactory, UserFactory

pytestmark = pytest.mark.django_db

URL = reverse("dashboard:audit-log")


@pytest.fixture
def trail(staff):
    """Four entries: two people, the system, two endpoints."""
    ann = UserFactory(username="ann")
    first, second = EndpointFactory(owner=ann), EndpointFactory(owner=ann)
    audit.record(ann, "endpoint.created", first)
    audit.record(ann, "endpoint.paused", first)
    audit.record(None, "endpoint.disabled", second)
    audit.record(staff, "event_type.created")
    return {"first": first, "second": second}


def actions(response) -> list[str]:
    return [entry.action for entry in response.context["entries"]]


def test_action_filters_by_prefix_and_actor_and_object_exactly(staff_client, trail):
    assert actions(staff_client.get(URL, {"action": "endpoint."})) == [
        "endpoint.disabled",
        "endpoint.paused",
        "endpoint.created",
    ]
    assert actions(staff_client.get(URL, {"actor": "system"})) == ["endpoint.disabled"]
    assert actions(staff_client.get(URL, {"actor": "an"})) == []  # not a prefix match
    by_object = staff_client.get(URL, {"object": str(trail["first"].uid), "actor": "ann"})
    assert actions(by_object) == ["endpoint.paused", "endpoint.created"]


def test_filters_are_stripped_and_kept_in_the_form(staff_client, trail):
    assert actions(staff_client.get(URL, {"action": "  endpoint.paused  "})) == ["endpoint.paused"]
    response = staff_client.get(URL, {"action": "endpoint.paused"})
    body = response.content.decode()
    assert 'name="action" value="endpoint.paused"' in body
    assert f'<a href="{URL}">Clear</a>' in body


def test_a_value_longer_than_the_column_shows_an_error_and_no_entries(staff_client, trail):
    response = staff_client.get(URL, {"object": "x" * 65})
    assert response.status_code == 200
    assert response.context["form"].errors["object"]
    assert actions(response) == []
    body = response.content.decode()
    assert 'class="field-error"' in body and "at most 64 characters" in body
    assert "Nothing recorded for these filters." in body


def test_unfiltered_log_has_labelled_fields_and_no_clear_link(staff_client, trail):
    body = staff_client.get(URL).content.decode()
    for label, name in (("Action", "action"), ("Actor", "actor"), ("Object id", "object")):
        assert f'<label>{label} <input type="text" name="{name}"' in body
    assert 'placeholder="endpoint."' in body and 'placeholder="username or system"' in body
    assert ">Clear</a>" not in body


def test_pager_keeps_the_filters_and_links_back_to_the_newest(staff_client, trail, settings):
    settings.HOOKHUB_PAGE_SIZE = 2
    first = staff_client.get(URL, {"action": "endpoint."})
    cursor = first.context["page"].next_before
    assert f'href="?action=endpoint.&amp;before={cursor}">Older →</a>' in first.content.decode()
    assert "← Newest" not in first.content.decode()
    older = staff_client.get(URL, {"action": "endpoint.", "before": cursor})
    assert actions(older) == ["endpoint.created"]
    body = older.content.decode()
    assert '<a href="?action=endpoint.">← Newest</a>' in body and "Older →" not in body
