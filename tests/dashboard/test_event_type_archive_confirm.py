"""Archiving an event type asks first, saying how many endpoints subscribe to it; the POST
archives (or restores) exactly as asked; and a paused endpoint is called "Paused"."""

from __future__ import annotations

import pytest
from django.urls import reverse

from subscriptions.models import AuditEntry, Endpoint, EventType
from tests.factories import EndpointFactory, EventTypeFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def paid():
    paid = EventTypeFactory(name="order-paid")
    other = EventTypeFactory(name="order-refunded")
    EndpointFactory(event_types=[paid])
    EndpointFactory(event_types=[paid, other], state=Endpoint.State.PAUSED)
    EndpointFactory(all_event_types=True)
    EndpointFactory(event_types=[other])  # not a subscriber of order-paid
    return paid


def test_get_asks_before_archiving_and_counts_every_subscribed_endpoint(staff_client, paid):
    response = staff_client.get(reverse("dashboard:event-type-archive", args=["order-paid"]))

    assert response.status_code == 200
    body = response.content.decode()
    assert "3 endpoints subscribe</strong>" in body
    assert "2 chose it by name, 1 receives all event types; 2 are enabled" in body
    assert 'name="archived" value="1"' in body
    paid.refresh_from_db()
    assert not paid.archived and not AuditEntry.objects.filter(action="event_type.archived")


def test_the_list_links_to_the_confirmation_instead_of_archiving_at_once(staff_client, paid):
    body = staff_client.get(reverse("dashboard:event-type-list")).content.decode()
    confirm = reverse("dashboard:event-type-archive", args=["order-paid"])
    assert f'href="{confirm}">Archive…</a>' in body


def test_confirming_archives_and_a_repeated_confirm_does_not_restore(staff_client, paid):
    url = reverse("dashboard:event-type-archive", args=["order-paid"])

    first = staff_client.post(url, {"archived": "1"})
    second = staff_client.post(url, {"archived": "1"})  # a double click, a stale tab

    assert first.status_code == second.status_code == 302
    paid.refresh_from_db()
    assert paid.archived
    assert AuditEntry.objects.filter(action="event_type.archived").count() == 1
    staff_client.post(url, {"archived": "0"})
    paid.refresh_from_db()
    assert not paid.archived


def test_a_code_declared_type_says_where_to_retire_it_and_offers_no_button(staff_client):
    EventTypeFactory(name="user-created", source=EventType.Source.CODE)
    response = staff_client.get(reverse("dashboard:event-type-archive", args=["user-created"]))
    body = response.content.decode()
    assert response.status_code == 200
    assert 'id="declared-in-code"' in body and 'name="archived"' not in body


def test_the_confirmation_is_staff_only(owner_client, paid):
    response = owner_client.get(reverse("dashboard:event-type-archive", args=["order-paid"]))
    assert response.status_code == 403


def test_a_paused_endpoint_is_called_paused(owner_client, owner):
    endpoint = EndpointFactory(owner=owner, state=Endpoint.State.PAUSED)
    body = owner_client.get(endpoint.get_absolute_url()).content.decode()
    assert ">Paused</span>" in body and "Disabled by you" not in body
