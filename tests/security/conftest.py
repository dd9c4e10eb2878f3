"""Shared fixtures for the security tests."""

from __future__ import annotations

import pytest

from deliveries.models import ReplayJob
from tests.factories import (
    AttemptFactory,
    DeliveryFactory,
    EndpointFactory,
    EventFactory,
    EventTypeFactory,
)


@pytest.fixture
def world(owner, outsider, staff):
    """The owner's endpoint with an event, a failed delivery and its attempt, a replay job
    the owner started, and another subscriber's endpoint; `markers` are strings only the
    owner may see."""
    event_type = EventTypeFactory(name="invoice-paid")
    endpoint = EndpointFactory(
        owner=owner,
        url="https://owner-receiver.example.com/hooks",
        description="owner-private-description",
        event_types=[event_type],
    )
    EndpointFactory(owner=outsider, url="https://outsider.example.com/hooks")
    event = EventFactory(event_type=event_type, payload={"id": 424242})
    delivery = DeliveryFactory(event=event, endpoint=endpoint, status="failed")
    AttemptFactory(delivery=delivery, duration_ms=5, response_status=500)
    # The owner's own (a recover): staff see every job, a subscriber only theirs.
    replay_job = ReplayJob.objects.create(created_by=owner, delivery_ids=[delivery.pk])
    markers = [
        str(endpoint.uid),
        endpoint.url,
        endpoint.description,
        str(delivery.uid),
        event.uid,
        "424242",
        endpoint.secret,
    ]
    return {
        "objects": {
            "endpoint": endpoint,
            "delivery": delivery,
            "event_type": event_type,
            "replay_job": replay_job,
        },
        "markers": markers,
    }
