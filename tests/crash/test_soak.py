"""A soak: steady traffic at 50 events/s to a healthy, a slow (200 ms) and a failing (always
500) receiver, for HOOKHUB_SOAK_SECONDS (180 in `make test`, 1,800 with `make soak`).

It proves the worker's memory stays flat (RSS of every process of the cluster, after warm-up
and at the end) and that the tables stay within what retention allows: the daily prune runs
here every PRUNE_EVERY seconds with a retention of RETENTION seconds (`prune(days=...)`, the
function `manage.py prune_deliveries` and the daily Schedule call), so the row counts must
level off at about rate x retention instead of growing with the run."""

from __future__ import annotations

import os
import statistics
import threading
import time
from collections import Counter

import pytest
from django.db import connection

from deliveries import retention
from deliveries.publishing import publish
from tests.crash.chaos_receiver import Chaos, ReceiverProcess
from tests.crash.conftest import wait_for, worker_rss_kb
from tests.factories import EndpointFactory, EventTypeFactory, UserFactory

pytestmark = [pytest.mark.postgres, pytest.mark.slow]

SOAK_SECONDS = float(os.environ.get("HOOKHUB_SOAK_SECONDS", "180"))
RATE = 50.0  # events per second, each to all three endpoints
RECEIVERS = {
    "/healthy": Chaos(),
    "/slow": Chaos(delay=0.2),
    "/failing": Chaos(error=1.0),
}
RETRY_SCHEDULE = "0,1,2"  # three tries, then the failing endpoint's delivery is dead-lettered
TRIES = {"/healthy": 1, "/slow": 1, "/failing": 3}
WORKER_ENV = {
    "HOOKHUB_Q_WORKERS": "2",
    "HOOKHUB_RETRY_SCHEDULE": RETRY_SCHEDULE,
    # 50/s at 200 ms is 10 in flight: the default per-endpoint cap would be exactly full.
    "HOOKHUB_ENDPOINT_MAX_IN_FLIGHT": "25",
    # The production intervals, not the tests' short ones: this is steady state.
    "HOOKHUB_POLL_INTERVAL": "0.5",
    "HOOKHUB_SWEEP_INTERVAL": "1",
}
RETENTION = 30.0  # seconds of history kept
PRUNE_EVERY = 10.0
WARM_UP = 20.0  # RSS is compared from here (pools, caches and the interpreter warmed)
RSS_GROWTH_MAX_MB = 50.0
DRAIN_WITHIN = 30.0
# Rows alive at once: everything younger than the retention, plus what arrived since the
# last prune, plus a margin for a slow prune and for the unfinished rows it must keep.
EVENTS_MAX = RATE * (RETENTION + PRUNE_EVERY + 15)
COUNT_SQL = {
    "events": "SELECT count(*) FROM deliveries_event",
    "deliveries": "SELECT count(*) FROM deliveries_delivery",
    "attempts": "SELECT count(*) FROM deliveries_attempt",
    # Due more than 5 s ago and not sent: the worker falling behind.
    "overdue": (
        "SELECT count(*) FROM deliveries_delivery WHERE status = 'pending' "
        "AND next_attempt_at < now() - interval '5 seconds'"
    ),
}


UNFINISHED_SQL = "SELECT count(*) FROM deliveries_delivery WHERE status IN ('pending', 'sending')"


class Pruner:
    """The daily prune, every PRUNE_EVERY seconds, on a thread (and connection) of its own;
    it samples the row counts and the worker's memory after each run."""

    def __init__(self, postgres, worker) -> None:
        self.postgres, self.worker = postgres, worker
        self.samples: list[dict] = []
        self.pruned = Counter()
        self.stopping = threading.Event()
        self.began = time.monotonic()

    def run(self) -> None:
        try:
            while not self.stopping.wait(PRUNE_EVERY):
                result = retention.prune(days=RETENTION / 86400)
                self.pruned.update(result.as_dict())
                sample = {name: self.postgres.query(sql)[0][0] for name, sql in COUNT_SQL.items()}
                sample["t"] = time.monotonic() - self.began
                sample["rss_kb"] = sum(worker_rss_kb(self.worker).values())
                self.samples.append(sample)
        finally:
            connection.close()


def latency(postgres, endpoint_id: int) -> tuple[float, float]:
    """p50 and p99 seconds from publish to the end of a successful first try (rows kept)."""
    rows = postgres.query(
        "SELECT extract(epoch FROM a.finished_at - d.created_at) FROM deliveries_attempt a "
        "JOIN deliveries_delivery d ON d.id = a.delivery_id "
        "WHERE d.endpoint_id = %s AND a.number = 1 AND a.response_status = 200",
        (endpoint_id,),
    )
    values = sorted(float(value) for (value,) in rows) or [float("nan")]
    return statistics.median(values), values[int(len(values) * 0.99)]


def test_soak_keeps_worker_memory_flat_and_rows_within_retention(
    own_services, start_worker, report
):
    postgres = own_services.postgres
    receiver = ReceiverProcess(RECEIVERS, seed=8)
    owner = UserFactory(username="owner")
    event_type = EventTypeFactory(name="order-paid")
    endpoints = {
        path: EndpointFactory(owner=owner, url=receiver.url(path), event_types=[event_type]).pk
        for path in RECEIVERS
    }
    worker = start_worker(**WORKER_ENV)
    pruner = Pruner(postgres, worker)
    prune_thread = threading.Thread(target=pruner.run, name="pruner", daemon=True)
    published = 0
    most_behind = 0.0
    received: dict = {}
    try:
        assert wait_for(lambda: len(worker_rss_kb(worker)) >= 6, 30), worker.output()[-3000:]
        rss_idle = worker_rss_kb(worker)
        began = time.monotonic()
        prune_thread.start()
        rss_warm: dict[int, int] = {}
        while time.monotonic() - began < SOAK_SECONDS:
            due = began + published / RATE
            now = time.monotonic()
            if due > now:
                time.sleep(due - now)
            most_behind = max(most_behind, time.monotonic() - due)
            publish("order-paid", {"id": published})
            published += 1
            if not rss_warm and time.monotonic() - began >= WARM_UP:
                rss_warm = worker_rss_kb(worker)
        elapsed = time.monotonic() - began
        drained = wait_for(lambda: postgres.query(UNFINISHED_SQL)[0][0] == 0, DRAIN_WITHIN)
        rss_end = worker_rss_kb(worker)
        alive = worker.process.poll() is None
        log = worker.output()
    finally:
        pruner.stopping.set()
        prune_thread.join(60)
        received = receiver.stop()
    connection.close()

    fates = received["fates"]
    duplicates = sum(received["duplicates"].values())
    # Rows level off at about rate x retention once the first retention period has passed.
    settled = [s for s in pruner.samples if s["t"] > RETENTION + PRUNE_EVERY]
    warm_mb, end_mb = sum(rss_warm.values()) / 1024, sum(rss_end.values()) / 1024
    healthy_p50, healthy_p99 = latency(postgres, endpoints["/healthy"])
    slow_p50, slow_p99 = latency(postgres, endpoints["/slow"])
    sizes = postgres.query(
        "SELECT pg_size_pretty(pg_total_relation_size('deliveries_attempt')), "
        "pg_size_pretty(pg_total_relation_size('deliveries_delivery'))"
    )[0]
    report(
        f"soak {elapsed:.0f} s at {published / elapsed:.1f} events/s ({published} events, "
        f"{received['requests']} requests: {fates}); "
        f"worker RSS (all {len(rss_end)} processes) idle {sum(rss_idle.values()) / 1024:.0f} MB, "
        f"after {WARM_UP:.0f} s {warm_mb:.0f} MB, at the end {end_mb:.0f} MB "
        f"(growth {end_mb - warm_mb:+.1f} MB; per process {sorted(rss_end.values())} KB); "
        f"rows with a {RETENTION:.0f} s retention pruned every {PRUNE_EVERY:.0f} s: "
        f"events {_range(settled, 'events')}, deliveries {_range(settled, 'deliveries')}, "
        f"attempts {_range(settled, 'attempts')} (bound {EVENTS_MAX:.0f} events); "
        f"pruned {dict(pruner.pruned)}; overdue at most {_range(settled, 'overdue')}; "
        f"publish-to-2xx healthy p50 {healthy_p50 * 1000:.0f} ms p99 {healthy_p99 * 1000:.0f} "
        f"ms, slow p50 {slow_p50 * 1000:.0f} ms p99 {slow_p99 * 1000:.0f} ms; "
        f"duplicates {duplicates}; table sizes at the end: attempts {sizes[0]}, "
        f"deliveries {sizes[1]}; publishing at most {most_behind:.1f} s behind its pace"
    )

    assert alive, log[-3000:]
    assert drained is not None, "deliveries left pending or sending after the traffic stopped"
    # The harness itself (publishing and the receivers share this process) must have kept
    # up, or this was not the soak it claims to be: a machine too busy fails here, plainly.
    assert published >= 0.8 * RATE * elapsed, f"published only {published / elapsed:.1f}/s"
    for path in ("/healthy", "/slow"):
        assert received["delivered"].get(path) == published, (path, received, published)
    assert fates.get("/failing error", 0) >= TRIES["/failing"] * published * 0.99, fates
    assert duplicates <= 0.002 * published, duplicates

    # Every sample after the first retention period is within the bound, and the last third
    # is no higher than the two before it.
    assert settled, pruner.samples
    for sample in settled:
        assert sample["events"] <= EVENTS_MAX, sample
        assert sample["deliveries"] <= EVENTS_MAX * len(RECEIVERS), sample
        assert sample["attempts"] <= EVENTS_MAX * sum(TRIES.values()), sample
        assert sample["overdue"] <= RATE * 5, sample
    third = max(1, len(settled) // 3)
    assert max(s["events"] for s in settled[-third:]) <= 1.1 * max(
        s["events"] for s in settled[: 2 * third]
    ), settled
    assert end_mb - warm_mb < RSS_GROWTH_MAX_MB, (rss_warm, rss_end)


def _range(samples: list[dict], name: str) -> str:
    values = [sample[name] for sample in samples] or [0]
    return f"{min(values)}-{max(values)}"
