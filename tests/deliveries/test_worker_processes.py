"""Real `run_worker` processes: timely retries, crash recovery, clean shutdown, no locking."""

from __future__ import annotations

import signal
import time

import pytest

from deliveries.models import Delivery
from deliveries.publishing import publish
from tests.deliveries.workers import POLL_INTERVAL, SWEEP_INTERVAL, wait_until
from tests.receivers import Reply

S = Delivery.Status
pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.slow]


def test_a_retry_due_in_5_s_is_sent_within_ten_poll_intervals_of_its_due_time(
    receiver, make_endpoint, real_queue, workers
):
    retry = 5.0
    receiver.on("/hook", Reply(500), Reply(200))
    make_endpoint()
    worker = workers(HOOKHUB_RETRY_SCHEDULE=f"0,{retry:g}", HOOKHUB_RETRY_JITTER="0")
    event = publish("order-paid", {"id": 1})
    assert receiver.wait_for(2, timeout=25), worker.output()
    first, second = receiver.requests[:2]
    gap = second.received_at - first.received_at
    # Never early; late by at most 10 of the idle worker's polls for due rows (2 s).
    assert retry <= gap <= retry + 10 * POLL_INTERVAL, gap
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
    claimed = Delivery.objects.get()
    assert claimed.status == S.SENDING
    first_worker.kill()

    second_worker = workers(**lease)
    running = wait_until(lambda: "HookHub worker running" in second_worker.output(), 30)
    assert running, second_worker.output()
    running_at = time.time()
    assert receiver.wait_for(2, timeout=30), second_worker.output()
    resent_at = receiver.requests[1].received_at
    # Not before the dead worker's lease lapsed; and once it had and the second worker ran,
    # within 20 of its sweeps (5 s), which hand lapsed claims back.
    lapsed_at = claimed.claimed_until.timestamp()
    assert resent_at >= lapsed_at - 0.05, resent_at - lapsed_at
    assert resent_at - max(lapsed_at, running_at) < 20 * SWEEP_INTERVAL
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
