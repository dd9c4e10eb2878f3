"""/healthz and /readyz: liveness touches nothing; readiness names each failing dependency
(database, broker, migrations, sweeper) with a 503, against real failures: closed ports, a
database file that cannot be opened, a database never migrated."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
from datetime import timedelta
from pathlib import Path

import pytest
from django.utils import timezone

from deliveries import heartbeat

ROOT = Path(__file__).resolve().parents[2]


def closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]  # nothing listens once the socket is closed


def test_liveness_answers_for_any_host_and_over_plain_http(client, settings):
    settings.SECURE_SSL_REDIRECT = True
    response = client.get("/healthz", HTTP_HOST="10.0.0.7:8000")  # a pod IP, not allowed
    assert response.status_code == 200
    assert response.json() == {"status": "ok"}
    assert response["Cache-Control"] == "no-store"


@pytest.mark.django_db
def test_ready_when_the_database_answers_and_a_worker_swept_recently(client):
    heartbeat.beat("worker-1")
    response = client.get("/readyz/", HTTP_HOST="10.0.0.7")
    assert response.status_code == 200
    assert response.json()["checks"] == {
        "database": "ok",
        "broker": "ok",
        "migrations": "ok",
        "sweeper": "ok",
    }


@pytest.mark.django_db
def test_not_ready_without_a_recent_sweep(client, settings):
    settings.HOOKHUB_SWEEP_STALE_AFTER = 60
    assert client.get("/readyz").json()["checks"]["sweeper"].endswith("(never).")
    heartbeat.beat("worker-1", now=timezone.now() - timedelta(minutes=5))
    response = client.get("/readyz")
    assert response.status_code == 503
    body = response.json()
    assert body["status"] == "unavailable"
    assert body["checks"]["sweeper"].startswith("No worker has swept within 60 s (last at ")
    assert body["checks"]["database"] == "ok"


@pytest.mark.django_db
def test_not_ready_when_redis_does_not_answer(client, settings):
    heartbeat.beat("worker-1")
    settings.REDIS_URL = f"redis://127.0.0.1:{closed_port()}/0"
    started = time.monotonic()
    response = client.get("/readyz")
    assert time.monotonic() - started < 5
    assert response.status_code == 503
    checks = response.json()["checks"]
    assert checks["broker"].startswith("ConnectionError")
    assert checks["database"] == checks["sweeper"] == "ok"


@pytest.mark.django_db
def test_ready_with_a_reachable_redis(client, settings):
    if not settings.REDIS_URL:
        pytest.skip("needs REDIS_URL (the PostgreSQL + Redis pass)")
    heartbeat.beat("worker-1")
    assert client.get("/readyz").json()["checks"]["broker"] == "ok"


def probe_in_a_process(database_url: str) -> tuple[dict, dict]:
    """GET /healthz and /readyz in a fresh process configured by the environment alone."""
    script = (
        "import json, django; django.setup(); from django.test import Client; c = Client(); "
        "h = c.get('/healthz'); r = c.get('/readyz'); "
        "print(json.dumps([[h.status_code, h.json()], [r.status_code, r.json()]]))"
    )
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("HOOKHUB_", "DJANGO_", "DATABASE_URL", "REDIS_URL"))
    }
    env.update(DJANGO_SETTINGS_MODULE="hookhub.settings", DEBUG="1", DATABASE_URL=database_url)
    env.update(LOG_LEVEL="CRITICAL")
    result = subprocess.run(
        [sys.executable, "-c", script],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    (h_status, health), (r_status, ready) = json.loads(result.stdout.strip().splitlines()[-1])
    assert h_status == 200 and health == {"status": "ok"}  # liveness never depends on them
    assert r_status == 503
    return health, ready


def test_not_ready_when_the_database_file_cannot_be_opened(tmp_path):
    _, ready = probe_in_a_process(f"sqlite:///{tmp_path}/missing-dir/db.sqlite3")
    assert ready["checks"]["database"].startswith("OperationalError: unable to open database")
    assert ready["checks"]["migrations"] == "not checked: the database is unreachable"
    assert ready["checks"]["sweeper"] == "not checked: the database is unreachable"


def test_not_ready_when_postgresql_does_not_answer():
    _, ready = probe_in_a_process(f"postgres://postgres@127.0.0.1:{closed_port()}/hookhub")
    assert ready["checks"]["database"].startswith("OperationalError")
    assert ready["checks"]["migrations"].startswith("not checked")


def test_not_ready_before_migrate(tmp_path):
    _, ready = probe_in_a_process(f"sqlite:///{tmp_path}/fresh.sqlite3")
    assert ready["checks"]["database"] == "ok"
    assert ready["checks"]["migrations"].endswith("not applied: run `manage.py migrate`.")
