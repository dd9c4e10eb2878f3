"""The results table, docs/benchmarks.md and its plots."""

from __future__ import annotations

import datetime as dt
import os
import platform
import subprocess
from importlib import metadata
from pathlib import Path

from bench.notes import CHANGES, LIMITS, METHOD

ROOT = Path(__file__).resolve().parent.parent
DOCS = ROOT / "docs"
LABELS = {"sqlite": "SQLite + ORM broker", "postgres": "PostgreSQL + Redis"}


def _fmt(value: float) -> str:
    if value != value:  # NaN
        return "-"
    if abs(value) >= 100:
        return f"{value:,.0f}"
    if abs(value) >= 10:
        return f"{value:.1f}"
    return f"{value:.3g}"


def table(results: list[dict], markdown: bool = False) -> str:
    lines = []
    header = [
        "config",
        "benchmark",
        "metric",
        "baseline",
        "HookHub",
        "unit",
        "ratio",
        "target",
        "met",
    ]
    if markdown:
        lines.append("| " + " | ".join(header) + " |")
        lines.append("|" + "---|" * len(header))
    for result in results:
        for row in result["rows"]:
            cells = [
                LABELS.get(result["config"], result["config"]),
                row["bench"],
                row["metric"],
                f"{_fmt(row['baseline'])} ({row['baseline_label']})",
                f"{_fmt(row['figure'])} ({row['figure_label']})",
                row["unit"],
                _fmt(row["ratio"]),
                row["target"],
                "yes" if row["met"] else "**no**" if markdown else "NO",
            ]
            lines.append(("| " + " | ".join(cells) + " |") if markdown else " | ".join(cells))
        for error in result.get("errors", []):
            lines.append(f"{'| ' if markdown else ''}{result['config']}: ERROR {error}")
    return "\n".join(lines)


def machine() -> dict[str, str]:
    mem = ""
    try:
        with open("/proc/meminfo") as handle:
            kb = int(handle.readline().split()[1])
            mem = f"{kb / 1024 / 1024:.1f} GiB"
    except OSError:
        pass
    cpu = ""
    try:
        with open("/proc/cpuinfo") as handle:
            cpu = next((ln.split(":", 1)[1].strip() for ln in handle if "model name" in ln), "")
    except OSError:
        pass

    halt_poll = "not a haltpoll guest"
    try:
        with open("/sys/module/haltpoll/parameters/guest_halt_poll_ns") as handle:
            halt_poll = f"{handle.read().strip()} ns (0: an idle vCPU halts at once)"
    except OSError:
        pass

    def version(name: str) -> str:
        try:
            return metadata.version(name)
        except metadata.PackageNotFoundError:
            return "?"

    def server(cmd: list[str]) -> str:
        try:
            return subprocess.run(cmd, capture_output=True, text=True, timeout=5).stdout.strip()
        except (OSError, subprocess.SubprocessError):
            return "?"

    def code() -> str:
        head = server(["git", "-C", str(ROOT), "rev-parse", "--short", "HEAD"]) or "?"
        dirty = server(
            ["git", "-C", str(ROOT), "status", "--porcelain", "--", "deliveries", "hookhub"]
        )
        changed = len([line for line in dirty.splitlines() if line.strip()])
        return f"commit {head}" + (
            f" plus {changed} uncommitted file(s) in deliveries/ and hookhub/" if changed else ""
        )

    return {
        "code measured": code(),
        "cpus (nproc)": str(os.cpu_count()),
        "cpu": cpu,
        "memory": mem,
        "guest halt polling": halt_poll,
        "os": platform.platform(),
        "python": platform.python_version(),
        "packages": ", ".join(
            f"{n} {version(n)}"
            for n in ("Django", "django-q2", "djangorestframework", "drf-spectacular")
            + ("requests", "aiohttp", "psycopg", "redis", "celery", "django-webhook")
        ),
        "sqlite": __import__("sqlite3").sqlite_version,
        "postgresql": server(
            ["psql", "-h", "127.0.0.1", "-U", "postgres", "-Atc", "SHOW server_version"]
        ),
        "redis": server(["redis-cli", "-h", "127.0.0.1", "INFO", "server"])
        .split("redis_version:")[-1]
        .split()[0]
        if server(["redis-cli", "-h", "127.0.0.1", "PING"]) == "PONG"
        else "?",
    }


def plots(results: list[dict]) -> list[Path]:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    written = []
    fig, (ax, rax) = plt.subplots(1, 2, figsize=(10, 4))
    for result in results:
        scaling = result["extras"].get("scaling") or {}
        if not scaling:
            continue
        workers = sorted(int(w) for w in scaling)
        label = LABELS.get(result["config"], result["config"])
        hub = [scaling[str(w)]["pipeline"] for w in workers]
        raw = [scaling[str(w)]["raw"] for w in workers]
        ax.plot(workers, hub, "o-", label=f"{label}: HookHub")
        ax.plot(workers, raw, "x--", label=f"{label}: raw Session (serial)")
        rax.plot(workers, [h / r for h, r in zip(hub, raw, strict=True)], "o-", label=label)
    ax.set_xlabel("worker processes")
    ax.set_ylabel("deliveries per second (median of 3)")
    ax.set_title("Pipeline throughput vs workers")
    rax.set_xlabel("worker processes")
    rax.set_ylabel("HookHub / raw Session measured alongside")
    rax.set_title("Ratio to the in-run baseline")
    rax.axhline(1.0, color="grey", linewidth=0.8)
    for axis in (ax, rax):
        axis.set_xticks([1, 2, 4])
        axis.set_ylim(bottom=0)
        axis.legend(fontsize=7)
    fig.tight_layout()
    path = DOCS / "bench-throughput.png"
    fig.savefig(path, dpi=100)
    plt.close(fig)
    written.append(path)

    fig, ax = plt.subplots(figsize=(6.4, 4))
    for result in results:
        values = result["extras"].get("latency_ms") or []
        if values:
            label = LABELS.get(result["config"], result["config"])
            ax.hist(values, bins=60, alpha=0.6, label=label)
            poll = float(result.get("poll") or 0) * 1000
            bound = 25.0 if result.get("broker") == "redis" else poll + 25.0
            ax.axvline(bound, linestyle=":", color="black", linewidth=0.8)
            ax.annotate(
                f"{label}: p99 target {bound:.0f} ms",
                (bound, 0),
                rotation=90,
                fontsize=7,
                xytext=(2, 10),
                textcoords="offset points",
            )
    ax.set_xlabel("publish() -> receiver's 2xx (ms), 20 events/s, 2 workers")
    ax.set_ylabel("events")
    ax.set_title("Delivery latency")
    ax.legend(fontsize=8)
    fig.tight_layout()
    path = DOCS / "bench-latency.png"
    fig.savefig(path, dpi=110)
    plt.close(fig)
    written.append(path)
    path = _workloads_plot(plt, results)
    if path is not None:
        written.append(path)
    return written


def _median_of(runs: list[dict], key: str) -> float:
    values = sorted(r[key] for r in runs if key in r)
    return values[len(values) // 2] if values else float("nan")


def _workloads_plot(plt, results: list[dict]) -> Path | None:
    """W1/W2/W4 rates against the baselines and the peer; W3's healthy latency."""
    have = [r for r in results if (r["extras"].get("workloads") or {}).keys() - {"publisher"}]
    if not have:
        return None
    fig, (ax, lax, cax) = plt.subplots(1, 3, figsize=(16, 5))
    names = [("w1", "W1 one-endpoint\n(instant)"), ("w2", "W2 one-endpoint\n(100 ms)")]
    names.append(("w4", "W4 fan-out\n(x 100 endpoints)"))
    series: dict[str, list[float]] = {}
    for result in have:
        label = LABELS.get(result["config"], result["config"])
        store = result["extras"]["workloads"]
        for key, title in (("serial", "serial requests.Session"), ("limit", "aiohttp, 500")):
            values = [_median_of((store.get(w) or {}).get("runs", []), key) for w, _ in names]
            series.setdefault(f"{title} ({label})", values)
        series[f"HookHub ({label})"] = [
            _median_of((store.get(w) or {}).get("runs", []), "rate") for w, _ in names
        ]
        peer = result["extras"].get("peer") or {}
        best = peer.get("best") or {}
        if best:
            series["django-webhook, best variant"] = [
                (best.get(w) or [None, float("nan")])[1] for w, _ in names
            ]
    width = 0.8 / max(1, len(series))
    for k, (title, values) in enumerate(series.items()):
        xs = [i + k * width for i in range(len(names))]
        ax.bar(xs, [v if v == v else 0 for v in values], width, label=title)
    ax.set_xticks([i + 0.4 - width / 2 for i in range(len(names))], [t for _, t in names])
    ax.set_yscale("log")
    top = max((v for values in series.values() for v in values if v == v), default=10)
    ax.set_ylim(10, top * 8)  # room for the legend above the bars
    ax.set_ylabel("per second, first publish -> last 2xx (median)")
    ax.set_title("Throughput against the baselines")
    ax.legend(fontsize=6, loc="upper center", ncol=2)

    bars: list[tuple[str, float, float]] = []
    short = {"sqlite": "SQLite", "postgres": "PG + Redis"}
    for result in have:
        label = short.get(result["config"], result["config"])
        runs = ((result["extras"]["workloads"].get("w3")) or {}).get("runs", [])
        if runs:
            calm = [r["calm"] for r in runs]
            noisy = [r["noisy"] for r in runs]
            bars.append(
                (f"HookHub\nno hang\n{label}", _median_of(calm, "p50"), _median_of(calm, "p99"))
            )
            bars.append(
                (f"HookHub\n10 hang\n{label}", _median_of(noisy, "p50"), _median_of(noisy, "p99"))
            )
        peer = result["extras"].get("peer") or {}
        best = (peer.get("best") or {}).get("w3")
        if best:
            peer_runs = peer["variants"][best[0]]["w3"]
            bars.append(
                (
                    f"django-webhook\n{best[0]}\n10 hang",
                    _median_of(peer_runs, "p50"),
                    _median_of(peer_runs, "p99"),
                )
            )
    xs = range(len(bars))
    lax.bar([x - 0.2 for x in xs], [b[1] for b in bars], 0.4, label="p50")
    lax.bar([x + 0.2 for x in xs], [b[2] for b in bars], 0.4, label="p99")
    lax.axhline(250, color="black", linestyle=":", linewidth=0.8)
    lax.annotate(
        "250 ms (p99 target, PostgreSQL)",
        (0, 250),
        fontsize=6,
        xytext=(0, 3),
        textcoords="offset points",
    )
    lax.set_xticks(list(xs), [b[0] for b in bars], fontsize=6)
    lax.set_yscale("log")
    lax.set_ylabel("healthy deliveries, publish -> receipt (ms)")
    lax.set_title("W3 noisy neighbour (median of repeats)")
    lax.legend(fontsize=7)

    for result in have:
        label = LABELS.get(result["config"], result["config"])
        runs = ((result["extras"]["workloads"].get("w3")) or {}).get("runs", [])
        for kind, style in (("calm", "--"), ("noisy", "-")):
            values = sorted(v for r in runs for v in r[kind]["latencies_ms"])
            if values:
                ys = [(i + 1) / len(values) for i in range(len(values))]
                tag = "no hang" if kind == "calm" else "10 hanging"
                cax.plot(values, ys, style, label=f"HookHub {tag}, {label}")
        peer = result["extras"].get("peer") or {}
        best = (peer.get("best") or {}).get("w3")
        if best:
            values = sorted(v for r in peer["variants"][best[0]]["w3"] for v in r["latencies_ms"])
            ys = [(i + 1) / len(values) for i in range(len(values))]
            cax.plot(values, ys, ":", label=f"django-webhook {best[0]}, 10 hanging")
    cax.set_xscale("log")
    cax.set_xlabel("healthy deliveries, publish -> receipt (ms)")
    cax.set_ylabel("fraction delivered")
    cax.set_title("W3 latency distribution (all repeats)")
    cax.legend(fontsize=6)
    fig.tight_layout()
    path = DOCS / "bench-workloads.png"
    fig.savefig(path, dpi=100)
    plt.close(fig)
    return path


def _peer_lines(results: list[dict]) -> list[str]:
    lines = []
    for result in results:
        peer = result["extras"].get("peer") or {}
        variants = peer.get("variants") or {}
        if not variants:
            continue
        lines += [
            "| django-webhook variant | W1 events/s | W2 events/s | W3 healthy p50 / p99 ms "
            "(undelivered) | W4 deliveries/s |",
            "|---|---|---|---|---|",
        ]
        for name, out in variants.items():
            cells = [f"Celery `{name}`"]
            for workload in ("w1", "w2", "w3", "w4"):
                runs = out.get(workload) or []
                if not runs:
                    cells.append("-")
                elif workload == "w3":
                    cells.append(
                        f"{_fmt(_median_of(runs, 'p50'))} / {_fmt(_median_of(runs, 'p99'))} "
                        f"({_fmt(_median_of(runs, 'undelivered'))} of {runs[0]['healthy']}); "
                        f"{len(runs)} run(s)"
                    )
                else:
                    cut = sum(1 for r in runs if r.get("cut"))
                    cells.append(
                        f"{_fmt(_median_of(runs, 'rate'))}; {len(runs)} run(s)"
                        + (f", {cut} cut at the bound" if cut else "")
                    )
            lines.append("| " + " | ".join(cells) + " |")
        best = peer.get("best") or {}
        lines.append("")
        lines.append(
            "Best variant per workload (HookHub is compared with it): "
            + ", ".join(f"{w.upper()} `{v[0]}`" for w, v in best.items())
            + "."
        )
    return lines


def _limit_lines(results: list[dict]) -> list[str]:
    lines = []
    for result in results:
        label = LABELS.get(result["config"], result["config"])
        for row in result["rows"]:
            if row.get("limit"):
                lines.append(f"- **{label}, {row['bench']}, {row['metric']}**: {row['limit']}")
    return lines


def write_docs(results: list[dict], elapsed: float, *, quick: bool) -> list[Path]:
    written = plots(results)
    info = machine()
    peer_lines = _peer_lines(results)
    parts = [
        "# Benchmarks",
        "",
        "Generated by `make bench` (`python -m bench`); every full run rewrites this page and "
        "its plots. Each figure is a ratio against a baseline measured **in the same run**, on "
        "the same receiver, so it holds on a noisy machine; absolute numbers are only context.",
        "",
        f"Run: {dt.datetime.now(dt.UTC):%Y-%m-%d %H:%M} UTC, {elapsed / 60:.1f} minutes"
        + (" (quick mode: smaller N)" if quick else "")
        + ".",
        "",
        "## Results",
        "",
        "Median of 3 repeats; the ratio is the median of the per-repeat ratios.",
        "",
        table(results, markdown=True),
        "",
        "![Throughput vs workers](bench-throughput.png)",
        "",
        "![Latency histogram](bench-latency.png)",
        "",
        *(
            ["![Realistic workloads](bench-workloads.png)", ""]
            if any(r["extras"].get("workloads") for r in results)
            else []
        ),
        *(["### The peer's variants", "", *peer_lines, ""] if peer_lines else []),
        *(
            ["### What limited each new row in this run", "", *_limit_lines(results), ""]
            if _limit_lines(results)
            else []
        ),
        "## Machine",
        "",
        *[f"- {key}: {value}" for key, value in info.items()],
        "- The machine is shared: the receiver, the workers, the database and other engineers' "
        "test runs compete for the same cores while the bench runs.",
        "",
        METHOD,
        "",
        LIMITS,
        "",
        CHANGES,
        "",
        "## Details of this run",
        "",
    ]
    for result in results:
        extras = result["extras"]
        parts.append(
            f"- {LABELS.get(result['config'], result['config'])}: seconds per benchmark "
            f"{extras.get('durations_s')}; list queries per page "
            f"{extras.get('list_queries')}; 1M-row generation "
            f"{extras.get('list_generation_s', 0):.0f} s."
        )
        store = extras.get("workloads") or {}
        if store.get("publisher"):
            parts.append(f"  - workloads published with {store['publisher']}")
        for workload in ("w1", "w2", "w4"):
            runs = (store.get(workload) or {}).get("runs") or []
            if runs:
                parts.append(
                    f"  - {workload.upper()}: first publish -> last 2xx "
                    f"{_fmt(_median_of(runs, 'rate'))}/s; -> every delivery recorded "
                    f"{_fmt(_median_of(runs, 'recorded_rate'))}/s; publishing took "
                    f"{_median_of(runs, 'publish_s'):.2f} s in "
                    f"{_median_of(runs, 'publish_calls'):.0f} call(s); the receiver saw at most "
                    f"{_median_of(runs, 'max_open'):.0f} requests open "
                    f"({_median_of(runs, 'max_open_path'):.0f} to one endpoint)"
                )
        for run in extras.get("memory") or []:
            procs = ", ".join(
                f"pid {p['pid']}: {p['hwm_kb'] / 1024:.0f} MB peak, {p['sockets']} sockets"
                for p in run["processes"]
            )
            parts.append(
                f"  - memory: {run['in_flight']} in flight; cluster processes (VmHWM): {procs}"
            )
        stages = extras.get("latency_stages") or {}
        if stages:
            shown = ", ".join(
                f"{name} p50 {v['p50']:.1f} / p99 {v['p99']:.1f} ms" for name, v in stages.items()
            )
            parts.append(f"  - latency stages (publish -> stored -> sending -> received): {shown}")
        for page, plan in (extras.get("slow_plans") or {}).items():
            parts.append(f"  - plan of the slowest query of the slow page `{page}`:")
            parts.append("")
            parts.append("    ```")
            parts.extend(f"    {line}" for line in plan[:30])
            parts.append("    ```")
            parts.append("")
        for error in result.get("errors", []):
            parts.append(f"  - ERROR: {error}")
    path = DOCS / "benchmarks.md"
    path.write_text("\n".join(parts) + "\n")
    written.insert(0, path)
    return written
