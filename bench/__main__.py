"""`python -m bench [--quick] [--config sqlite|postgres|both] [benchmark ...]`

Runs HookHub's benchmarks (see docs/benchmarks.md) on each configuration, in a fresh
database the bench creates and removes itself: a temporary SQLite file with the ORM broker,
and PostgreSQL database `hookhub_bench` with Redis DB 5 (queue `hookhub_bench`); the peer
(django-webhook, bench/peer.py) gets `hookhub_bench_peer` and Redis DB 7. Everything is on
127.0.0.1 and bounded in time. A full run of every benchmark on both configurations
rewrites docs/benchmarks.md and its plots; other runs print the table and leave docs alone.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from bench import report
from bench.procs import ROOT, kill_registered
from bench.run_config import ORDER

PG_URL = os.environ.get("BENCH_PG_URL", "postgres://postgres@127.0.0.1:5432/hookhub_bench")
REDIS_URL = os.environ.get("BENCH_REDIS_URL", "redis://127.0.0.1:6379/5")
# The peer's own database and Redis DB (bench/peer.py creates and removes them; removed here
# too in case its process was killed).
PEER_DB = "hookhub_bench_peer"
PEER_REDIS_URL = os.environ.get("BENCH_PEER_REDIS_URL", "redis://127.0.0.1:6379/7")
CONFIG_TIMEOUT = 1200  # seconds; a configuration that runs longer is stopped


def _base_env(workdir: Path) -> dict[str, str]:
    env = {
        key: value
        for key, value in os.environ.items()
        if key not in {"DATABASE_URL", "REDIS_URL", "DJANGO_SETTINGS_MODULE", "DEBUG"}
    }
    env.update(
        {
            "DJANGO_SETTINGS_MODULE": "hookhub.settings",
            "SECRET_KEY": "bench-only-not-a-secret",
            # Plain static storage and cookies over http, as in the tests; DEBUG stays off.
            "HOOKHUB_TESTING": "1",
            "ALLOWED_HOSTS": "testserver,127.0.0.1,localhost",
            # The receiver listens on loopback; the guard stays on and exempts only that.
            "HOOKHUB_ALLOWED_CIDRS": "127.0.0.0/8",
            "HOOKHUB_Q_NAME": "hookhub_bench",
            "LOG_LEVEL": "WARNING",
            "BENCH_PID_FILE": str(workdir / "pids"),
            "PYTHONUNBUFFERED": "1",
        }
    )
    return env


def _pg_admin(sql: str) -> None:
    import psycopg

    admin = PG_URL.rsplit("/", 1)[0] + "/postgres"
    with psycopg.connect(admin, autocommit=True, connect_timeout=5) as conn:
        conn.execute(sql)


def _pg_name() -> str:
    return PG_URL.rsplit("/", 1)[1].split("?")[0]


def _flush_redis(url: str = REDIS_URL) -> None:
    import redis

    client = redis.from_url(url, socket_timeout=5)
    client.flushdb()
    client.close()


def run_config(name: str, names: list[str], quick: bool) -> dict:
    workdir = Path(tempfile.mkdtemp(prefix=f"hookhub-bench-{name}-"))
    env = _base_env(workdir)
    out = workdir / "results.json"
    try:
        if name == "sqlite":
            env["DATABASE_URL"] = f"sqlite:///{workdir / 'bench.sqlite3'}"
        else:
            db = _pg_name()
            if not db.startswith("hookhub_bench"):
                raise SystemExit(f"Refusing to drop {db!r}: bench databases are hookhub_bench*")
            _pg_admin(f'DROP DATABASE IF EXISTS "{db}" WITH (FORCE)')
            _pg_admin(f'CREATE DATABASE "{db}"')
            _flush_redis()
            env["DATABASE_URL"] = PG_URL
            env["REDIS_URL"] = REDIS_URL
        command = [sys.executable, "-m", "bench.run_config", "--config", name, "--out", str(out)]
        if quick:
            command.append("--quick")
        print(f"=== {name}: {' '.join(names or ORDER)} ===", flush=True)
        proc = subprocess.Popen(command + names, cwd=ROOT, env=env)
        try:
            proc.wait(timeout=CONFIG_TIMEOUT)
        except subprocess.TimeoutExpired:
            print(f"*** {name}: stopped after {CONFIG_TIMEOUT} s ***", flush=True)
            proc.kill()
            proc.wait()
        if out.exists():
            return json.loads(out.read_text())
        return {"config": name, "rows": [], "extras": {}, "errors": ["no results written"]}
    finally:
        kill_registered(workdir / "pids")
        if name != "sqlite":
            try:
                _pg_admin(f'DROP DATABASE IF EXISTS "{_pg_name()}" WITH (FORCE)')
                _flush_redis()
                _pg_admin(f'DROP DATABASE IF EXISTS "{PEER_DB}" WITH (FORCE)')
                if PEER_REDIS_URL != REDIS_URL:
                    _flush_redis(PEER_REDIS_URL)
            except Exception as exc:  # noqa: BLE001 - report, keep the results
                print(f"cleanup: {exc}", flush=True)
        for log in workdir.glob("worker-*.log"):
            text = log.read_text(errors="replace")
            if "Traceback" in text or "ERROR" in text:
                print(f"--- {log.name} (last lines) ---\n{text[-3000:]}", flush=True)
        shutil.rmtree(workdir, ignore_errors=True)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__)
    parser.add_argument("names", nargs="*", metavar="benchmark", help=", ".join(ORDER))
    parser.add_argument("--quick", action="store_true", help="smaller N: a smoke run")
    parser.add_argument("--config", choices=["sqlite", "postgres", "both"], default="both")
    parser.add_argument("--docs", action="store_true", help="write docs even for a partial run")
    args = parser.parse_args(argv)
    for name in args.names:
        if name not in ORDER:
            parser.error(f"unknown benchmark {name!r}; choose from {', '.join(ORDER)}")
    configs = ["sqlite", "postgres"] if args.config == "both" else [args.config]
    started = time.monotonic()
    results = [run_config(config, args.names, args.quick) for config in configs]
    elapsed = time.monotonic() - started
    print(report.table(results))
    full = not args.names and not args.quick and args.config == "both"
    dump = Path(tempfile.gettempdir()) / "hookhub-bench-results.json"
    dump.write_text(json.dumps(results, indent=1))
    print(f"Raw results: {dump} ({elapsed:.0f} s in all)")
    if full or args.docs:
        written = report.write_docs(results, elapsed, quick=args.quick)
        print("Wrote " + ", ".join(str(path.relative_to(ROOT)) for path in written))
    return 1 if any(result["errors"] for result in results) else 0


if __name__ == "__main__":
    sys.exit(main())
