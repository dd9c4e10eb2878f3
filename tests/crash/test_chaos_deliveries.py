"""3,000 deliveries (300 events x 10 endpoints) to receivers that fail a third of the time,
while the worker is SIGKILLed twice (and restarted, as a supervisor would), Redis is killed
and restarted empty, and PostgreSQL is stopped with `pg_ctl stop -m immediate` and started
again. Only the SIGKILLs are followed by a restart: the worker rides out both outages.

Every delivery ends with a 2xx at its receiver, none is left pending or sending, every 2xx
the receiver answered has its attempt row unless a SIGKILL took the worker before it could
write it, and the same webhook-id answered 2xx twice stays rare (reported, below 1%)."""

from __future__ import annotations

import statistics
import threading
import time
from collections import Counter
from dataclasses import dataclass, field

import pytest
from django.db import DatabaseError, close_old_connections, connection

from deliveries.models import Attempt, Delivery, Event
from deliveries.publishing import publish
from tests.crash.chaos_receiver import Chaos, ChaosReceiver
from tests.crash.conftest import wait_for
from tests.factories import EndpointFactory, EventTypeFactory, UserFactory

pytestmark = [pytest.mark.postgres, pytest.mark.slow]

EVENTS = 300
ENDPOINTS = 10
DELIVERIES = EVENTS * ENDPOINTS
CHAOS = Chaos(error=0.25, drop=0.05, stall=0.05, stall_seconds=1.5)
SEED = 20261204
# 15 tries about a second apart: a try fails 30% of the time (500 or a dropped connection),
# so all 15 failing (0.3^15) is as good as impossible, and retries fit the test's patience.
RETRY_SCHEDULE = ",".join(["0", "0.5", *["1"] * 13])
WORKER_ENV = {
    "HOOKHUB_Q_WORKERS": "2",
    "HOOKHUB_RETRY_SCHEDULE": RETRY_SCHEDULE,
    "HOOKHUB_DELIVERY_DEADLINE": "5",  # above the 1.5 s stall
    "HOOKHUB_CONNECT_TIMEOUT": "2",
    # Lease 5 + 1 (rate-limit hold) + 15 = 21 s, the production default's length: results
    # finished during the PostgreSQL outage are recorded once it is back (on a loaded
    # machine its restart alone took 5 s), and SIGKILLed claims return after 21 s.
    "HOOKHUB_CLAIM_MARGIN": "15",
    "HOOKHUB_DURABLE_ATTEMPTS": "1",
}
PUBLISH_SECONDS = 40.0
# (seconds after publishing began, what happens)
PLAN = (
    (6.0, "kill worker"),
    (13.0, "kill redis"),
    (18.0, "start redis"),
    (24.0, "crash postgres"),
    (29.0, "start postgres"),
    (36.0, "kill worker"),
)
# After an outage ends, deliveries must flow again (same worker, no restart) within this.
RESUME_WITHIN = 20.0
# Everything delivered within this after publishing ended (retries, leases, sweeps).
FINISH_WITHIN = 90.0
# A 2xx answered this long before a SIGKILL may have no attempt row: the worker died before
# recording it. It records within milliseconds; with both cores busy elsewhere, 1.6 s was
# seen, hence the margin.
KILL_WINDOW = 5.0
DUPLICATES_BELOW = 0.01


@dataclass
class Publisher:
    """300 events paced over PUBLISH_SECONDS, each under an idempotency key, retried with
    the same key after a database error (what a careful provider does)."""

    published_at: dict[int, float] = field(default_factory=dict)  # number -> time.time()
    errors: list[tuple[float, str]] = field(default_factory=list)
    stopping: threading.Event = field(default_factory=threading.Event)

    def run(self) -> None:
        began = time.monotonic()
        try:
            for number in range(EVENTS):
                due = began + PUBLISH_SECONDS * number / EVENTS
                if self.stopping.wait(max(0.0, due - time.monotonic())):
                    return
                while not self.stopping.is_set():
                    try:
                        publish("order-paid", {"id": number}, idempotency_key=f"chaos-{number}")
                        self.published_at[number] = time.time()
                        break
                    except DatabaseError as error:
                        self.errors.append((time.time(), type(error).__name__))
                        close_old_connections()
                        self.stopping.wait(0.25)
        finally:
            connection.close()


SUCCEEDED_SQL = "SELECT count(*) FROM deliveries_delivery WHERE status = 'succeeded'"


def succeeded_count(postgres) -> int:
    """On a connection of its own: the test's Django connection breaks in the crash."""
    return postgres.query(SUCCEEDED_SQL)[0][0]


def test_3000_deliveries_survive_worker_kills_and_redis_and_postgres_outages(
    own_services, start_worker, report
):
    postgres, redis_server = own_services.postgres, own_services.redis
    receivers = [ChaosReceiver(CHAOS, seed=SEED + n).start() for n in range(2)]
    owner = UserFactory(username="owner")
    event_type = EventTypeFactory(name="order-paid")
    path_of: dict[int, tuple[ChaosReceiver, str]] = {}
    for index in range(ENDPOINTS):
        receiver, path = receivers[index % 2], f"/e{index}"
        endpoint = EndpointFactory(owner=owner, url=receiver.url(path), event_types=[event_type])
        path_of[endpoint.pk] = (receiver, path)
    connection.close()  # the publisher thread has its own; this one would break in the crash

    worker = start_worker(**WORKER_ENV)
    started = [worker]
    publisher = Publisher()
    thread = threading.Thread(target=publisher.run, name="publisher", daemon=True)
    kills: list[float] = []  # time.time() of each SIGKILL
    outages: dict[str, tuple[float, float]] = {}
    resumed: dict[str, float] = {}
    delivered_at: dict[str, int] = {}  # succeeded deliveries when each step happened
    try:
        began, wall_began = time.monotonic(), time.time()
        thread.start()
        for at, step in PLAN:
            time.sleep(max(0.0, began + at - time.monotonic()))
            if step != "start postgres":
                delivered_at[step] = succeeded_count(postgres)
            if step == "kill worker":
                assert worker.process.poll() is None, worker.output()[-3000:]  # still running
                kills.append(time.time())
                worker.kill()
                worker = start_worker(**WORKER_ENV)  # the supervisor restarts it
                started.append(worker)
            elif step == "kill redis":
                redis_server.kill()
                outages["redis"] = (time.time(), 0.0)
            elif step == "start redis":
                redis_server.start()  # empty: every queued message is gone
                outages["redis"] = (outages["redis"][0], time.time())
            elif step == "crash postgres":
                postgres.crash()
                outages["postgres"] = (time.time(), 0.0)
            elif step == "start postgres":
                postgres.start()
                outages["postgres"] = (outages["postgres"][0], time.time())
            if step.startswith("start"):
                # Deliveries flow again without touching the worker.
                before = succeeded_count(postgres)
                took = wait_for(lambda b=before: succeeded_count(postgres) > b, RESUME_WITHIN)
                assert took is not None, f"nothing delivered {RESUME_WITHIN:.0f} s after {step}"
                resumed[step] = took
        thread.join(PUBLISH_SECONDS + 30)
        assert not thread.is_alive(), "publishing did not finish"
        published_by = time.monotonic()
        finished = wait_for(lambda: succeeded_count(postgres) == DELIVERIES, FINISH_WITHIN, 0.5)
        finish_seconds = time.monotonic() - published_by
        assert worker.process.poll() is None, worker.output()[-3000:]
        log = "".join(w.output() for w in started)
    finally:
        publisher.stopping.set()
        thread.join(10)
        for receiver in receivers:
            receiver.stop()

    close_old_connections()
    statuses = Counter(Delivery.objects.values_list("status", flat=True))
    assert finished is not None, (
        f"not all delivered {FINISH_WITHIN:.0f} s later: {statuses}\n{log[-6000:]}"
    )
    assert statuses == {Delivery.Status.SUCCEEDED: DELIVERIES}, statuses
    assert len(publisher.published_at) == EVENTS
    assert Event.objects.count() == EVENTS, "a publish retried after an error made no twin"

    # The database errors the publisher met all fell in the PostgreSQL outage: a dead Redis
    # never fails publish() (the queue is a hint; workers poll).
    pg_down, pg_up = outages["postgres"]
    assert all(pg_down - 1 <= when <= pg_up + 5 for when, _ in publisher.errors), (
        publisher.errors,
        outages,
    )

    # Receiver side: every delivery got a 2xx; what it answered 2xx to, keyed like the rows.
    uid_of = dict(Event.objects.values_list("pk", "uid"))
    answered: Counter = Counter()
    first_ok: dict[tuple[int, str], float] = {}
    ok_times: dict[tuple[int, str], list[float]] = {}
    endpoint_of = {(id(r), p): pk for pk, (r, p) in path_of.items()}
    for receiver in receivers:
        for answer in receiver.ok_answers():
            key = (endpoint_of[(id(receiver), answer.path)], answer.webhook_id)
            answered[key] += 1
            ok_times.setdefault(key, []).append(answer.answered_at)
            first_ok[key] = min(first_ok.get(key, answer.answered_at), answer.answered_at)
    deliveries = {
        (endpoint_id, uid_of[event_id]): pk
        for pk, endpoint_id, event_id in Delivery.objects.values_list("pk", "endpoint", "event")
    }
    assert set(answered) == set(deliveries), "every delivery answered 2xx, nothing unknown"

    # Rows side: every 2xx attempt row was answered by the receiver, and every 2xx answer has
    # its row unless a SIGKILL came right after it.
    rows: Counter = Counter()
    for delivery_id, status in Attempt.objects.values_list("delivery", "response_status"):
        if status is not None and 200 <= status < 300:
            rows[delivery_id] += 1
    unexplained = []
    lost_to_kills = 0
    before_kill: list[float] = []  # seconds from such an answer to the SIGKILL after it
    for key, delivery_id in deliveries.items():
        assert 1 <= rows[delivery_id] <= answered[key], (key, rows[delivery_id], answered[key])
        missing = answered[key] - rows[delivery_id]
        if missing:
            gaps = [k - t for t in ok_times[key] for k in kills if k - KILL_WINDOW <= t <= k + 0.5]
            if len(gaps) < missing:
                unexplained.append((key, answered[key], rows[delivery_id], ok_times[key]))
            lost_to_kills += missing
            before_kill.append(min(gaps, default=0.0))
    published_at = {uid_of_number: at for uid_of_number, at in _uid_times(publisher)}
    latencies = sorted(first_ok[key] - published_at[key[1]] for key in deliveries)
    duplicates = sum(count - 1 for count in answered.values())
    gone = sum(sum(receiver.gone.values()) for receiver in receivers)
    requests = sum(receiver.requests() for receiver in receivers)
    fates = Counter()
    for receiver in receivers:
        for (_, fate), count in receiver.fates.items():
            fates[fate] += count
    reincarnated = log.count("reincarnated")
    report(
        f"{DELIVERIES} deliveries, {requests} requests ({dict(fates)}); worker SIGKILLed "
        f"{len(kills)}x and restarted {len(started) - 1}x; Redis down "
        f"{_span(outages['redis'])} ({delivered_at['start redis'] - delivered_at['kill redis']} "
        f"deliveries succeeded meanwhile), PostgreSQL down {_span(outages['postgres'])} "
        f"(stop -m immediate took {postgres.stops[0]:.2f} s); deliveries resumed "
        f"{resumed['start postgres']:.1f} s after PostgreSQL came back, with no restart; "
        f"all delivered {finish_seconds:.1f} s after publishing ended; publish "
        f"errors {len(publisher.errors)} (all during the PostgreSQL outage); first 2xx after "
        f"publish p50 {statistics.median(latencies):.2f} s, p99 "
        f"{latencies[int(len(latencies) * 0.99)]:.2f} s, max {latencies[-1]:.2f} s; "
        f"duplicates (same webhook-id answered 2xx twice) {duplicates} "
        f"({duplicates / DELIVERIES:.2%}); 2xx answers without a row (SIGKILL) {lost_to_kills}, "
        f"each answered at most {max(before_kill, default=0) * 1000:.0f} ms before a kill; "
        f"answers not written because the worker was gone {gone}; django-q2 reincarnations "
        f"(pusher, monitor, workers) {reincarnated}"
    )
    timeline = {
        "kills": [round(k - wall_began, 2) for k in kills],
        **{name: [round(t - wall_began, 2) for t in span] for name, span in outages.items()},
    }
    report(f"timeline (s after publishing began): {timeline}")
    # Redis is not on the delivery path: deliveries went on while it was down.
    assert delivered_at["start redis"] > delivered_at["kill redis"], delivered_at
    assert not unexplained, (
        "2xx answers with no attempt row and no SIGKILL near: "
        f"{[(key, n, r, [round(t - wall_began, 2) for t in ts]) for key, n, r, ts in unexplained]}"
    )
    assert latencies[-1] < PUBLISH_SECONDS + FINISH_WITHIN
    assert duplicates < DUPLICATES_BELOW * DELIVERIES, duplicates


def _uid_times(publisher: Publisher):
    numbers = {f"chaos-{n}": at for n, at in publisher.published_at.items()}
    for key, uid in Event.objects.values_list("idempotency_key", "uid"):
        yield uid, numbers[key]


def _span(outage: tuple[float, float]) -> str:
    return f"{outage[1] - outage[0]:.1f} s"
