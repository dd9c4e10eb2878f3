"""The named delivery states, the URLs models know, and the one envelope."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from deliveries import engine
from deliveries.models import Delivery
from subscriptions import openapi, wire
from tests.factories import DeliveryFactory, EventFactory, EventTypeFactory

pytestmark = pytest.mark.django_db


def test_delivery_queryset_names_each_state_once():
    now = timezone.now()
    due = DeliveryFactory(status="pending", next_attempt_at=now - timedelta(seconds=1))
    later = DeliveryFactory(status="pending", next_attempt_at=now + timedelta(hours=1))
    retrying = DeliveryFactory(status="pending", next_attempt_at=now, attempt_count=2)
    stuck = DeliveryFactory(status="sending", claimed_until=now - timedelta(seconds=1))
    leased = DeliveryFactory(status="sending", claimed_until=now + timedelta(minutes=1))
    failed = DeliveryFactory(status="failed")
    DeliveryFactory(status="succeeded")

    def ids(queryset):
        return set(queryset.values_list("id", flat=True))

    assert ids(Delivery.objects.due(now)) == {due.pk, retrying.pk}
    assert ids(Delivery.objects.stuck(now)) == {stuck.pk}
    assert ids(Delivery.objects.in_flight()) == {due.pk, later.pk, retrying.pk, stuck.pk, leased.pk}
    assert ids(Delivery.objects.failing()) == {retrying.pk}
    assert ids(Delivery.objects.failed()) == {failed.pk}
    assert failed.is_finished and not due.is_finished and due.is_pending


def test_models_link_to_their_dashboard_pages():
    delivery = DeliveryFactory()
    assert delivery.get_absolute_url() == reverse("dashboard:delivery-detail", args=[delivery.uid])
    endpoint = delivery.endpoint
    assert endpoint.get_absolute_url() == reverse("dashboard:endpoint-detail", args=[endpoint.uid])


def test_the_sender_the_catalogue_and_the_document_show_one_envelope(owner_client):
    event_type = EventTypeFactory(name="order-paid", example={"id": 7})
    event = EventFactory(event_type=event_type, payload={"id": 7})
    sent = json.loads(engine.wire_body(event))
    assert sent == {
        "type": "order-paid",
        "timestamp": wire.timestamp(event.created_at),
        "data": {"id": 7},
    }
    documented = openapi.webhook_path_item(event_type)["post"]["requestBody"]["content"]
    example = documented["application/json"]["example"]
    schema = documented["application/json"]["schema"]
    assert set(example) == set(sent) == set(schema["required"])
    page = owner_client.get(reverse("dashboard:webhooks")).content.decode()
    assert (
        json.dumps(wire.example("order-paid", {"id": 7}), indent=2).replace('"', "&quot;") in page
    )
