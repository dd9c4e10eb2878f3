"""Realistic delivery workloads (issue 11): W1-W4 against real worker processes, the memory of
one worker with 1,000 deliveries in flight, and `publish_many` against a plain bulk insert.

Workers are `manage.py run_worker` with HOOKHUB_Q_WORKERS=2 (the memory benchmark: 1),
started and always stopped here. Every figure is measured right after its baselines, in the
same repeat, on the same receiver (bench/receiver.py picks the answer from the path):

- W1: 2,000 events, each to ONE of 100 endpoints (100 event types, each subscribed by one
  endpoint), receiver answers at once;
- W2: 1,000 such events, the receiver answers each after 100 ms;
- W3: 100 endpoints of which 10 never answer (the worker runs with
  HOOKHUB_DELIVERY_DEADLINE=5), 20 events per second to endpoints drawn at random (a fixed
  seed) for 30 s; the healthy endpoints' publish -> receipt latency against the same
  schedule with no hanging endpoint;
- W4: 20 events x 100 endpoints (fan-out), at once;
- W5: mixed receivers on W3's schedule: per 10 endpoints 1 hangs, 1 answers 500 (retried),
  4 answer after 100 ms, 4 at once; the 2xx ones' latency against the same schedule with
  the hanging and failing ones answering at once.

W1, W2 and W4 are timed from the first publish call until the receiver wrote its last 2xx
(publishing is in the clock; nothing is pre-published); each run then waits until every
delivery is recorded (attempt row, delivery `succeeded`) and checks that the receiver got
exactly one request per delivery. Batches are published with
`deliveries.publishing.publish_many(type, [data, ...])` where it exists, one call per event
type, otherwise with one `publish()` per event. A burst's calls run in one transaction, as a
provider publishing a burst from its own code would write them (the transactional outbox:
the events exist for workers once the provider's transaction commits); W1 and W2 also run
each call in a transaction of its own (the rows marked "a commit per call"), which is what
a stream of separate API requests costs.
"""

from __future__ import annotations

import os
import random
import time
import traceback

from bench import baselines, common, sampling
from bench.procs import WorkerProcess, wait_until

ENDPOINTS = 100
HANG_EVERY = 10  # W3: endpoints 0, 10, ..., 90 never answer
W3_RATE = 20.0  # events per second
W3_DEADLINE = "5"
SEED = 11
OWNER = "bench-workload-owner"
WARM_TYPE = "bench-wl-warm"
W4_TYPE = "bench-w4"
MEM_TYPE = "bench-mem"
MEM_ENDPOINTS = 200  # x 5 events = 1,000 deliveries; the per-endpoint cap (10) allows them all
MEM_IN_FLIGHT = 1000
PUBLISH_TYPE = "bench-pubmany"
# W1-W4 per repeat: the prefixes of the event types, and each one's receiver path.
PATHS = {
    "w1": lambda i: f"/w1/{i}",
    "w2": lambda i: f"/w2/delay-100/{i}",
    "w3": lambda i: f"/w3/hang/{i}" if i % HANG_EVERY == 0 else f"/w3/ok/{i}",
    "w3c": lambda i: f"/w3c/ok/{i}",
    "w5": lambda i: f"/w5/{W5_KINDS[i % 10]}/{i}",
    "w5c": lambda i: f"/w5c/{W5_CALM_KINDS[i % 10]}/{i}",
}
# W5, mixed receivers: per 10 endpoints, 1 never answers, 1 answers 500 (so it retries), 4
# answer after 100 ms and 4 at once. Its baseline is the same schedule with the hanging and
# failing ones answering at once.
W5_KINDS = ["hang", "status-500", *["delay-100"] * 4, *["ok"] * 4]
W5_CALM_KINDS = ["ok", "ok", *["delay-100"] * 4, *["ok"] * 4]


class Sizes:
    def __init__(self, quick: bool) -> None:
        self.repeats = 1 if quick else common.REPEATS
        self.w1 = 300 if quick else 2000
        self.w2 = 200 if quick else 1000
        self.w3_duration = 4.0 if quick else 30.0
        self.w3_drain = 5.0 if quick else 30.0  # for healthy deliveries after the last publish
        self.w4_events = 3 if quick else 20
        self.mem_repeats = 1 if quick else common.REPEATS
        self.publish = 300 if quick else 1000
        self.publish_rounds = 1 if quick else common.REPEATS


def type_name(prefix: str, i: int) -> str:
    return f"bench-{prefix}-{i}"


def healthy(index: int) -> bool:
    return index % HANG_EVERY != 0


def w5_healthy(index: int) -> bool:
    return W5_KINDS[index % 10] in ("ok", "delay-100")


def w3_schedule(duration: float, seed: int = SEED) -> list[tuple[float, int]]:
    """(seconds after the start, endpoint index) for each event: 20/s, endpoints at random."""
    rng = random.Random(seed)
    return [(k / W3_RATE, rng.randrange(ENDPOINTS)) for k in range(int(duration * W3_RATE))]


# --- publishing -------------------------------------------------------------------------------
def publisher_name() -> str:
    from deliveries import publishing

    return "publish_many" if hasattr(publishing, "publish_many") else "publish() per event"


def publish_groups(groups: list[tuple[str, list[dict]]]) -> list[str]:
    """Publish every (type name, [data, ...]) group; returns the events' message ids."""
    from deliveries import publishing

    many = getattr(publishing, "publish_many", None)
    if many is not None:
        return [event.uid for name, items in groups for event in many(name, items)]
    # Before publish_many: one publish() per event, round-robin over the types.
    uids = []
    for k in range(max((len(items) for _, items in groups), default=0)):
        for name, items in groups:
            if k < len(items):
                uids.append(publishing.publish(name, items[k]).uid)
    return uids


def spread(prefix: str, n: int) -> list[tuple[str, list[dict]]]:
    """n one-endpoint events over the 100 types of `prefix` (event k to endpoint k % 100)."""
    groups: list[tuple[str, list[dict]]] = [(type_name(prefix, i), []) for i in range(ENDPOINTS)]
    for k in range(n):
        groups[k % ENDPOINTS][1].append(common.payload(k))
    return [group for group in groups if group[1]]


# --- shared bookkeeping -----------------------------------------------------------------------
def purge_queue() -> None:
    try:
        from deliveries.queue import broker
    except ImportError:
        from deliveries.tasks import broker
    broker().purge_queue()


def _max_delivery_id() -> int:
    from django.db.models import Max

    from deliveries.models import Delivery

    return Delivery.objects.aggregate(top=Max("id"))["top"] or 0


def _cancel(endpoint_ids: list[int]) -> int:
    from deliveries.models import Delivery

    return Delivery.objects.filter(
        endpoint_id__in=endpoint_ids,
        status__in=[Delivery.Status.PENDING, Delivery.Status.SENDING],
    ).update(status=Delivery.Status.CANCELLED, next_attempt_at=None)


def settle(ctx, endpoint_ids: list[int], timeout: float) -> None:
    """After a run that left work behind (hanging endpoints, a backlog): cancel what is
    still pending, wait until no request is open at the receiver, cancel again (an attempt
    that just ended may have scheduled a retry) and purge the queue, so the next run starts
    from nothing."""
    _cancel(endpoint_ids)
    wait_until(lambda: ctx.receiver.stats()["open"] == 0, timeout=timeout, interval=0.1)
    time.sleep(0.3)
    _cancel(endpoint_ids)
    purge_queue()


def cpu_groups(ctx, worker_pid: int, publisher: int | None = None) -> dict:
    groups = {
        "workers": lambda: [worker_pid, *sampling.descendants(worker_pid)],
        "publisher": lambda: [publisher or os.getpid()],
        "receiver": lambda: [ctx.receiver.proc.pid],
    }
    if ctx.name == "postgres":
        groups["postgresql"] = lambda: sampling.by_name("postgres")
    if ctx.redis:
        groups["redis"] = lambda: sampling.by_name("redis-server")
    return groups


def what_limits(cpu: dict, *, elapsed: float, publish_s: float, in_flight_bound=None) -> str:
    """One sentence: what bounded this run, read from where the time and the CPU went."""
    cores = os.cpu_count() or 1
    groups = cpu["groups"]
    busiest = max(groups.items(), key=lambda item: item[1]["max"])
    evidence = sampling.describe_cpu(cpu)
    if in_flight_bound is not None and in_flight_bound[0] >= 0.6 * in_flight_bound[1]:
        rate, bound, open_ = in_flight_bound
        return (
            f"Requests in flight: the receiver saw at most {open_} open at once, which at "
            f"100 ms each allows {bound:,.0f}/s; the run reached {rate:,.0f}/s. {evidence}."
        )
    if publish_s >= 0.75 * elapsed:
        publisher = groups.get("publisher", {}).get("total", 0.0)
        starved = (
            f", and the publisher got only {publisher:.2f} cores of a machine busy "
            f"{cpu['machine']:.2f} of {cores} (the workers and the database took the rest)"
            if cpu["machine"] >= 0.85 * cores
            else ""
        )
        return (
            f"Publishing: the last publish call returned {publish_s:.2f} s into the "
            f"{elapsed:.2f} s run, so the rate is about the publisher's{starved}. {evidence}."
        )
    if busiest[1]["max"] >= 0.85:
        return (
            f"CPU of one process: a {busiest[0]} process ran {busiest[1]['max']:.2f} cores "
            f"(one is the most a Python process gets). {evidence}."
        )
    if cpu["machine"] >= 0.85 * cores:
        return f"The machine's CPU: {cpu['machine']:.2f} of {cores} cores busy. {evidence}."
    return (
        "Waiting, not CPU: no process and not the machine was near its limit, so the time went "
        f"to hand-offs between processes (queue, database, wake-ups). {evidence}."
    )


# --- one measured burst -----------------------------------------------------------------------
def burst(
    ctx, worker: WorkerProcess, groups, n: int, timeout: float, *, one_transaction: bool = True
) -> dict:
    """Publish `groups` (n deliveries in all), in one transaction or a commit per call; time
    first publish -> the receiver's last 2xx; then wait until every delivery is recorded and
    check the counts."""
    from django.db import transaction

    from deliveries.models import Attempt, Delivery

    floor = _max_delivery_id()
    ctx.receiver.reset()
    meter = sampling.CpuMeter(cpu_groups(ctx, worker.pid)).start()
    began = time.time()
    if one_transaction:
        with transaction.atomic():
            uids = set(publish_groups(groups))
    else:
        uids = set(publish_groups(groups))
    published = time.time()
    deadline = time.monotonic() + timeout
    answered = wait_until(
        lambda: not worker.alive() or ctx.receiver.stats()["answered"] >= n,
        timeout=timeout,
        interval=0.02,
    )
    ours: list[list] = []

    def all_ours() -> bool:
        # Only this burst's requests (its events' ids): anything else the receiver got is a
        # stray from an earlier benchmark and is reported, not counted.
        ours[:] = [e for e in ctx.receiver.entries() if e[0] in uids]
        return sum(1 for e in ours if e[3] == 200) >= n

    if answered and worker.alive() and not all_ours():
        wait_until(all_ours, timeout=max(0.0, deadline - time.monotonic()), interval=0.1)
    cpu = meter.stop()
    stats = ctx.receiver.stats()
    done = [e for e in ours if e[3] == 200]
    if len(done) < n or not worker.alive():
        raise RuntimeError(
            f"{len(done)} of {n} deliveries answered within {timeout:.0f} s "
            f"(worker {'alive' if worker.alive() else 'exited'})"
        )
    last = max(e[2] for e in done)
    recorded = wait_until(
        lambda: (
            Delivery.objects.filter(id__gt=floor, status=Delivery.Status.SUCCEEDED).count() >= n
        ),
        timeout=60,
        interval=0.02,
    )
    recorded_at = time.time()
    attempts = Attempt.objects.filter(delivery_id__gt=floor).count()
    all_ours()
    distinct = len({(e[0], e[4]) for e in ours})  # (message id, endpoint path)
    if not recorded or attempts != n or len(ours) != n or distinct != n:
        raise RuntimeError(
            f"check failed: recorded={recorded}, {attempts} attempts, {len(ours)} requests "
            f"received ({distinct} distinct) for {n} deliveries"
        )
    elapsed = last - began
    return {
        "rate": n / elapsed,
        "recorded_rate": n / (recorded_at - began),
        "elapsed_s": elapsed,
        "publish_s": published - began,
        "publish_calls": len(groups) if publisher_name() == "publish_many" else len(uids),
        "max_open": stats["max_open"],
        "max_open_path": stats["max_open_path"],
        "strays": stats["count"] - len(ours),
        "cpu": cpu,
    }


def arrivals(ctx, keys: set[str]) -> dict[str, float]:
    """First receipt time per message id, for the ids in `keys`."""
    got: dict[str, float] = {}
    for key, t_read, *_ in ctx.receiver.entries():
        if key in keys and (key not in got or t_read < got[key]):
            got[key] = t_read
    return got


def latencies(ctx, sent: dict[str, tuple[float, int]], drain: float, is_healthy=healthy) -> dict:
    """Wait (at most `drain` s) for every healthy event in `sent` (key -> (publish time,
    endpoint index)); publish -> receipt seconds of each. An undelivered event counts as
    cut-off minus publish time: a lower bound, and the run is marked."""
    healthy_sent = {key: at for key, (at, index) in sent.items() if is_healthy(index)}
    keys = set(healthy_sent)
    wait_until(lambda: len(arrivals(ctx, keys)) >= len(keys), timeout=drain, interval=0.1)
    cut = time.time()
    got = arrivals(ctx, keys)
    values = [got.get(key, cut) - at for key, at in healthy_sent.items()]
    return {
        "latencies_ms": [round(v * 1000, 2) for v in values],
        "p50": common.percentile(values, 50) * 1000,
        "p99": common.percentile(values, 99) * 1000,
        "healthy": len(keys),
        "undelivered": len(keys) - len(got),
        "hanging": len(sent) - len(keys),
    }


def scheduled(
    ctx, worker: WorkerProcess, prefix: str, schedule, drain: float, is_healthy=healthy
) -> dict:
    """Publish one event at each scheduled time (publish() each: they are individual)."""
    from deliveries.publishing import publish

    ctx.receiver.reset()
    meter = sampling.CpuMeter(cpu_groups(ctx, worker.pid)).start()
    sent: dict[str, tuple[float, int]] = {}
    origin = time.monotonic()
    for k, (offset, index) in enumerate(schedule):
        delay = origin + offset - time.monotonic()
        if delay > 0:
            time.sleep(delay)
        at = time.time()
        sent[publish(type_name(prefix, index), common.payload(k)).uid] = (at, index)
    result = latencies(ctx, sent, drain, is_healthy)
    result["cpu"] = meter.stop()
    stats = ctx.receiver.stats()
    result["max_open"] = stats["max_open"]
    result["max_open_path"] = stats["max_open_path"]
    result["max_open_hanging"] = stats["max_open_by_mode"]["hang"]
    return result


# --- setup ------------------------------------------------------------------------------------
def prepare(ctx) -> dict[str, list[int]]:
    """The endpoints every workload uses; returns their ids by workload."""
    from subscriptions.models import Endpoint

    if "workload_endpoints" in ctx.extras:
        return ctx.extras["workload_endpoints"]
    owner = common.user(OWNER)
    ids: dict[str, list[int]] = {}
    for prefix, path in PATHS.items():
        ids[prefix] = []
        for i in range(ENDPOINTS):
            rows = common.endpoints(
                owner, common.event_type(type_name(prefix, i)), [ctx.receiver.url(path(i))]
            )
            ids[prefix].append(rows[0].pk)
    rows = common.endpoints(
        owner,
        common.event_type(W4_TYPE),
        [ctx.receiver.url(f"/w4/{i}") for i in range(ENDPOINTS)],
    )
    ids["w4"] = [row.pk for row in rows]
    rows = common.endpoints(
        owner,
        common.event_type(MEM_TYPE),
        [ctx.receiver.url(f"/mem/hang/{i}") for i in range(MEM_ENDPOINTS)],
    )
    ids["mem"] = [row.pk for row in rows]
    common.endpoints(owner, common.event_type(WARM_TYPE), [ctx.receiver.url("/wl-warm")])
    ids["all"] = list(Endpoint.objects.filter(owner=owner).values_list("id", flat=True))
    ctx.extras["workload_endpoints"] = ids
    return ids


def clean_slate() -> None:
    """Cancel every delivery still pending or sending from an earlier benchmark (one that
    failed, or whose worker was stopped mid-run): a worker claims whatever is due, so they
    would be sent during these runs. Then purge the queue."""
    from deliveries.models import Delivery

    left = Delivery.objects.filter(
        status__in=[Delivery.Status.PENDING, Delivery.Status.SENDING]
    ).update(status=Delivery.Status.CANCELLED, next_attempt_at=None)
    purge_queue()
    if left:
        print(f"    cancelled {left} deliveries left over by earlier benchmarks", flush=True)


def cleanup(ctx) -> None:
    """Remove the workloads' rows, so later benchmarks (lists) see the database as before."""
    from deliveries.models import Event
    from subscriptions.models import Endpoint, EventType

    ids = ctx.extras.pop("workload_endpoints", None)
    if not ids:
        return
    names = [type_name(prefix, i) for prefix in PATHS for i in range(ENDPOINTS)]
    names += [W4_TYPE, MEM_TYPE, WARM_TYPE]
    Event.objects.filter(event_type__name__in=names).delete()
    Endpoint.objects.filter(id__in=ids["all"]).delete()
    EventType.objects.filter(name__in=names).delete()
    purge_queue()


def _warm_up(ctx, worker: WorkerProcess) -> None:
    """One delivery (the cluster takes tasks), then an untimed W1-shaped burst so every worker
    process has its connections and caches before the first timed repeat."""
    from deliveries.models import Delivery
    from deliveries.publishing import publish

    event = publish(WARM_TYPE, common.payload(0))
    done = wait_until(
        lambda: (
            not worker.alive()
            or Delivery.objects.filter(event=event, status=Delivery.Status.SUCCEEDED).exists()
        ),
        timeout=60,
        interval=0.05,
    )
    if not done or not worker.alive():
        delivery = Delivery.objects.filter(event=event).first()
        state = f"delivery {delivery.status}, {delivery.attempt_count} attempts" if delivery else ""
        raise RuntimeError(
            f"The worker did not start delivering within 60 s ({state}; "
            f"worker {'alive' if worker.alive() else 'exited'}; see its log)."
        )


# --- the workloads ----------------------------------------------------------------------------
def run(ctx) -> None:
    """The selected workloads, on one group of 2 worker processes with
    HOOKHUB_DELIVERY_DEADLINE=5 (W3's deadline; W1, W2 and W4 answer within 100 ms, so the
    deadline never comes into play there)."""
    sizes = Sizes(ctx.quick)
    clean_slate()
    ids = prepare(ctx)
    store = ctx.extras.setdefault("workloads", {})
    store["publisher"] = publisher_name()
    worker = WorkerProcess(
        ctx.env,
        2,
        ctx.workdir / "worker-workloads.log",
        extra_env={"HOOKHUB_DELIVERY_DEADLINE": W3_DEADLINE},
    )
    try:
        _warm_up(ctx, worker)
        warm = max(100, sizes.w1 // 2)
        burst(ctx, worker, spread("w1", warm), warm, timeout=120)
        steps = [("w1", _w1), ("w2", _w2), ("w4", _w4), ("w3", _w3), ("w5", _w5)]
        for name, step in steps:
            if not ctx.wants(name):
                continue
            began = time.monotonic()
            try:
                step(ctx, worker, sizes, store, ids)
            except Exception as exc:  # one broken workload must not hide the others
                traceback.print_exc()
                ctx.errors.append(f"{name}: {exc}")
                settle(ctx, ids["all"], timeout=float(W3_DEADLINE) + 5)
            ctx.extras.setdefault("durations_s", {})[name] = round(time.monotonic() - began, 1)
    finally:
        worker.stop()
        settle(ctx, ids["all"], timeout=5)
        cleanup(ctx)


def _w1(ctx, worker, sizes: Sizes, store: dict, ids: dict) -> None:
    n = sizes.w1
    runs = []
    for _ in range(sizes.repeats):
        serial = baselines.serial(ctx.receiver.url("/raw"), n)
        limit = baselines.concurrency_limit(
            [ctx.receiver.url(f"/base/{i}") for i in range(ENDPOINTS)],
            n,
            warm_url=ctx.receiver.url("/raw"),
        )
        hub = burst(ctx, worker, spread("w1", n), n, timeout=max(120, n / 5))
        per_call = burst(
            ctx, worker, spread("w1", n), n, timeout=max(120, n / 5), one_transaction=False
        )
        hub.update(serial=serial, limit=limit, per_call=per_call)
        runs.append(hub)
        print(
            f"    W1: serial {serial:.0f}/s, concurrency limit {limit:.0f}/s, "
            f"HookHub {hub['rate']:.0f}/s (recorded {hub['recorded_rate']:.0f}/s, "
            f"max open {hub['max_open']}); a commit per call {per_call['rate']:.0f}/s",
            flush=True,
        )
    store["w1"] = {"n": n, "runs": runs}
    per_call_runs = [r["per_call"] for r in runs]
    target = 1.0 if ctx.redis else 0.5
    limit_text = _limit_of(runs)
    ctx.add(
        common.ratio_row(
            "W1 one-endpoint",
            f"{n} events, each to 1 of 100 endpoints, instant receiver",
            [(r["serial"], r["rate"]) for r in runs],
            unit="events/s",
            baseline_label="serial requests.Session",
            figure_label=f"first publish -> last 2xx, {store['publisher']}, one transaction",
            target=f">= {target}",
            check=lambda r: r >= target,
            limit=limit_text,
        )
    )
    ctx.add(
        common.ratio_row(
            "W1 one-endpoint",
            f"{n} events vs the concurrency limit",
            [(r["limit"], r["rate"]) for r in runs],
            unit="events/s",
            baseline_label="aiohttp, 500 in flight",
            figure_label="first publish -> last 2xx",
            target="(reported)",
            check=lambda _r: True,
            limit=limit_text,
        )
    )
    ctx.add(
        common.ratio_row(
            "W1 one-endpoint",
            f"{n} events, a commit per publish call",
            [(r["serial"], r["per_call"]["rate"]) for r in runs],
            unit="events/s",
            baseline_label="serial requests.Session",
            figure_label=f"first publish -> last 2xx, {len(spread('w1', n))} commits",
            target="(reported)",
            check=lambda _r: True,
            limit=_limit_of(per_call_runs),
        )
    )


def _w2(ctx, worker, sizes: Sizes, store: dict, ids: dict) -> None:
    n = sizes.w2
    runs = []
    for _ in range(sizes.repeats):
        limit = baselines.concurrency_limit(
            [ctx.receiver.url(f"/base/delay-100/{i}") for i in range(ENDPOINTS)],
            n,
            warm_url=ctx.receiver.url("/raw"),
        )
        hub = burst(ctx, worker, spread("w2", n), n, timeout=max(120, n / 5))
        per_call = burst(
            ctx, worker, spread("w2", n), n, timeout=max(120, n / 5), one_transaction=False
        )
        hub.update(limit=limit, per_call=per_call)
        runs.append(hub)
        print(
            f"    W2: concurrency limit {limit:.0f}/s, HookHub {hub['rate']:.0f}/s "
            f"(max open {hub['max_open']}, per endpoint {hub['max_open_path']}); "
            f"a commit per call {per_call['rate']:.0f}/s",
            flush=True,
        )
    store["w2"] = {"n": n, "runs": runs}
    per_call_runs = [r["per_call"] for r in runs]
    target = 0.5 if ctx.redis else 0.25
    mid = _median_run(runs)
    ctx.add(
        common.ratio_row(
            "W2 slow receiver",
            f"{n} one-endpoint events, receiver answers after 100 ms",
            [(r["limit"], r["rate"]) for r in runs],
            unit="events/s",
            baseline_label="aiohttp, 500 in flight",
            figure_label=(
                f"first publish -> last 2xx, one transaction; at most {mid['max_open']} open"
            ),
            target=f">= {target}",
            check=lambda r: r >= target,
            limit=_limit_of(runs, delay=0.1),
        )
    )
    ctx.add(
        common.ratio_row(
            "W2 slow receiver",
            f"{n} one-endpoint events, a commit per publish call",
            [(r["limit"], r["per_call"]["rate"]) for r in runs],
            unit="events/s",
            baseline_label="aiohttp, 500 in flight",
            figure_label=f"first publish -> last 2xx, {len(spread('w2', n))} commits",
            target="(reported)",
            check=lambda _r: True,
            limit=_limit_of(per_call_runs, delay=0.1),
        )
    )


def _w4(ctx, worker, sizes: Sizes, store: dict, ids: dict) -> None:
    n = sizes.w4_events * ENDPOINTS
    runs = []
    for _ in range(sizes.repeats):
        serial = baselines.serial(ctx.receiver.url("/raw"), n)
        groups = [(W4_TYPE, [common.payload(k) for k in range(sizes.w4_events)])]
        hub = burst(ctx, worker, groups, n, timeout=max(120, n / 5))
        hub["serial"] = serial
        runs.append(hub)
        print(f"    W4: serial {serial:.0f}/s, HookHub {hub['rate']:.0f}/s", flush=True)
    store["w4"] = {"n": n, "runs": runs}
    target = 1.0 if ctx.redis else 0.8
    ctx.add(
        common.ratio_row(
            "W4 fan-out",
            f"{sizes.w4_events} events x 100 endpoints ({n} deliveries)",
            [(r["serial"], r["rate"]) for r in runs],
            unit="deliv/s",
            baseline_label="serial requests.Session",
            figure_label="first publish -> last 2xx",
            target=f">= {target} (as row 1)",
            check=lambda r: r >= target,
            limit=_limit_of(runs),
        )
    )


def _median_run(runs: list[dict], key: str = "rate") -> dict:
    ordered = sorted(runs, key=lambda r: r[key])
    return ordered[len(ordered) // 2]


def _limit_of(runs: list[dict], delay: float | None = None) -> str:
    mid = _median_run(runs)
    bound = None
    if delay:
        bound = (mid["rate"], mid["max_open"] / delay, mid["max_open"])
    return what_limits(
        mid["cpu"], elapsed=mid["elapsed_s"], publish_s=mid["publish_s"], in_flight_bound=bound
    )


# --- W3 ---------------------------------------------------------------------------------------
def _w3(ctx, worker, sizes: Sizes, store: dict, ids: dict) -> None:
    schedule = w3_schedule(sizes.w3_duration)
    runs = []
    for _ in range(sizes.repeats):
        calm = scheduled(ctx, worker, "w3c", schedule, sizes.w3_drain)
        settle(ctx, ids["w3c"], timeout=10)
        noisy = scheduled(ctx, worker, "w3", schedule, sizes.w3_drain)
        settle(ctx, ids["w3"], timeout=float(W3_DEADLINE) + 5)
        runs.append({"calm": calm, "noisy": noisy})
        print(
            f"    W3: no hang p50 {calm['p50']:.1f} / p99 {calm['p99']:.1f} ms; "
            f"10 hanging p50 {noisy['p50']:.1f} / p99 {noisy['p99']:.1f} ms, "
            f"{noisy['undelivered']} of {noisy['healthy']} healthy undelivered",
            flush=True,
        )
    store["w3"] = {"duration_s": sizes.w3_duration, "events": len(schedule), "runs": runs}
    undelivered = common.median([r["noisy"]["undelivered"] for r in runs])
    healthy_count = runs[0]["noisy"]["healthy"]
    mid = sorted(runs, key=lambda r: r["noisy"]["p99"])[len(runs) // 2]
    cpu_text = sampling.describe_cpu(mid["noisy"]["cpu"])
    noisy, calm = mid["noisy"], mid["calm"]
    held = W3_RATE / HANG_EVERY * float(W3_DEADLINE)
    seen = (
        f"In the median run the receiver saw at most {noisy['max_open_hanging']} requests to "
        f"hanging endpoints open at once ({noisy['max_open_path']} to one endpoint), "
        f"{noisy['max_open']} in all"
    )
    if noisy["undelivered"] == 0 and noisy["p99"] <= 2 * calm["p99"]:
        verdict = (
            f"; healthy deliveries did not wait behind them (p99 {noisy['p99']:.0f} ms against "
            f"{calm['p99']:.0f} ms with no hanging endpoint), so what is left is the no-hang "
            "path's own latency (row 4's hops)."
        )
    else:
        verdict = (
            f"; healthy deliveries waited behind them (p99 {noisy['p99']:.0f} ms against "
            f"{calm['p99']:.0f} ms with no hanging endpoint, {noisy['undelivered']} undelivered):"
            " once the hanging requests held every slot a worker had, the healthy ones queued."
        )
    limit = (
        "Slots held by the hanging endpoints: each of their deliveries keeps a request open "
        f"until the {W3_DEADLINE} s deadline, about {held:.0f} at once at this schedule (more "
        f"while their retries come due). {seen}{verdict} {cpu_text}."
    )
    for q in (50, 99):
        pairs = [(r["calm"][f"p{q}"], r["noisy"][f"p{q}"]) for r in runs]
        if q == 99:
            bound = " and <= 250 ms" if ctx.redis else ""
            target = f"<= 2.0{bound}; all delivered"
        else:
            target = "(reported)"
        row = common.ratio_row(
            "W3 noisy neighbour",
            f"healthy p{q} publish -> receipt, 20 events/s for {sizes.w3_duration:.0f} s",
            pairs,
            unit="ms",
            baseline_label=f"p{q}, no hanging endpoint",
            figure_label=(
                f"p{q}, 10 of 100 hanging ({undelivered:.0f} of {healthy_count} undelivered "
                f"{sizes.w3_drain:.0f} s after the last publish)"
            ),
            target=target,
            check=lambda _r: True,
            limit=limit,
        )
        if q == 99:
            row.met = row.ratio <= 2.0 and (row.figure <= 250 or not ctx.redis) and undelivered == 0
        ctx.add(row)


def _w5(ctx, worker, sizes: Sizes, store: dict, ids: dict) -> None:
    """Mixed receivers: the W3 schedule over endpoints that hang, fail (500, retried), answer
    after 100 ms or at once; the latency of the ones that answer 2xx against the same
    schedule where the hanging and failing ones answer at once."""
    schedule = w3_schedule(sizes.w3_duration, seed=SEED + 1)
    runs = []
    for _ in range(sizes.repeats):
        calm = scheduled(ctx, worker, "w5c", schedule, sizes.w3_drain)
        settle(ctx, ids["w5c"], timeout=10)
        mixed = scheduled(ctx, worker, "w5", schedule, sizes.w3_drain, w5_healthy)
        # The failing endpoints' retries (HOOKHUB_RETRY_SCHEDULE) are cancelled here.
        settle(ctx, ids["w5"], timeout=float(W3_DEADLINE) + 5)
        runs.append({"calm": calm, "mixed": mixed})
        print(
            f"    W5: calm p50 {calm['p50']:.1f} / p99 {calm['p99']:.1f} ms; mixed p50 "
            f"{mixed['p50']:.1f} / p99 {mixed['p99']:.1f} ms, {mixed['undelivered']} of "
            f"{mixed['healthy']} healthy undelivered",
            flush=True,
        )
    store["w5"] = {"duration_s": sizes.w3_duration, "events": len(schedule), "runs": runs}
    undelivered = common.median([r["mixed"]["undelivered"] for r in runs])
    mid = sorted(runs, key=lambda r: r["mixed"]["p99"])[len(runs) // 2]
    limit = (
        "Per 10 endpoints 1 hangs to the 5 s deadline, 1 answers 500 and is retried on "
        "HOOKHUB_RETRY_SCHEDULE, 4 answer after 100 ms and 4 at once; the baseline runs the "
        f"same schedule with the hanging and failing ones answering at once. "
        f"{sampling.describe_cpu(mid['mixed']['cpu'])}."
    )
    for q in (50, 99):
        pairs = [(r["calm"][f"p{q}"], r["mixed"][f"p{q}"]) for r in runs]
        row = common.ratio_row(
            "W5 mixed receivers",
            f"2xx receivers' p{q} publish -> receipt, 20 events/s for {sizes.w3_duration:.0f} s",
            pairs,
            unit="ms",
            baseline_label=f"p{q}, none hanging or failing",
            figure_label=(
                f"p{q}, 10 hanging + 10 failing of 100 ({undelivered:.0f} of "
                f"{runs[0]['mixed']['healthy']} undelivered)"
            ),
            target="<= 2.0; all delivered" if q == 99 else "(reported)",
            check=lambda _r: True,
            limit=limit,
        )
        if q == 99:
            row.met = row.ratio <= 2.0 and undelivered == 0
        ctx.add(row)


# --- memory -----------------------------------------------------------------------------------
def _cluster_processes(worker: WorkerProcess) -> list[dict]:
    return [
        {
            "pid": pid,
            "sockets": sampling.socket_count(pid),
            "hwm_kb": sampling.status_kb(pid, "VmHWM"),
            "rss_kb": sampling.status_kb(pid, "VmRSS"),
        }
        for pid in sampling.descendants(worker.pid)
    ]


def _wait_for_plateau(ctx, target: int, timeout: float) -> None:
    """Until `target` requests hang open at the receiver, or the count stopped growing for
    2 s (an engine that keeps fewer in flight), or `timeout`."""
    end = time.monotonic() + timeout
    best, since = -1, time.monotonic()
    while time.monotonic() < end:
        now_open = ctx.receiver.stats()["open_by_mode"]["hang"]
        if now_open >= target:
            return
        if now_open > best:
            best, since = now_open, time.monotonic()
        elif best > 0 and time.monotonic() - since >= 2.0:
            return
        time.sleep(0.1)


def memory(ctx) -> None:
    """Peak RSS (VmHWM) of one django-q2 worker process with 1,000 deliveries in flight to
    200 hanging endpoints (HOOKHUB_MAX_IN_FLIGHT=1000, one worker process, deadline 30 s so
    nothing ends while it is measured)."""
    sizes = Sizes(ctx.quick)
    clean_slate()
    ids = prepare(ctx)
    runs = []
    try:
        for _ in range(sizes.mem_repeats):
            worker = WorkerProcess(
                ctx.env,
                1,
                ctx.workdir / "worker-memory.log",
                extra_env={
                    "HOOKHUB_MAX_IN_FLIGHT": str(MEM_IN_FLIGHT),
                    "HOOKHUB_DELIVERY_DEADLINE": "30",
                },
            )
            try:
                _warm_up(ctx, worker)
                idle = max((p["rss_kb"] for p in _cluster_processes(worker)), default=0)
                ctx.receiver.reset()
                per_endpoint = MEM_IN_FLIGHT // MEM_ENDPOINTS
                publish_groups([(MEM_TYPE, [common.payload(k) for k in range(per_endpoint)])])
                _wait_for_plateau(ctx, MEM_IN_FLIGHT, timeout=20)
                time.sleep(1.0)  # let the process settle at its peak
                stats = ctx.receiver.stats()
                procs = _cluster_processes(worker)
                busiest = max(procs, key=lambda p: (p["sockets"], p["hwm_kb"]))
                runs.append(
                    {
                        "idle_mb": idle / 1024,
                        "peak_mb": busiest["hwm_kb"] / 1024,
                        "in_flight": stats["open_by_mode"]["hang"],
                        "sockets": busiest["sockets"],
                        "processes": procs,
                    }
                )
                print(
                    f"    memory: idle {idle / 1024:.0f} MB, peak {busiest['hwm_kb'] / 1024:.0f}"
                    f" MB with {stats['open_by_mode']['hang']} in flight",
                    flush=True,
                )
            finally:
                _cancel(ids["mem"])
                worker.stop(grace=3)
                settle(ctx, ids["mem"], timeout=5)
    finally:
        cleanup(ctx)
    ctx.extras["memory"] = runs
    in_flight = common.median([r["in_flight"] for r in runs])
    row = common.ratio_row(
        "8 memory",
        "peak RSS of one worker process, 1,000 deliveries to hanging receivers",
        [(r["idle_mb"], r["peak_mb"]) for r in runs],
        unit="MB",
        baseline_label="largest cluster process, idle",
        figure_label=f"VmHWM with {in_flight:.0f} in flight",
        target="< 300 MB at 1,000 in flight",
        check=lambda _r: True,
        limit=(
            f"Per in-flight delivery state: the open socket and its buffers, the built and "
            f"signed request and the client's per-request objects. The receiver saw "
            f"{in_flight:.0f} requests open (the target needs {MEM_IN_FLIGHT}); the process "
            f"held {common.median([r['sockets'] for r in runs]):.0f} sockets."
        ),
    )
    row.met = row.figure < 300 and in_flight >= MEM_IN_FLIGHT
    ctx.add(row)


# --- publishing -------------------------------------------------------------------------------
def publishing(ctx) -> None:
    """publish_many of 1,000 one-endpoint events vs one bulk_create of 1,000 plain Event rows.
    No worker runs; the rows are deleted and the queue purged afterwards."""
    from django.db import transaction

    from deliveries.models import Event

    sizes = Sizes(ctx.quick)
    count = sizes.publish
    owner = common.user("bench-pubmany-owner")
    type_obj = common.event_type(PUBLISH_TYPE)
    # Nobody listens here and no worker runs during this benchmark.
    common.endpoints(owner, type_obj, ["http://127.0.0.1:9/pubmany"])
    name = publisher_name()
    runs = []
    try:
        for i in range(sizes.publish_rounds + 1):  # the first round warms caches, dropped
            items = [common.payload(k) for k in range(count)]
            start = time.perf_counter()
            with transaction.atomic():
                Event.objects.bulk_create([Event(event_type=type_obj, payload=d) for d in items])
            baseline = time.perf_counter() - start
            start = time.perf_counter()
            published = len(publish_groups([(PUBLISH_TYPE, items)]))
            figure = time.perf_counter() - start
            if published != count:
                raise RuntimeError(f"Published {published} of {count} events")
            if i:
                runs.append((baseline * 1000, figure * 1000))
                print(
                    f"    bulk_create {baseline * 1000:.1f} ms, {name} {figure * 1000:.1f} ms",
                    flush=True,
                )
    finally:
        Event.objects.filter(event_type=type_obj).delete()
        purge_queue()
    ctx.add(
        common.ratio_row(
            "9 publish_many",
            f"{count:,} one-endpoint events (time)",
            runs,
            unit="ms",
            baseline_label=f"bulk_create {count:,} Event rows",
            figure_label=f"{name}, incl. deliveries + enqueue",
            target="<= 3.0",
            check=lambda r: r <= 3.0,
            limit=(
                "Per event: validation against the type's JSON Schema, the event row, its "
                "delivery row and the enqueue"
                + (
                    " (one transaction and one enqueue for the batch)."
                    if name == "publish_many"
                    else "; without publish_many each event is its own transaction, "
                    "subscription query and enqueue."
                )
            ),
        )
    )
