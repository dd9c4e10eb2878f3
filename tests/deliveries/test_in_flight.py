"""The dispatcher in real worker processes: many in flight, fair to every endpoint, shared
rate limits, at-least-once under SIGKILL, `qcluster` alone, a draining shutdown, bounded
memory. Receivers are real HTTP servers on 127.0.0.1."""

from __future__ import annotations

import os
import signal
import socket
import time
from pathlib import Path

import pytest

from deliveries.models import Delivery
from deliveries.publishing import publish
from subscriptions.models import Endpoint
from tests.deliveries.workers import POLL_INTERVAL, wait_until
from tests.factories import EndpointFactory, EventTypeFactory
from tests.receivers import Reply

S = Delivery.Status
pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.slow]


def _endpoints(owner, receiver, paths: list[str], **fields) -> list[Endpoint]:
    """One endpoint per path, each subscribed to an event type of its own (named as the
    path), so an event goes to exactly one endpoint."""
    made = []
    for path in paths:
        event_type = EventTypeFactory(name=path.strip("/").replace("/", "-"))
        made.append(
            EndpointFactory(owner=owner, url=receiver.url(path), event_types=[event_type], **fields)
        )
    return made


def _publish_to(path: str, count: int) -> list[str]:
    return [publish(path.strip("/").replace("/", "-"), {"id": n}).uid for n in range(count)]


def _all_done() -> bool:
    return not Delivery.objects.exclude(status__in=[S.SUCCEEDED, S.FAILED]).exists()


def test_a_hanging_endpoint_does_not_delay_another_endpoints_deliveries(
    receiver, owner, real_queue, workers
):
    deadline = 10.0
    hanging = [f"/hang{i}" for i in range(3)]
    for path in hanging:
        receiver.on(path, Reply(delay=3 * deadline))
    _endpoints(owner, receiver, [*hanging, "/healthy"])
    worker = workers(HOOKHUB_DELIVERY_DEADLINE=str(deadline), HOOKHUB_Q_WORKERS="1")
    assert wait_until(lambda: "HookHub worker running" in worker.output(), 30)
    for path in hanging:
        _publish_to(path, 15)  # more than the per-endpoint cap: a backlog behind each
    assert receiver.wait_for(30, timeout=10), worker.output()  # 3 x the cap, all hanging
    published_at = time.time()
    healthy = set(_publish_to("/healthy", 20))
    assert wait_until(lambda: len(receiver.requests_to("/healthy")) >= 20, 10), worker.output()
    arrivals = [r.received_at - published_at for r in receiver.requests_to("/healthy")]
    assert {r.headers["webhook-id"] for r in receiver.requests_to("/healthy")} == healthy
    # The hanging attempts hold their slots until the deadline: a healthy delivery that had
    # to wait for one of them would arrive after it. All arrived within half of it.
    assert max(arrivals) < deadline / 2, arrivals
    # The hanging endpoints never had more than the cap in flight.
    assert all(receiver.most_open(path) <= 10 for path in hanging)


def test_the_endpoint_cap_holds_across_two_worker_processes(receiver, owner, real_queue, workers):
    receiver.on("/slow", Reply(delay=0.3))
    _endpoints(owner, receiver, ["/slow"])
    cap = {"HOOKHUB_ENDPOINT_MAX_IN_FLIGHT": "3"}
    first, second = workers(**cap), workers(**cap)
    _publish_to("/slow", 40)
    assert wait_until(_all_done, 30), first.output() + second.output()
    assert Delivery.objects.filter(status=S.SUCCEEDED).count() == 40
    # The cap is per worker process: two of them hold at most 2 x 3 at once.
    assert 3 <= receiver.most_open("/slow") <= 6


def test_the_rate_limit_holds_across_two_worker_processes(receiver, owner, real_queue, workers):
    rate, count = 5, 20
    _endpoints(owner, receiver, ["/limited"], rate_limit=rate)
    _endpoints(owner, receiver, ["/free"])
    first, second = workers(), workers()
    _publish_to("/limited", count)
    _publish_to("/free", count)
    assert wait_until(_all_done, 30), first.output() + second.output()
    assert Delivery.objects.filter(status=S.SUCCEEDED).count() == 2 * count
    times = sorted(r.received_at for r in receiver.requests_to("/limited"))
    assert len(times) == count
    # Slots are 1/rate s apart: the deliveries take at least (count - 1) / rate s (less a
    # little for reading the clock), and no one-second window holds more than `rate` (one
    # more allowed for scheduling jitter at its edge).
    least = (count - 1) / rate
    assert times[-1] - times[0] >= 0.9 * least
    assert max(sum(1 for t in times if start <= t < start + 1) for start in times) <= rate + 1
    # Over-the-limit deliveries waited; none failed, and the unlimited endpoint did not wait:
    # its deliveries took less than half the time the rate limit forces on the other.
    free = sorted(r.received_at for r in receiver.requests_to("/free"))
    assert free[-1] - free[0] < least / 2


def test_sigkill_with_hundreds_in_flight_loses_nothing_and_sends_nothing_twice_under_lease(
    receiver, owner, real_queue, workers
):
    paths = [f"/slow{i}" for i in range(30)]
    # The first ten requests of each endpoint stall past the kill; later ones answer at once.
    for path in paths:
        receiver.on(path, *([Reply(delay=30)] * 10), Reply(200))
    _endpoints(owner, receiver, paths)
    lease = {"HOOKHUB_DELIVERY_DEADLINE": "12", "HOOKHUB_CLAIM_MARGIN": "1"}
    first = workers(HOOKHUB_Q_WORKERS="1", **lease)
    for path in paths:
        _publish_to(path, 12)
    assert receiver.wait_for(300, timeout=20), first.output()  # 30 endpoints x cap 10
    leases = dict(
        Delivery.objects.filter(status=S.SENDING).values_list("event__uid", "claimed_until")
    )
    before_kill = [r.headers["webhook-id"] for r in receiver.requests]
    first.kill()
    assert len(leases) == 300
    assert len(before_kill) == len(set(before_kill)) == 300  # no duplicate while it lived

    second = workers(HOOKHUB_Q_WORKERS="1", **lease)
    assert wait_until(_all_done, 45), second.output()
    assert Delivery.objects.filter(status=S.SUCCEEDED).count() == 360
    received: dict[str, list[float]] = {}
    for request in receiver.requests:
        received.setdefault(request.headers["webhook-id"], []).append(request.received_at)
    assert len(received) == 360
    for uid, times in received.items():
        if uid not in leases:
            assert len(times) == 1, uid
            continue
        # Sent again only once the first claim's lease had lapsed, and only once.
        first_time, *again = sorted(times)
        assert len(again) == 1 and again[0] >= leases[uid].timestamp() - 0.05, uid


def test_qcluster_alone_retries_after_a_500(receiver, make_endpoint, real_queue, workers):
    receiver.on("/hook", Reply(500), Reply(200))
    make_endpoint()
    retry = 2.0
    worker = workers("qcluster", HOOKHUB_RETRY_SCHEDULE=f"0,{retry:g}", HOOKHUB_RETRY_JITTER="0")
    event = publish("order-paid", {"id": 1})
    assert receiver.wait_for(2, timeout=20), worker.output()
    first, second = receiver.requests[:2]
    assert first.headers["webhook-id"] == second.headers["webhook-id"] == event.uid
    # Never early; late by at most 10 of the idle worker's polls for due rows (2 s).
    assert retry <= second.received_at - first.received_at <= retry + 10 * POLL_INTERVAL
    assert wait_until(lambda: Delivery.objects.get().status == S.SUCCEEDED, 10)


def test_qcluster_alone_rescues_a_delivery_left_sending(
    receiver, make_endpoint, real_queue, workers
):
    make_endpoint()
    publish("order-paid", {"id": 1})
    # As a killed worker leaves it: claimed, lease already lapsed.
    Delivery.objects.update(status=S.SENDING, claimed_until="2020-01-01T00:00:00Z")
    worker = workers("qcluster")
    assert receiver.wait_for(1, timeout=20), worker.output()
    assert wait_until(lambda: Delivery.objects.get().status == S.SUCCEEDED, 10)


@pytest.mark.parametrize("to_group", [False, True], ids=["to-the-command", "to-the-group"])
def test_sigterm_lets_in_flight_deliveries_finish_and_records_them(
    receiver, owner, real_queue, workers, to_group
):
    receiver.on("/slow", Reply(delay=2))
    _endpoints(owner, receiver, ["/slow"])
    worker = workers(HOOKHUB_Q_WORKERS="1", HOOKHUB_DELIVERY_DEADLINE="10")
    _publish_to("/slow", 8)
    assert receiver.wait_for(8, timeout=20), worker.output()
    if to_group:  # as systemd stops a service: every process of it at once
        os.killpg(worker.process.pid, signal.SIGTERM)
    else:
        worker.process.send_signal(signal.SIGTERM)
    assert worker.process.wait(timeout=20) == 0, worker.output()
    # Nothing was left "sending" for the sweeper: all eight were answered and recorded.
    assert wait_until(lambda: Delivery.objects.filter(status=S.SUCCEEDED).count() == 8, 5)
    assert wait_until(lambda: not worker.children(), 5)


def _black_hole() -> socket.socket:
    """A listener that never accepts: connections complete in the kernel and then hang."""
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    sock.listen(4096)
    return sock


def _rss_kb(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    return 0


def test_a_worker_with_1000_deliveries_in_flight_stays_under_300_mb(owner, real_queue, workers):
    holes = [_black_hole() for _ in range(100)]
    try:
        event_type = EventTypeFactory(name="order-paid")
        for hole in holes:
            EndpointFactory(
                owner=owner,
                url=f"http://127.0.0.1:{hole.getsockname()[1]}/hook",
                event_types=[event_type],
            )
        worker = workers(
            HOOKHUB_Q_WORKERS="1", HOOKHUB_MAX_IN_FLIGHT="1000", HOOKHUB_DELIVERY_DEADLINE="60"
        )
        for n in range(10):
            publish("order-paid", {"id": n, "padding": "x" * 2000})
        assert wait_until(lambda: Delivery.objects.filter(status=S.SENDING).count() == 1000, 30), (
            worker.output()
        )
        time.sleep(1)  # every request written and waiting
        peak = max(_rss_kb(pid) for pid in worker.children())
        assert peak < 300 * 1024, peak
    finally:
        for hole in holes:
            hole.close()
