"""Real `run_worker` processes: timely retries, crash recovery, clean shutdown, no locking."""

from __future__ import annotations

import signal
import time

import pytest

from deliveries.models import Delivery
from deliveries.publishing import publish
from tests.deliveries.workers import wait_until
from tests.receivers import Reply

S = Delivery.Status
pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.slow]


def test_a_retry_due_in_5_s_is_sent_within_2_s_of_its_due_time(
    receiver, make_endpoint, real_queue, workers
):
    receiver.on("/hook", Reply(500), Reply(200))
    make_endpoint()
    worker = workers(HOOKHUB_RETRY_SCHEDULE="0,5", HOOKHUB_RETRY_JITTER="0")
    event = publish("order-paid", {"id": 1})
    assert receiver.wait_for(2, timeout=25), worker.output()
    first, second = receiver.requests[:2]
    gap = second.received_at - first.received_at
    assert 5.0 <= gap <= 7.0, gap
    assert first.headers["webhook-id"] == second.headers["webhook-id"] == event.uid
    assert wait_until(lambda: Delivery.objects.get().status == S.SUCCEEDED, 10)


def test_a_worker_killed_mid_delivery_loses_nothing(receiver, make_endpoint, real_queue, workers):
    # The first request stalls until the worker is dead; the receiver answers 200 after that.
    receiver.on("/hook", Reply(200, delay=30), Reply(200))
    make_endpoint()
    lease = {"HOOKHUB_DELIVERY_DEADLINE": "3", "HOOKHUB_CLAIM_MARGIN": "1"}
    first_worker = workers(**lease)
    event = publish("order-paid", {"id": 1})
    assert receiver.wait_for(1, timeout=20), first_worker.output()
    assert Delivery.objects.get().status == S.SENDING
    first_worker.kill()
    killed_at = time.monotonic()

    second_worker = workers(**lease)
    assert receiver.wait_for(2, timeout=30), second_worker.output()
    assert time.monotonic() - killed_at < 20
    assert receiver.requests[1].headers["webhook-id"] == event.uid
    assert wait_until(lambda: Delivery.objects.get().status == S.SUCCEEDED, 10)


def test_sigterm_stops_the_cluster_and_its_dispatchers(workers):
    worker = workers()
    # Signal it once it runs (a fixed sleep raced with a slow start on a loaded machine).
    assert wait_until(lambda: "HookHub worker running" in worker.output(), 30), worker.output()
    worker.process.send_signal(signal.SIGTERM)
    assert worker.process.wait(timeout=20) == 0, worker.output()
    assert "Worker stopped." in worker.output()


def test_sqlite_worker_and_web_process_write_at_once_without_locking(
    receiver, make_endpoint, real_queue, workers, owner
):
    from tests.deliveries.workers import is_postgres

    if is_postgres():
        pytest.skip("SQLite locking test; this run uses PostgreSQL")
    make_endpoint("/a")
    make_endpoint("/b")
    worker = workers(HOOKHUB_Q_WORKERS="2")
    # The "web process" (this one) keeps publishing while the worker writes attempts.
    for number in range(150):
        publish("order-paid", {"id": number})
    assert wait_until(lambda: not Delivery.objects.exclude(status=S.SUCCEEDED).exists(), 60), (
        worker.output()
    )
    assert Delivery.objects.filter(status=S.SUCCEEDED).count() == 300
    assert len(receiver.requests) >= 300
    assert "database is locked" not in worker.output()
