"""Benchmarks that need real worker processes: pipeline throughput (1), latency (4) and
worker scaling (6). Workers are `manage.py run_worker` (django-q2 cluster + sweeper), started
and always stopped here."""

from __future__ import annotations

import time

from django.conf import settings
from django.db.models import Max

from bench import common
from bench.procs import WorkerProcess, wait_until

PIPELINE_TYPE = "bench-pipeline"
LATENCY_TYPE = "bench-latency"
WARM_TYPE = "bench-warm"
FANOUT = 100  # endpoints per pipeline event: N deliveries = N/100 publish() calls
LATENCY_RATE = 20.0  # events per second


def prepare(ctx) -> None:
    owner = common.user("bench-pipeline-owner")
    urls = [ctx.receiver.url(f"/p/{i}") for i in range(FANOUT)]
    common.endpoints(owner, common.event_type(PIPELINE_TYPE), urls)
    common.endpoints(owner, common.event_type(LATENCY_TYPE), [ctx.receiver.url("/latency")])
    common.endpoints(owner, common.event_type(WARM_TYPE), [ctx.receiver.url("/warm")])


def _done_statuses():
    from deliveries.models import Delivery

    return [Delivery.Status.SUCCEEDED, Delivery.Status.FAILED, Delivery.Status.CANCELLED]


def _max_delivery_id() -> int:
    from deliveries.models import Delivery

    return Delivery.objects.aggregate(top=Max("id"))["top"] or 0


def _warm_up(worker: WorkerProcess) -> None:
    """Publish one event and wait until it is recorded: the cluster is then taking tasks."""
    from deliveries.models import Delivery
    from deliveries.publishing import publish

    event = publish(WARM_TYPE, common.payload(0))
    ok = wait_until(
        lambda: (
            not worker.alive()
            or Delivery.objects.filter(event=event, status__in=_done_statuses()).exists()
        ),
        timeout=60,
        interval=0.05,
    )
    if not ok or not worker.alive():
        raise RuntimeError("The worker did not start delivering within 60 s (see its log).")


def burst(ctx, n: int) -> float:
    """Publish n deliveries (n/100 events x 100 endpoints) and wait until every one is
    recorded (attempt row written, delivery finished). Returns deliveries per second."""
    from deliveries.models import Attempt, Delivery
    from deliveries.publishing import publish

    n = n // FANOUT * FANOUT  # whole events of 100 deliveries (quick mode's n // 2 = 250)
    floor = _max_delivery_id()
    ctx.receiver.reset()
    done = _done_statuses()
    start = time.perf_counter()
    for i in range(n // FANOUT):
        publish(PIPELINE_TYPE, common.payload(i))
    finished = wait_until(
        lambda: Delivery.objects.filter(id__gt=floor, status__in=done).count() >= n,
        timeout=max(60.0, n / 20),
        interval=0.05,
    )
    elapsed = time.perf_counter() - start
    if not finished:
        raise RuntimeError(f"Pipeline did not finish {n} deliveries in time.")
    succeeded = Delivery.objects.filter(id__gt=floor, status=Delivery.Status.SUCCEEDED).count()
    attempts = Attempt.objects.filter(delivery_id__gt=floor).count()
    received = ctx.receiver.count()
    if not (succeeded == attempts == received == n):
        raise RuntimeError(
            f"Pipeline check failed: {succeeded} succeeded, {attempts} attempts, "
            f"{received} received, expected {n} of each."
        )
    return n / elapsed


def latency_run(ctx, duration: float) -> list[float]:
    """Publish one event a 1/20 s apart; seconds from publish() to the receiver's 2xx."""
    from deliveries.publishing import publish

    count = int(duration * LATENCY_RATE)
    ctx.receiver.reset()
    sent: dict[str, float] = {}
    origin = time.monotonic()
    for i in range(count):
        delay = origin + i / LATENCY_RATE - time.monotonic()
        if delay > 0:
            time.sleep(delay)
        at = time.time()
        sent[publish(LATENCY_TYPE, common.payload(i)).uid] = at
    if not wait_until(lambda: ctx.receiver.count() >= count, timeout=30, interval=0.05):
        raise RuntimeError("Latency run: not every event arrived within 30 s.")
    arrivals = {msg_id: arrived for msg_id, arrived in ctx.receiver.log() if msg_id in sent}
    _breakdown(ctx, sent, arrivals)
    return [arrived - sent[msg_id] for msg_id, arrived in arrivals.items()]


def _breakdown(ctx, sent: dict[str, float], arrivals: dict[str, float]) -> None:
    """Where the time goes, per event: publish() until its transaction stored the event,
    stored until the worker started sending (commit, enqueue, broker, claim, build), and
    sending until the receiver had the request."""
    from deliveries.models import Attempt

    stages: dict[str, list[float]] = ctx.extras.setdefault(
        "latency_stages_ms", {"publish": [], "queue+claim": [], "send": []}
    )
    rows = Attempt.objects.filter(delivery__event__uid__in=list(arrivals)).values_list(
        "delivery__event__uid", "delivery__event__created_at", "started_at"
    )
    for msg_id, created, started in rows:
        stages["publish"].append((created.timestamp() - sent[msg_id]) * 1000)
        stages["queue+claim"].append((started.timestamp() - created.timestamp()) * 1000)
        stages["send"].append((arrivals[msg_id] - started.timestamp()) * 1000)


def run(ctx) -> None:
    n = 500 if ctx.quick else 2000
    if ctx.wants("scaling"):
        counts = [2, 4] if ctx.quick else [1, 2, 4]
    elif ctx.wants("pipeline"):
        counts = [2]
    else:
        counts = []  # latency alone
    throughput = bool(counts)
    counts = counts or [2]
    duration = 3.0 if ctx.quick else 10.0
    rates: dict[int, list[tuple[float, float]]] = {}
    latencies: list[tuple[list[float], list[float]]] = []
    for workers in counts:
        worker = WorkerProcess(ctx.env, workers, ctx.workdir / f"worker-{workers}.log")
        try:
            _warm_up(worker)
            if throughput:
                # Untimed: every worker process makes its first connections and fills its
                # caches here. One warm-up event reaches one worker; with the others cold,
                # the first timed repeat at 4 workers ran ~20% slow and biased the ratio.
                burst(ctx, n // 2)
            rates[workers] = []
            for _ in range(common.REPEATS if throughput else 0):
                baseline = common.raw_rate(ctx.receiver.url("/raw"), n)
                figure = burst(ctx, n)
                rates[workers].append((baseline, figure))
                print(
                    f"    {workers} workers: raw {baseline:.0f}/s, pipeline {figure:.0f}/s",
                    flush=True,
                )
            if workers == 2 and ctx.wants("latency"):
                for _ in range(common.REPEATS):
                    raw = common.raw_latencies(ctx.receiver.url("/raw"), int(duration * 20))
                    latencies.append((raw, latency_run(ctx, duration)))
        finally:
            worker.stop()
    if throughput:
        _report_pipeline(ctx, n, rates)
    if latencies:
        _report_latency(ctx, latencies)


def _report_pipeline(ctx, n: int, rates: dict[int, list[tuple[float, float]]]) -> None:
    target = 1.0 if ctx.redis else 0.8
    ctx.add(
        common.ratio_row(
            "1 pipeline",
            f"throughput, {n} deliveries, 2 workers",
            rates[2],
            unit="req/s",
            baseline_label="serial requests.Session",
            figure_label="published -> recorded",
            target=f">= {target}",
            check=lambda r: r >= target,
        )
    )
    ctx.extras["scaling"] = {
        str(w): {
            "raw": common.median([b for b, _ in runs]),
            "pipeline": common.median([f for _, f in runs]),
        }
        for w, runs in rates.items()
    }
    if 4 not in rates:
        return
    ctx.add(
        common.ratio_row(
            "6 scaling",
            "throughput 4 workers / 2 workers",
            [(two[1], four[1]) for two, four in zip(rates[2], rates[4], strict=True)],
            unit="deliv/s",
            baseline_label="2 workers",
            figure_label="4 workers",
            target=">= 0.95",
            check=lambda r: r >= 0.95,
        )
    )


def _report_latency(ctx, runs: list[tuple[list[float], list[float]]]) -> None:
    poll_ms = float(settings.Q_CLUSTER.get("poll", 0.2)) * 1000
    bound = 25.0 if ctx.redis else poll_ms + 25.0
    where = "Redis" if ctx.redis else f"ORM broker, poll {poll_ms:.0f} ms"
    for q in (50, 99):
        pairs = [
            (common.percentile(raw, q) * 1000, common.percentile(hub, q) * 1000)
            for raw, hub in runs
        ]
        row = common.ratio_row(
            "4 latency",
            f"p{q} publish -> 2xx at 20 events/s",
            pairs,
            unit="ms",
            baseline_label=f"raw request p{q}",
            figure_label=f"HookHub p{q}",
            target=f"p99 <= {bound:.0f} ms ({where})" if q == 99 else "(reported)",
            check=lambda _r: True,
        )
        if q == 99:
            row.met = row.figure <= bound
        ctx.add(row)
    ctx.extras["latency_ms"] = [x * 1000 for _, hub in runs for x in hub]
    stages = ctx.extras.pop("latency_stages_ms", {})
    ctx.extras["latency_stages"] = {
        name: {"p50": common.percentile(v, 50), "p99": common.percentile(v, 99)}
        for name, v in stages.items()
        if v
    }
    print(f"    latency stages (ms): {ctx.extras['latency_stages']}", flush=True)
