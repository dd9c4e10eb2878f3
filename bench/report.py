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

    return {
        "cpus (nproc)": str(os.cpu_count()),
        "cpu": cpu,
        "memory": mem,
        "guest halt polling": halt_poll,
        "os": platform.platform(),
        "python": platform.python_version(),
        "packages": ", ".join(
            f"{n} {version(n)}"
            for n in ("Django", "django-q2", "djangorestframework", "drf-spectacular")
            + ("requests", "psycopg", "redis")
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
    return written


def write_docs(results: list[dict], elapsed: float, *, quick: bool) -> list[Path]:
    written = plots(results)
    info = machine()
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
