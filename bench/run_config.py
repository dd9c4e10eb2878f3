"""One configuration's benchmarks, in a process of its own (settings are read at import).

`python -m bench` starts this with DATABASE_URL / REDIS_URL set for the configuration and a
fresh, empty database; it migrates, starts the receiver, runs the chosen benchmarks and
writes the rows as JSON. Children (receiver, workers) are always stopped here; their pids
also go to BENCH_PID_FILE so the parent can stop them if this process is killed.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
import traceback
from dataclasses import dataclass, field
from pathlib import Path

ORDER = [
    "openapi",
    "hotpath",
    "fanout",
    "publishing",
    "pipeline",
    "scaling",
    "latency",
    "peer",
    "w1",
    "w2",
    "w3",
    "w4",
    "w5",
    "memory",
    "lists",
]
WORKLOADS = {"w1", "w2", "w3", "w4", "w5"}


@dataclass
class Context:
    name: str
    receiver: object
    env: dict
    workdir: Path
    quick: bool
    redis: bool
    selected: set
    rows: list = field(default_factory=list)
    extras: dict = field(default_factory=dict)
    errors: list = field(default_factory=list)

    def wants(self, name: str) -> bool:
        return name in self.selected

    def add(self, row) -> None:
        from bench.common import print_row

        print_row(row)
        self.rows.append(row.as_dict())


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--config", required=True)
    parser.add_argument("--out", required=True)
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("names", nargs="*")
    args = parser.parse_args(argv)

    import os

    import django

    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "hookhub.settings")
    django.setup()
    from django.conf import settings
    from django.core.management import call_command

    from bench import inprocess, lists, openapi_gen, peer, pipeline, workloads
    from bench.procs import ReceiverProcess

    call_command("migrate", verbosity=0, interactive=False)
    out = Path(args.out)
    receiver = ReceiverProcess(lifetime=1800)
    ctx = Context(
        name=args.config,
        receiver=receiver,
        env=dict(os.environ),
        workdir=out.parent,
        quick=args.quick,
        redis=bool(settings.REDIS_URL),
        selected=set(args.names or ORDER),
    )
    started = time.monotonic()
    steps = [
        ("openapi", openapi_gen.run),
        ("hotpath", inprocess.hot_path),
        ("fanout", inprocess.fan_out),
        ("publishing", workloads.publishing),
        ("pipeline", None),
        ("peer", peer.run),
        ("workloads", None),
        ("memory", workloads.memory),
        ("lists", lists.run),
    ]
    try:
        pipeline.prepare(ctx)
        for name, step in steps:
            if name == "pipeline":
                if not ctx.selected & {"pipeline", "scaling", "latency"}:
                    continue
                step = pipeline.run
            elif name == "workloads":
                if not ctx.selected & WORKLOADS:
                    continue
                step = workloads.run
            elif not ctx.wants(name):
                continue
            print(f"[{args.config}] {name} ...", flush=True)
            began = time.monotonic()
            try:
                step(ctx)
            except Exception as exc:  # one broken benchmark must not hide the others
                traceback.print_exc()
                ctx.errors.append(f"{name}: {exc}")
            ctx.extras.setdefault("durations_s", {})[name] = round(time.monotonic() - began, 1)
        if "peer" in ctx.extras and "workloads" in ctx.extras:
            try:
                peer.compare(ctx)  # HookHub's workloads against the peer's best variant
            except Exception as exc:
                traceback.print_exc()
                ctx.errors.append(f"peer comparison: {exc}")
    finally:
        receiver.stop()
        ctx.extras["total_s"] = round(time.monotonic() - started, 1)
        out.write_text(
            json.dumps(
                {
                    "config": args.config,
                    "rows": ctx.rows,
                    "extras": ctx.extras,
                    "errors": ctx.errors,
                    "poll": settings.Q_CLUSTER.get("poll"),
                    "database": settings.DATABASES["default"]["ENGINE"].rsplit(".", 1)[-1],
                    "broker": "redis" if settings.REDIS_URL else "orm",
                },
                indent=1,
            )
        )
    return 1 if ctx.errors else 0


if __name__ == "__main__":
    sys.exit(main())
