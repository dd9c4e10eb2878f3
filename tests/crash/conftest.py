"""Fixtures for the crash tests: a PostgreSQL cluster and a Redis server of the test's own
(tests/crash/services.py), the test process's Django connection and queue pointed at them,
and real `manage.py run_worker` processes (and a web server) started on them.

They run in the PostgreSQL + Redis pass only (`make test-postgres`), and skip loudly
elsewhere: on SQLite there is no PostgreSQL server to kill. The test process's own test
database (on the shared server) is not used: the fixtures swap Django's default connection
to the test's own cluster, migrate it, and swap it back afterwards.

Worker and web processes run with the production settings module (hookhub.settings:
persistent connections with health checks, CONN_MAX_AGE=60), not tests.settings (which
closes every connection after use), so what is tested is how a deployment reconnects.
"""

from __future__ import annotations

import os
import time
from dataclasses import dataclass
from pathlib import Path

import pytest
from django.conf import settings as django_settings

from tests.crash.services import PostgresCluster, RedisServer, missing_tools
from tests.deliveries.workers import WorkerProcess

PRODUCTION_SETTINGS = "hookhub.settings"
# What the tests measured, printed at the end of the run (pytest_terminal_summary below), so
# `make test` and `make soak` show the numbers without -s.
_MEASURED: list[str] = []


def skip_unless_scale_configuration() -> None:
    from django.db import connection

    if connection.vendor != "postgresql" or not django_settings.REDIS_URL:
        pytest.skip(
            "*** SKIPPED crash test: runs in the PostgreSQL + Redis pass only "
            "(DATABASE_URL=postgres://... and REDIS_URL, `make test-postgres`); it starts "
            "and kills a PostgreSQL cluster and a Redis server of its own ***"
        )
    missing = missing_tools()
    if missing:
        pytest.skip(f"*** SKIPPED crash test: {', '.join(missing)} not installed ***")


@pytest.fixture
def report(request):
    """`report(text)`: a line of measurements for the run's summary (and for -s)."""

    def add(text: str) -> None:
        _MEASURED.append(f"{request.node.name}:{text}")
        print(text)

    return add


def pytest_terminal_summary(terminalreporter) -> None:
    if _MEASURED:
        terminalreporter.section("crash tests: measured")
        for line in _MEASURED:
            terminalreporter.write_line(line)


@dataclass
class Services:
    postgres: PostgresCluster
    redis: RedisServer


@pytest.fixture
def own_services(django_db_blocker, settings, monkeypatch):
    """Start a PostgreSQL cluster and a Redis server of this test's own; point the test
    process's Django connection, its queue and (through `settings`) the worker processes it
    starts at them; migrate. Everything is stopped and swapped back afterwards."""
    skip_unless_scale_configuration()
    from django.contrib.contenttypes.models import ContentType
    from django.core.management import call_command
    from django.db import connections
    from django_q.brokers import get_broker
    from django_q.conf import Conf

    from deliveries import queue

    postgres = PostgresCluster()
    redis_server = RedisServer()
    conn = connections["default"]
    saved = dict(conn.settings_dict)
    try:
        postgres.start()
        redis_server.start()
        with django_db_blocker.unblock():
            conn.close()
            # In place: settings.DATABASES["default"] is this same dict, and worker processes
            # get their DATABASE_URL from it (tests.deliveries.workers.database_url).
            conn.settings_dict.update(
                NAME=postgres.database, HOST="127.0.0.1", PORT=str(postgres.port), USER="postgres"
            )
            conn.settings_dict["PASSWORD"] = ""
            ContentType.objects.clear_cache()  # ids of the other database
            call_command("migrate", verbosity=0, interactive=False)
            settings.REDIS_URL = redis_server.url()
            monkeypatch.setattr(Conf, "REDIS", redis_server.url())
            monkeypatch.setattr(Conf, "SYNC", False)  # publish() enqueues into the real queue
            monkeypatch.setattr(queue, "_broker", (os.getpid(), get_broker()))
            yield Services(postgres, redis_server)
            connections.close_all()
    finally:
        conn.close()
        conn.settings_dict.clear()
        conn.settings_dict.update(saved)
        ContentType.objects.clear_cache()
        redis_server.stop()
        postgres.destroy()


@pytest.fixture
def start_worker(own_services):
    """`start_worker(**env)`: a real `manage.py run_worker` on the test's own services, with
    the production settings module; every one started is stopped after the test."""
    started: list[WorkerProcess] = []

    def start(**env: str) -> WorkerProcess:
        env.setdefault("DJANGO_SETTINGS_MODULE", PRODUCTION_SETTINGS)
        worker = WorkerProcess(**env)
        started.append(worker)
        return worker

    yield start
    for worker in started:
        worker.terminate()
    for worker in started:
        worker.stop(timeout=30)
        Path(worker.log.name).unlink(missing_ok=True)


def rss_kb(pids: list[int]) -> dict[int, int]:
    """Resident memory (VmRSS, KB) of each live process among `pids`."""
    found = {}
    for pid in pids:
        try:
            status = Path(f"/proc/{pid}/status").read_text()
        except OSError:
            continue
        for line in status.splitlines():
            if line.startswith("VmRSS:"):
                found[pid] = int(line.split()[1])
    return found


def worker_rss_kb(worker: WorkerProcess) -> dict[int, int]:
    """RSS of `run_worker` and every process of its cluster (sentinel, workers, pusher,
    monitor)."""
    return rss_kb([worker.process.pid, *worker.children()])


def wait_for(predicate, timeout: float, interval: float = 0.2) -> float | None:
    """Seconds until `predicate()` was true, or None when `timeout` passed first."""
    began = time.monotonic()
    while time.monotonic() - began < timeout:
        try:
            if predicate():
                return time.monotonic() - began
        except Exception:  # noqa: S110 - a service may be down right now: look again
            pass
        time.sleep(interval)
    return None
