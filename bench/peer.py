"""The peer: django-webhook (PyPI `django-webhook`, Celery with the Redis broker) on the same
receiver and the same workloads as HookHub (bench/workloads.py), in the same run.

PostgreSQL + Redis configuration only (django-webhook's own setup; SQLite under a threaded
Celery pool is not one it supports). The peer gets a PostgreSQL database and a Redis DB of
its own (`hookhub_bench_peer`, Redis DB 7 by default; BENCH_PEER_REDIS_URL), created here and
removed afterwards. Its project is bench/peer_project/; bench/peer_project/drive.py publishes
(saves model instances, which is how django-webhook is driven) in a process of its own, and
the Celery worker runs as
    celery -A bench.peer_project worker -P threads -c 16   and   -P prefork -c 2
with CELERY_DB_REUSE_MAX set (Celery's Django integration otherwise closes the database
connection around every task). Both variants run W1, W4, W2 and W3 (W3's hanging endpoints:
django-webhook sets no timeout, so the receiver itself closes those requests after the same
5 s deadline HookHub runs with); W4 once per variant. The variant measured second runs one
screening repeat of W2 and W3, and the remaining repeats only if that repeat beat the first
variant's median. A burst still running 10 s after its first save is cut and rated on what
arrived by then (at ~100 deliveries/s a full 2,000 would take 20 s per run).
HookHub's rows are compared with the best variant of each workload (peer.compare).
"""

from __future__ import annotations

import importlib.util
import json
import os
import queue
import subprocess
import sys
import threading
import time

from bench import common, sampling, workloads
from bench.procs import ROOT, _register, stop_group, wait_until

PEER_DB = "hookhub_bench_peer"
PEER_REDIS_URL = os.environ.get("BENCH_PEER_REDIS_URL", "redis://127.0.0.1:6379/7")
VARIANTS = [("threads", 16), ("prefork", 2)]
HANG_MS = 5000  # the receiver's cut for W3's hanging endpoints: HookHub's 5 s deadline


class Sizes(workloads.Sizes):
    def __init__(self, quick: bool) -> None:
        super().__init__(quick)
        if quick:
            self.w1, self.w2, self.w4_events = 200, 100, 2
        # The longest one burst may take from its first save: django-webhook delivers ~100/s
        # here, so a 2,000-delivery burst would take 20 s; it is rated on what arrived.
        self.cap = 5.0 if quick else 10.0
        self.w4_repeats = 1  # W4 "if cheap": one repeat per variant
        self.peer_drain = 5.0 if quick else 10.0


# W3's hanging endpoints alone keep this many requests open on average (20 events/s, 1 in
# 10 to a hanging endpoint, 5 s each): what a variant needs in slots just to stand still.
W3_SLOTS_NEEDED = workloads.W3_RATE / workloads.HANG_EVERY * HANG_MS / 1000


def _pg_url(db: str) -> str:
    from django.conf import settings

    conf = settings.DATABASES["default"]
    user = conf.get("USER") or "postgres"
    host = conf.get("HOST") or "127.0.0.1"
    port = conf.get("PORT") or 5432
    return f"postgres://{user}@{host}:{port}/{db}"


def _pg_admin(sql: str) -> None:
    import psycopg

    with psycopg.connect(_pg_url("postgres"), autocommit=True, connect_timeout=5) as conn:
        conn.execute(sql)


def _redis():
    import redis

    return redis.from_url(PEER_REDIS_URL, socket_timeout=5)


def _purge_celery_queue() -> None:
    """Drop queued (not yet fetched) messages; keep kombu's bindings, or new messages would
    have no route."""
    client = _redis()
    for key in client.scan_iter(count=1000):
        if client.type(key) == b"list":
            client.delete(key)
    client.close()


def _peer_env(ctx) -> dict[str, str]:
    env = {
        key: value
        for key, value in ctx.env.items()
        if key not in {"DATABASE_URL", "REDIS_URL", "DJANGO_SETTINGS_MODULE"}
        and not key.startswith("HOOKHUB_")
    }
    env.update(
        {
            "DJANGO_SETTINGS_MODULE": "bench.peer_project.settings",
            "PEER_DATABASE_URL": _pg_url(PEER_DB),
            "PEER_REDIS_URL": PEER_REDIS_URL,
            "PYTHONWARNINGS": "ignore",
        }
    )
    return env


class Driver:
    """bench/peer_project/drive.py: one JSON command per line, one `@@ ` answer per line."""

    def __init__(self, env: dict[str, str], log_path) -> None:
        self.log = open(log_path, "a")  # noqa: SIM115 - closed in close()
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "bench.peer_project.drive"],
            cwd=ROOT,
            env=env,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=self.log,
            text=True,
            start_new_session=True,
        )
        _register(self.proc.pid)
        self.answers: queue.Queue = queue.Queue()
        threading.Thread(target=self._read, daemon=True).start()
        self._next(60)

    def _read(self) -> None:
        for line in self.proc.stdout:
            if line.startswith("@@ "):
                self.answers.put(json.loads(line[3:]))
            else:
                self.log.write(line)
        self.answers.put({"error": "the driver exited"})

    def _next(self, timeout: float) -> dict:
        try:
            answer = self.answers.get(timeout=timeout)
        except queue.Empty:
            raise RuntimeError(f"The peer's driver did not answer within {timeout:.0f} s") from None
        if "error" in answer:
            raise RuntimeError(f"The peer's driver: {answer['error']}")
        return answer

    def call(self, command: dict, timeout: float = 120) -> dict:
        self.proc.stdin.write(json.dumps(command) + "\n")
        self.proc.stdin.flush()
        return self._next(timeout)

    def close(self) -> None:
        try:
            if self.proc.poll() is None:
                self.proc.stdin.write(json.dumps({"op": "quit"}) + "\n")
                self.proc.stdin.flush()
                self.proc.wait(timeout=5)
        except (OSError, subprocess.TimeoutExpired):
            pass
        stop_group(self.proc, grace=2)
        self.log.close()


class CeleryWorker:
    def __init__(self, env: dict[str, str], pool: str, concurrency: int, log_path) -> None:
        self.log = open(log_path, "ab")  # noqa: SIM115 - closed in stop()
        self.proc = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "celery",
                "-A",
                "bench.peer_project",
                "worker",
                "-P",
                pool,
                "-c",
                str(concurrency),
                "--loglevel",
                "WARNING",
                "--without-gossip",
                "--without-mingle",
                "--without-heartbeat",
                "-n",
                f"bench-{pool}@%h",
            ],
            cwd=ROOT,
            env=env,
            stdout=self.log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        _register(self.proc.pid)

    @property
    def pid(self) -> int:
        return self.proc.pid

    def alive(self) -> bool:
        return self.proc.poll() is None

    def stop(self) -> None:
        try:
            stop_group(self.proc, grace=3)
        finally:
            self.log.close()


def _quiesce(ctx, timeout: float = 15.0) -> None:
    """Wait until no request is open and none has arrived for half a second."""
    end = time.monotonic() + timeout
    last = -1
    while time.monotonic() < end:
        stats = ctx.receiver.stats()
        if stats["open"] == 0 and stats["count"] == last:
            return
        last = stats["count"]
        time.sleep(0.5)


def _burst(ctx, driver: Driver, worker: CeleryWorker, items: list, n: int, cap: float) -> dict:
    """Publish `items` (n requests in all); first save -> the receiver's last 2xx. A run not
    done within `cap` seconds of its first save is cut and rated on what arrived."""
    since = driver.call({"op": "max_event"})["id"]
    ctx.receiver.reset()
    meter = sampling.CpuMeter(
        workloads.cpu_groups(ctx, worker.pid, publisher=driver.proc.pid)
    ).start()
    reply = driver.call({"op": "publish", "items": items}, timeout=cap + 60)
    first = reply["first"]
    left = max(0.5, first + cap - time.time())
    done = wait_until(lambda: ctx.receiver.stats()["answered"] >= n, timeout=left, interval=0.02)
    cpu = meter.stop()
    stats = ctx.receiver.stats()
    answered = [e[2] for e in ctx.receiver.entries() if e[3] == 200]
    if not answered:
        raise RuntimeError("The peer delivered nothing")
    elapsed = max(answered) - first
    result = {
        "rate": len(answered) / elapsed,
        "elapsed_s": elapsed,
        "publish_s": reply["end"] - first,
        "delivered": len(answered),
        "n": n,
        "cut": not done,
        "max_open": stats["max_open"],
        "max_open_path": stats["max_open_path"],
        "cpu": cpu,
    }
    if done:
        recorded = wait_until(
            lambda: driver.call({"op": "succeeded", "since": since})["count"] >= n,
            timeout=30,
            interval=0.05,
        )
        result["recorded_rate"] = n / (time.time() - first) if recorded else float("nan")
        result["received"] = ctx.receiver.count()
    else:
        _purge_celery_queue()
        _quiesce(ctx)
    return result


def _scheduled(ctx, driver, worker, schedule, tag: str, drain: float) -> dict:
    ctx.receiver.reset()
    meter = sampling.CpuMeter(
        workloads.cpu_groups(ctx, worker.pid, publisher=driver.proc.pid)
    ).start()
    items = [[offset, index, f"{tag}-{k}"] for k, (offset, index) in enumerate(schedule)]
    duration = schedule[-1][0] if schedule else 0
    reply = driver.call({"op": "schedule", "items": items}, timeout=duration + 120)
    index_of = {f"{tag}-{k}": index for k, (_, index) in enumerate(schedule)}
    sent = {key: (at, index_of[key]) for key, at in reply["sent"].items()}
    result = workloads.latencies(ctx, sent, drain)
    result["cpu"] = meter.stop()
    stats = ctx.receiver.stats()
    result["max_open"] = stats["max_open"]
    result["max_open_path"] = stats["max_open_path"]
    result["max_open_hanging"] = stats["max_open_by_mode"]["hang"]
    _purge_celery_queue()
    return result


def _variant(ctx, driver, env, pool, concurrency, sizes: Sizes, rival: dict | None) -> dict:
    """Every workload on one Celery variant; `rival`: the first variant's results, for the
    screening rule."""
    name = f"{pool} -c {concurrency}"
    out: dict = {"name": name, "slots": concurrency}
    worker = CeleryWorker(env, pool, concurrency, ctx.workdir / f"peer-{pool}.log")
    tag = f"{pool[0]}{int(time.time())}"
    try:
        driver.call({"op": "urls", "workload": "w1"})
        warm = [[i % workloads.ENDPOINTS, f"{tag}-warm-{i}"] for i in range(100)]
        ctx.receiver.reset()
        driver.call({"op": "publish", "items": warm})
        if not wait_until(lambda: ctx.receiver.stats()["answered"] >= len(warm), 60, 0.1):
            raise RuntimeError(f"django-webhook ({name}) did not start delivering in 60 s")
        _quiesce(ctx)

        def repeats(workload: str, run_one, better) -> list[dict]:
            runs = [run_one(0)]
            if rival and workload in rival and sizes.repeats > 1:
                best = common.median([better(r) for r in rival[workload]])
                if better(runs[0]) <= best:
                    print(f"    peer {name} {workload}: screened out", flush=True)
                    return runs
            runs += [run_one(k) for k in range(1, sizes.repeats)]
            return runs

        def one_endpoint(workload: str, n: int):
            def run_one(k: int) -> dict:
                items = [[i % workloads.ENDPOINTS, f"{tag}-{workload}{k}-{i}"] for i in range(n)]
                result = _burst(ctx, driver, worker, items, n, sizes.cap)
                print(
                    f"    peer {name} {workload}: {result['rate']:.0f}/s"
                    + (f" (cut: {result['delivered']} of {n})" if result["cut"] else ""),
                    flush=True,
                )
                return result

            return run_one

        out["w1"] = [one_endpoint("w1", sizes.w1)(k) for k in range(sizes.repeats)]

        def fan(k: int) -> dict:
            items = [["fan", f"{tag}-w4{k}-{i}"] for i in range(sizes.w4_events)]
            n = sizes.w4_events * workloads.ENDPOINTS
            result = _burst(ctx, driver, worker, items, n, sizes.cap)
            print(
                f"    peer {name} w4: {result['rate']:.0f}/s"
                + (f" (cut: {result['delivered']} of {n})" if result["cut"] else ""),
                flush=True,
            )
            return result

        out["w4"] = [fan(k) for k in range(sizes.w4_repeats)]
        driver.call({"op": "urls", "workload": "w2"})
        out["w2"] = repeats("w2", one_endpoint("w2", sizes.w2), lambda r: r["rate"])
        driver.call({"op": "urls", "workload": "w3", "hang_ms": HANG_MS})
        schedule = workloads.w3_schedule(sizes.w3_duration)

        def noisy(k: int) -> dict:
            result = _scheduled(ctx, driver, worker, schedule, f"{tag}-w3{k}", sizes.peer_drain)
            print(
                f"    peer {name} w3: p50 {result['p50']:.1f} / p99 {result['p99']:.1f} ms, "
                f"{result['undelivered']} of {result['healthy']} undelivered",
                flush=True,
            )
            if k + 1 < sizes.repeats:  # the last one ends with the worker's stop
                _quiesce(ctx, timeout=HANG_MS / 1000 + 5)
            return result

        out["w3"] = repeats("w3", noisy, lambda r: -r["p99"])
    finally:
        worker.stop()
        _purge_celery_queue()
    return out


def run(ctx) -> None:
    if ctx.name != "postgres" or not ctx.redis:
        print("    peer: runs on PostgreSQL + Redis only; skipped here", flush=True)
        return
    missing = [m for m in ("django_webhook", "celery") if importlib.util.find_spec(m) is None]
    if missing:
        raise RuntimeError(f"{', '.join(missing)} not installed: pip install -e '.[bench]'")
    from django.conf import settings

    if PEER_REDIS_URL.rstrip("/") == (settings.REDIS_URL or "").rstrip("/"):
        raise RuntimeError("BENCH_PEER_REDIS_URL must name another Redis DB than HookHub's")
    sizes = Sizes(ctx.quick)
    _pg_admin(f'DROP DATABASE IF EXISTS "{PEER_DB}" WITH (FORCE)')
    _pg_admin(f'CREATE DATABASE "{PEER_DB}"')
    client = _redis()
    client.flushdb()
    client.close()
    env = _peer_env(ctx)
    driver = Driver(env, ctx.workdir / "peer-driver.log")
    results: dict = {"variants": {}}
    try:
        driver.call({"op": "setup", "base": ctx.receiver.url("")}, timeout=180)
        rival = None
        for pool, concurrency in VARIANTS:
            out = _variant(ctx, driver, env, pool, concurrency, sizes, rival)
            results["variants"][out["name"]] = out
            rival = rival or out
    finally:
        driver.close()
        ctx.extras["peer"] = results
        try:
            _pg_admin(f'DROP DATABASE IF EXISTS "{PEER_DB}" WITH (FORCE)')
            client = _redis()
            client.flushdb()
            client.close()
        except Exception as exc:  # noqa: BLE001 - report, keep the results
            print(f"    peer cleanup: {exc}", flush=True)
    results["best"] = _best(results["variants"])
    for workload, (variant, median) in results["best"].items():
        print(f"    peer best {workload}: {variant} ({median:.1f})", flush=True)


def _best(variants: dict) -> dict:
    """Per workload: the variant with the best median (rate; W3: lowest healthy p99)."""
    best = {}
    for workload in ("w1", "w2", "w3", "w4"):
        scored = []
        for name, out in variants.items():
            runs = out.get(workload) or []
            if not runs:
                continue
            if workload == "w3":
                scored.append((-common.median([r["p99"] for r in runs]), name))
            else:
                scored.append((common.median([r["rate"] for r in runs]), name))
        if scored:
            score, name = max(scored)
            best[workload] = (name, -score if workload == "w3" else score)
    return best


def compare(ctx) -> None:
    """HookHub's workloads (this run) against the peer's best variant of each."""
    peer = ctx.extras.get("peer") or {}
    hub = ctx.extras.get("workloads") or {}
    best = peer.get("best") or {}
    targets = {"w1": 3.0, "w2": 5.0}
    labels = {
        "w1": ("W1 one-endpoint", "events/s"),
        "w2": ("W2 slow receiver", "events/s"),
        "w4": ("W4 fan-out", "deliv/s"),
    }
    for workload, (bench, unit) in labels.items():
        if workload not in best or workload not in hub:
            continue
        name = best[workload][0]
        theirs = peer["variants"][name][workload]
        ours = hub[workload]["runs"]
        pairs = [(p["rate"], h["rate"]) for p, h in zip(theirs, ours, strict=False)]
        target = targets.get(workload)
        cut = sum(1 for p in theirs if p.get("cut"))
        ctx.add(
            common.ratio_row(
                bench,
                f"vs django-webhook ({name})",
                pairs,
                unit=unit,
                baseline_label=f"django-webhook, Celery {name}"
                + (f", {cut} run(s) cut" if cut else ""),
                figure_label="HookHub, same workload",
                target=f">= {target}" if target else "(reported)",
                check=(lambda r, t=target: r >= t) if target else (lambda _r: True),
                limit=_peer_limit(peer["variants"], workload),
            )
        )
    if "w3" in best and "w3" in hub:
        name = best["w3"][0]
        theirs = peer["variants"][name]["w3"]
        ours = [r["noisy"] for r in hub["w3"]["runs"]]
        for q in (50, 99):
            pairs = [(p[f"p{q}"], h[f"p{q}"]) for p, h in zip(theirs, ours, strict=False)]
            undelivered = common.median([p["undelivered"] for p in theirs])
            ctx.add(
                common.ratio_row(
                    "W3 noisy neighbour",
                    f"healthy p{q} vs django-webhook ({name})",
                    pairs,
                    unit="ms",
                    baseline_label=(
                        f"django-webhook, Celery {name} ({undelivered:.0f} undelivered)"
                    ),
                    figure_label="HookHub, same schedule",
                    target="(reported; lower is better)",
                    check=lambda _r: True,
                    limit=_peer_limit(peer["variants"], "w3"),
                )
            )


def _peer_limit(variants: dict, workload: str) -> str:
    """What limited the peer, per variant, from its median run."""
    parts = []
    for name, out in variants.items():
        runs = out.get(workload) or []
        if not runs:
            continue
        if workload == "w3":
            mid = sorted(runs, key=lambda r: r["p99"])[len(runs) // 2]
            parts.append(
                f"{name}: {out.get('slots')} slots, of which the hanging endpoints alone hold "
                f"{W3_SLOTS_NEEDED:.0f} on average; {mid['undelivered']} of {mid['healthy']} "
                f"healthy undelivered; {sampling.describe_cpu(mid['cpu'])}."
            )
            continue
        mid = sorted(runs, key=lambda r: r["rate"])[len(runs) // 2]
        delay = 0.1 if workload == "w2" else None
        bound = (mid["rate"], mid["max_open"] / delay, mid["max_open"]) if delay else None
        parts.append(
            f"{name}: "
            + workloads.what_limits(
                mid["cpu"],
                elapsed=mid["elapsed_s"],
                publish_s=mid["publish_s"],
                in_flight_bound=bound,
            )
        )
    return (
        "django-webhook: one Celery task per delivery, a new requests.Session (and TCP "
        "connection) per request, a WebhookEvent row written before and updated after each "
        "send. " + " ".join(parts)
    )
