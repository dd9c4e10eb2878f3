"""The dispatcher's recorder when the database fails a write: it tries again while the
claim's lease holds (each try on fresh copies, so a failed try leaves no trace), and leaves
the row "sending" for the sweeper once the lease is about to lapse. The chaos test
(test_chaos_deliveries.py) shows why: giving up at once made every delivery finished during
a PostgreSQL restart a second send. Runs on SQLite and PostgreSQL (no server is killed)."""

from __future__ import annotations

import asyncio
from datetime import timedelta

import pytest
from django.db import OperationalError, connections
from django.utils import timezone

from deliveries import dispatcher, engine
from deliveries.models import Attempt, Delivery
from deliveries.transport import TransportResult
from tests.factories import DeliveryFactory, EndpointFactory, EventFactory

pytestmark = pytest.mark.django_db(transaction=True)


def finished_test_delivery(event_type, lease_seconds: float) -> engine.Finished:
    """A test delivery claimed as a worker claims it, answered 200, not yet recorded."""
    delivery = DeliveryFactory(
        event=EventFactory(event_type=event_type),
        endpoint=EndpointFactory(event_types=[event_type]),
        status=Delivery.Status.PENDING,
        trigger=Attempt.Trigger.TEST,
        next_attempt_at=timezone.now(),
    )
    (claimed,) = engine.claim([delivery.pk], scheduled=False)
    claimed.claimed_until = timezone.now() + timedelta(seconds=lease_seconds)
    (request,) = engine.build_requests([claimed])
    now = timezone.now()
    result = TransportResult(started_at=now, finished_at=now, duration_ms=3, status=200)
    return engine.Finished(claimed, request, result)


def record_with(item: engine.Finished, failures: int, monkeypatch) -> list[int]:
    """Run the dispatcher's recorder on `item` while the first `failures` writes raise;
    returns the attempt numbers each write was given."""
    real_record = engine.record
    numbers: list[int] = []

    def flaky_record(finished):
        numbers.append(finished[0].delivery.attempt_count + 1)
        if len(numbers) <= failures:
            # As a dropped connection fails: after record() changed the deliveries.
            for each in finished:
                each.delivery.attempt_count += 1
                each.delivery.trigger = Attempt.Trigger.SCHEDULED
            raise OperationalError("server closed the connection unexpectedly")
        real_record(finished)

    monkeypatch.setattr(engine, "record", flaky_record)
    monkeypatch.setattr(dispatcher, "RECORD_RETRY_FIRST", 0.01)
    worker = dispatcher.Dispatcher()

    async def run() -> None:
        worker._loop = asyncio.get_running_loop()
        await worker._record([item])

    try:
        asyncio.run(run())
    finally:
        worker._db.submit(connections.close_all).result()
        worker._db.shutdown()
    return numbers


def test_a_failed_record_is_retried_on_fresh_copies_while_the_lease_holds(event_type, monkeypatch):
    item = finished_test_delivery(event_type, lease_seconds=30)
    numbers = record_with(item, failures=3, monkeypatch=monkeypatch)
    assert numbers == [1, 1, 1, 1], "every try numbers the attempt 1"
    delivery = Delivery.objects.get(pk=item.delivery.pk)
    assert delivery.status == Delivery.Status.SUCCEEDED
    assert delivery.attempt_count == 1
    (attempt,) = Attempt.objects.filter(delivery=delivery)
    assert (attempt.number, attempt.trigger, attempt.response_status) == (1, "test", 200)


def test_a_record_is_given_up_when_the_lease_is_about_to_lapse(event_type, monkeypatch):
    item = finished_test_delivery(event_type, lease_seconds=0.5)
    numbers = record_with(item, failures=100, monkeypatch=monkeypatch)
    assert numbers == [1], "no retry past the lease: the sweeper may hand the row on"
    delivery = Delivery.objects.get(pk=item.delivery.pk)
    assert delivery.status == Delivery.Status.SENDING  # the sweeper makes it due again
    assert not Attempt.objects.filter(delivery=delivery).exists()
