from __future__ import annotations

import pytest
from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext
from django_q.conf import Conf

from deliveries.models import Delivery, Event
from deliveries.publishing import (
    InvalidPayload,
    PayloadTooLarge,
    PublishError,
    UnknownEventType,
    publish,
)
from deliveries.queue import broker
from subscriptions.models import Endpoint
from tests.factories import EndpointFactory, EventTypeFactory


@pytest.mark.django_db
def test_publish_creates_one_delivery_per_subscribed_enabled_endpoint(
    receiver, make_endpoint, publish_now, event_type
):
    first, second = make_endpoint("/a"), make_endpoint("/b")
    paused = make_endpoint("/paused", state=Endpoint.State.PAUSED)
    EndpointFactory(url=receiver.url("/all"), all_event_types=True, owner=first.owner)
    EndpointFactory(url=receiver.url("/other"), event_types=[EventTypeFactory()])
    event = publish_now("order-paid", {"id": 3})
    assert event.delivery_count == 4  # the paused endpoint's is kept, skipped (not sent)
    assert Delivery.objects.get(endpoint=paused).status == Delivery.Status.SKIPPED
    assert receiver.wait_for(3)
    assert sorted(r.path for r in receiver.requests) == ["/a", "/all", "/b"]
    assert set(Delivery.objects.values_list("endpoint", flat=True)) >= {first.pk, second.pk}


@pytest.mark.django_db
def test_fan_out_costs_the_same_queries_for_5_or_50_endpoints(event_type, owner):
    def queries_for(count: int) -> int:
        Endpoint.objects.all().delete()
        EndpointFactory.create_batch(count, owner=owner, event_types=[event_type])
        with CaptureQueriesContext(connection) as captured, transaction.atomic():
            publish("order-paid", {"id": 1})
        return len(captured)

    assert queries_for(5) == queries_for(50)


@pytest.mark.django_db
def test_invalid_payload_lists_every_failing_path(event_type):
    event_type.schema = {
        "type": "object",
        "properties": {
            "id": {"type": "integer"},
            "items": {"type": "array", "items": {"type": "object", "required": ["sku"]}},
        },
        "required": ["id"],
    }
    event_type.save()
    with pytest.raises(InvalidPayload) as caught:
        publish("order-paid", {"id": "seven", "items": [{"sku": 1}, {}]})
    paths = [error["path"] for error in caught.value.errors]
    assert paths == ["id", "items.1"]
    assert "id" in caught.value.message and isinstance(caught.value, PublishError)
    assert not Event.objects.exists()


@pytest.mark.django_db
def test_unknown_and_archived_types_are_refused(event_type):
    with pytest.raises(UnknownEventType):
        publish("no-such-type", {"id": 1})
    event_type.archived = True
    event_type.save()
    with pytest.raises(UnknownEventType) as caught:
        publish("order-paid", {"id": 1})
    assert "archived" in caught.value.message


@pytest.mark.django_db
def test_oversized_payload_is_refused(event_type, settings):
    settings.HOOKHUB_MAX_PAYLOAD_BYTES = 100
    event_type.schema = {}
    event_type.save()
    with pytest.raises(PayloadTooLarge) as caught:
        publish("order-paid", {"blob": "x" * 200})
    assert "limit is 100 bytes" in caught.value.message


@pytest.mark.django_db(transaction=True)
def test_rollback_leaves_no_event_delivery_or_task(receiver, make_endpoint, monkeypatch):
    make_endpoint()
    # A real queue, not sync mode: a task enqueued too early would be visible in the broker.
    monkeypatch.setattr(Conf, "SYNC", False)
    queued_before = broker().queue_size()
    with pytest.raises(RuntimeError), transaction.atomic():
        publish("order-paid", {"id": 1})
        assert Event.objects.count() == 1
        raise RuntimeError("the caller's transaction fails")
    assert not Event.objects.exists()
    assert not Delivery.objects.exists()
    assert broker().queue_size() == queued_before
    assert receiver.requests == []


@pytest.mark.django_db
def test_a_repeated_idempotency_key_returns_the_original_and_creates_nothing(
    receiver, make_endpoint, publish_now
):
    make_endpoint()
    first = publish_now("order-paid", {"id": 1}, idempotency_key="order-1")
    again = publish_now("order-paid", {"id": 2}, idempotency_key="order-1")
    assert again.pk == first.pk and again.delivery_count == 1
    assert Event.objects.count() == 1 and Delivery.objects.count() == 1
    assert receiver.wait_for(1) and len(receiver.requests) == 1
    other_scope = publish_now("order-paid", {"id": 1}, idempotency_key="order-1", scope="user:9")
    assert other_scope.pk != first.pk


@pytest.mark.django_db(transaction=True)
def test_a_committed_publish_enqueues_exactly_one_task_per_batch(make_endpoint, monkeypatch):
    make_endpoint("/a")
    make_endpoint("/b")
    monkeypatch.setattr(Conf, "SYNC", False)
    queued_before = broker().queue_size()
    publish("order-paid", {"id": 1})  # autocommit: on_commit runs at once
    assert broker().queue_size() == queued_before + 1
    # Left in the queue on purpose: its token is stale once this test's rows are flushed, so
    # a worker that picks it up later claims nothing.
