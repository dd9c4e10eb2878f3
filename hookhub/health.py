"""Health probes for load balancers and Kubernetes: `/healthz` and `/readyz`.

- `/healthz`: the process is alive and answers; it touches nothing else, so a database outage
  never makes an orchestrator restart healthy web processes.
- `/readyz`: this process can do its job: the database answers, the queue's broker answers
  (Redis with REDIS_URL, the database otherwise), every migration is applied, and a worker
  swept within HOOKHUB_SWEEP_STALE_AFTER (without workers nothing is sent or retried).
  503 with the failing checks named when any fails.

Answered by a middleware placed first, before ALLOWED_HOSTS, the HTTPS redirect and the
session: probes come from inside the cluster, addressed by pod IP, over plain HTTP. They
disclose only check names and short reasons, no data.
"""

from __future__ import annotations

import logging
from collections.abc import Callable

import redis
from django.conf import settings
from django.db import DEFAULT_DB_ALIAS, connections
from django.db.migrations.executor import MigrationExecutor
from django.http import HttpRequest, HttpResponse, JsonResponse

from deliveries import heartbeat

logger = logging.getLogger(__name__)

# A migrated database stays migrated for the life of this code: checked until it passes once.
_migrated = False


def check_database() -> str | None:
    with connections[DEFAULT_DB_ALIAS].cursor() as cursor:
        cursor.execute("SELECT 1")
    return None


def check_broker() -> str | None:
    if not settings.REDIS_URL:
        return None  # the ORM broker is the database, checked above
    timeout = float(settings.HOOKHUB_READY_TIMEOUT)
    client = redis.Redis.from_url(
        settings.REDIS_URL, socket_connect_timeout=timeout, socket_timeout=timeout
    )
    try:
        client.ping()
    finally:
        client.close()
    return None


def check_migrations() -> str | None:
    global _migrated
    if _migrated:
        return None
    executor = MigrationExecutor(connections[DEFAULT_DB_ALIAS])
    unapplied = executor.migration_plan(executor.loader.graph.leaf_nodes())
    if unapplied:
        return f"{len(unapplied)} migration(s) not applied: run `manage.py migrate`."
    _migrated = True
    return None


def check_sweeper() -> str | None:
    swept_at = heartbeat.last_sweep_at()
    if heartbeat.is_stale(swept_at):
        seen = f"last at {swept_at:%Y-%m-%d %H:%M:%S} UTC" if swept_at else "never"
        return f"No worker has swept within {settings.HOOKHUB_SWEEP_STALE_AFTER:g} s ({seen})."
    return None


# In order: a later check needs what an earlier one proved (the database, for the last two).
CHECKS: list[tuple[str, Callable[[], str | None]]] = [
    ("database", check_database),
    ("broker", check_broker),
    ("migrations", check_migrations),
    ("sweeper", check_sweeper),
]


def run_checks() -> dict[str, str]:
    """Each check's name -> "ok" or what is wrong; checks after a failed database are
    reported as not run rather than each failing on the same outage."""
    results: dict[str, str] = {}
    database_down = False
    for name, check in CHECKS:
        if database_down and name in ("migrations", "sweeper"):
            results[name] = "not checked: the database is unreachable"
            continue
        try:
            problem = check()
        except Exception as error:  # noqa: BLE001 - a probe reports, it never raises
            logger.warning("Readiness check %s failed", name, exc_info=True)
            first = (str(error).strip().splitlines() or [""])[0]
            problem = f"{error.__class__.__name__}: {first}" if first else error.__class__.__name__
            database_down = database_down or name == "database"
        results[name] = problem or "ok"
    return results


def healthz(request: HttpRequest) -> HttpResponse:
    return JsonResponse({"status": "ok"})


def readyz(request: HttpRequest) -> HttpResponse:
    checks = run_checks()
    ready = all(value == "ok" for value in checks.values())
    return JsonResponse(
        {"status": "ok" if ready else "unavailable", "checks": checks},
        status=200 if ready else 503,
    )


PROBES = {"/healthz": healthz, "/readyz": readyz}


class ProbeMiddleware:
    """Answers the probe paths before any other middleware (see the module docstring)."""

    def __init__(self, get_response) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        probe = PROBES.get(request.path_info.rstrip("/"))
        if probe is not None and request.method in ("GET", "HEAD"):
            response = probe(request)
            response["Cache-Control"] = "no-store"
            return response
        return self.get_response(request)
