"""publish_many(): a batch of one type's events, checked first, stored all or nothing with a
query count that ignores the batch's length, and enqueued once after commit."""

from __future__ import annotations

import json

import pytest
from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext

from deliveries import publishing
from deliveries.models import Delivery, Event
from deliveries.publishing import (
    BatchTooLarge,
    InvalidPayload,
    PayloadTooLarge,
    PublishError,
    UnknownEventType,
    publish,
    publish_many,
)
from subscriptions.models import Endpoint
from tests.factories import EndpointFactory, EventTypeFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def enqueued(monkeypatch) -> list[list[int]]:
    """Every queue.enqueue call, instead of running the tasks."""
    calls: list[list[int]] = []
    monkeypatch.setattr("deliveries.queue.enqueue", lambda ids: calls.append(list(ids)))
    return calls


def test_each_event_gets_a_delivery_per_subscribed_enabled_endpoint_and_one_enqueue(
    make_endpoint, owner, enqueued, django_capture_on_commit_callbacks
):
    subscribed = {make_endpoint("/a").pk, make_endpoint("/b").pk}
    subscribed.add(EndpointFactory(owner=owner, all_event_types=True).pk)
    # Paused and system-disabled endpoints keep theirs as skipped deliveries, not enqueued.
    held = {
        make_endpoint("/paused", state=Endpoint.State.PAUSED).pk,
        make_endpoint("/off", state=Endpoint.State.DISABLED).pk,
    }
    EndpointFactory(owner=owner, event_types=[EventTypeFactory()])  # another type only

    with django_capture_on_commit_callbacks(execute=True):
        events = publish_many("order-paid", [{"id": 1}, {"id": 2}, {"id": 3}])

    assert [event.payload for event in events] == [{"id": 1}, {"id": 2}, {"id": 3}]
    assert [event.delivery_count for event in events] == [5, 5, 5]
    stored = list(Event.objects.order_by("id"))
    assert [(e.pk, e.uid) for e in stored] == [(e.pk, e.uid) for e in events]
    assert all(e.uid.startswith("msg_") and not e._state.adding for e in events)
    rows = list(Delivery.objects.order_by("id"))
    assert len(rows) == 15
    for event in events:
        assert {row.endpoint_id for row in rows if row.event_id == event.pk} == subscribed | held
    assert len({row.uid for row in rows}) == 15 and all(row.uid.version == 4 for row in rows)
    (ids,) = enqueued  # the whole batch's pending deliveries, once
    assert ids == [row.pk for row in rows if row.endpoint_id in subscribed]
    for row in rows:
        expected = Delivery.Status.SKIPPED if row.endpoint_id in held else Delivery.Status.PENDING
        assert row.status == expected and row.attempt_count == 0
        assert row.claimed_until is None and row.trigger == "scheduled"


def test_nothing_is_enqueued_before_commit(
    make_endpoint, enqueued, django_capture_on_commit_callbacks
):
    make_endpoint()
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        publish_many("order-paid", [{"id": 1}, {"id": 2}])
        assert enqueued == []
    assert len(callbacks) == 1
    callbacks[0]()
    assert [len(ids) for ids in enqueued] == [2]


def test_the_receiver_gets_every_event_of_the_batch_once(
    make_endpoint, receiver, django_capture_on_commit_callbacks
):
    make_endpoint()
    with django_capture_on_commit_callbacks(execute=True):
        events = publish_many("order-paid", [{"id": 1}, {"id": 2}])
    assert receiver.wait_for(2)
    assert sorted(r.headers["webhook-id"] for r in receiver.requests) == sorted(
        e.uid for e in events
    )
    assert sorted(json.loads(r.body)["data"]["id"] for r in receiver.requests) == [1, 2]


def test_query_count_is_the_same_for_10_or_100_events(event_type, owner, enqueued):
    # 100 events x 3 endpoints: more rows than one bulk_create statement takes on SQLite.
    EndpointFactory.create_batch(3, owner=owner, event_types=[event_type])

    def queries_for(count: int) -> int:
        with CaptureQueriesContext(connection) as captured, transaction.atomic():
            events = publish_many("order-paid", [{"id": n} for n in range(count)])
        assert [event.delivery_count for event in events] == [3] * count
        return len(captured)

    assert queries_for(10) == queries_for(100)
    assert Event.objects.count() == 110 and Delivery.objects.count() == 330


def test_the_schema_validator_is_built_once_per_batch(event_type, monkeypatch):
    built = []
    real = publishing.payload_validator
    monkeypatch.setattr(
        publishing, "payload_validator", lambda schema: built.append(schema) or real(schema)
    )
    publish_many("order-paid", [{"id": n} for n in range(5)])
    assert len(built) == 1


def test_an_invalid_item_stores_nothing_and_every_refused_index_is_named(
    make_endpoint, event_type, enqueued, django_capture_on_commit_callbacks
):
    make_endpoint()
    with (
        django_capture_on_commit_callbacks(execute=True),
        pytest.raises(InvalidPayload) as caught,
    ):
        publish_many("order-paid", [{"id": 1}, {"id": "seven"}, {"id": 3}, {}])
    assert [(e["index"], e["path"]) for e in caught.value.errors] == [(1, "id"), (3, "")]
    assert caught.value.message.startswith("Item 1 of the batch (counting from 0)")
    assert "1 other item(s)" in caught.value.message
    assert not Event.objects.exists() and not Delivery.objects.exists()
    assert enqueued == []


def test_an_oversized_item_is_refused_like_publish_refuses_it(event_type, settings):
    settings.HOOKHUB_MAX_PAYLOAD_BYTES = 100
    with pytest.raises(PayloadTooLarge) as caught:
        publish_many("order-paid", [{"id": 1}, {"id": 2, "blob": "x" * 200}])
    assert caught.value.errors == [{"index": 1, "path": "", "message": "Larger than 100 bytes."}]
    assert not Event.objects.exists()


def test_a_batch_over_the_limit_is_refused_before_anything_is_checked(event_type, settings):
    settings.HOOKHUB_PUBLISH_BATCH_MAX = 3
    with pytest.raises(BatchTooLarge) as caught:
        publish_many("order-paid", [{"id": "not checked"}] * 4)
    assert isinstance(caught.value, PublishError) and "at most 3 events" in caught.value.message
    assert not Event.objects.exists()
    assert len(publish_many("order-paid", [{"id": n} for n in range(3)])) == 3


def test_unknown_and_archived_types_are_refused(event_type):
    with pytest.raises(UnknownEventType):
        publish_many("no-such-type", [{"id": 1}])
    event_type.archived = True
    event_type.save()
    with pytest.raises(UnknownEventType) as caught:
        publish_many("order-paid", [{"id": 1}])
    assert "archived" in caught.value.message
    assert not Event.objects.exists()


def test_an_empty_batch_publishes_nothing(event_type, enqueued):
    assert publish_many("order-paid", []) == []
    assert not Event.objects.exists() and enqueued == []


def test_no_subscriber_still_stores_the_events(event_type, enqueued):
    events = publish_many("order-paid", [{"id": 1}, {"id": 2}])
    assert [event.delivery_count for event in events] == [0, 0]
    assert Event.objects.count() == 2 and not Delivery.objects.exists()
    assert enqueued == []


def test_replayed_keys_return_the_originals_and_make_nothing_new(
    make_endpoint, enqueued, django_capture_on_commit_callbacks
):
    make_endpoint()
    with django_capture_on_commit_callbacks(execute=True):
        original = publish("order-paid", {"id": 1}, idempotency_key="k-1")
    with django_capture_on_commit_callbacks(execute=True):
        events = publish_many(
            "order-paid",
            # A replay's data is not checked, as in publish(); "k-2" twice is one event.
            [{"id": "ignored"}, {"id": 2}, {"id": 3}, {"id": 4}],
            idempotency_keys=["k-1", None, "k-2", "k-2"],
        )
    assert events[0].pk == original.pk and events[0].delivery_count == 1
    assert events[2] is events[3] and events[2].payload == {"id": 3}
    assert [event.delivery_count for event in events] == [1, 1, 1, 1]
    assert Event.objects.count() == 3 and Delivery.objects.count() == 3
    assert [len(ids) for ids in enqueued] == [1, 2]  # the batch: only its new deliveries
    again = publish_many(
        "order-paid", [{"id": 2}, {"id": 3}], idempotency_keys=["k-2", "k-2"], scope="user:9"
    )
    assert again[0].pk != events[2].pk  # keys are per scope


def test_a_lost_idempotency_race_returns_the_winners_event(make_endpoint, monkeypatch):
    make_endpoint()
    winner = publish("order-paid", {"id": 1}, idempotency_key="k-1")
    # The batch looked its keys up before the winner's row existed.
    real = publishing._existing_many
    lookups = []
    monkeypatch.setattr(
        publishing,
        "_existing_many",
        lambda *a: lookups.append(a) or (real(*a) if lookups[1:] else {}),
    )
    events = publish_many("order-paid", [{"id": 1}, {"id": 2}], idempotency_keys=["k-1", "k-9"])
    assert len(lookups) == 2
    assert events[0].pk == winner.pk and events[1].pk != winner.pk
    assert Event.objects.count() == 2 and Delivery.objects.count() == 2


def test_idempotency_keys_need_one_entry_per_payload(event_type):
    with pytest.raises(ValueError, match="one entry"):
        publish_many("order-paid", [{"id": 1}, {"id": 2}], idempotency_keys=["k-1"])


def test_publishes_in_one_transaction_share_one_enqueue_at_its_commit(
    make_endpoint, enqueued, django_capture_on_commit_callbacks
):
    make_endpoint()
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        with transaction.atomic():
            first = publish_many("order-paid", [{"id": 1}, {"id": 2}])
            second = publish("order-paid", {"id": 3})
            with pytest.raises(RuntimeError), transaction.atomic():
                publish("order-paid", {"id": 4})
                raise RuntimeError("the caller's savepoint rolls back")
        assert enqueued == []  # nothing before the commit
    assert len(callbacks) == 1
    stored = set(Delivery.objects.values_list("id", flat=True))
    assert len(stored) == 3
    # One message for the whole transaction; the rolled-back id in it only wakes a worker,
    # which claims what is due: the three stored deliveries.
    (ids,) = enqueued
    assert stored <= set(ids) and len(ids) == 4
    assert [e.delivery_count for e in (*first, second)] == [1, 1, 1]
