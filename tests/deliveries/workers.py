"""Start real `manage.py run_worker` processes against the test database."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from django.conf import settings
from django.db import connection

ROOT = Path(__file__).resolve().parents[2]
# What test workers run with unless a test passes its own: short, so retries and repairs
# happen within a test's patience. Time bounds in the tests are multiples of these.
POLL_INTERVAL = 0.2
SWEEP_INTERVAL = 0.25


def database_url() -> str:
    """The URL of the database the running test uses (the test database, not the dev one)."""
    db = connection.settings_dict
    if db["ENGINE"] == "django.db.backends.sqlite3":
        return f"sqlite:///{db['NAME']}"
    user, host, port = db.get("USER") or "postgres", db.get("HOST") or "127.0.0.1", db.get("PORT")
    password = f":{db['PASSWORD']}" if db.get("PASSWORD") else ""
    return f"postgres://{user}{password}@{host}:{port or 5432}/{db['NAME']}"


def is_postgres() -> bool:
    return connection.vendor == "postgresql"


class WorkerProcess:
    """`manage.py run_worker` (or another command, e.g. "qcluster") in a process group."""

    def __init__(self, command: str = "run_worker", **env: str) -> None:
        self.log = tempfile.NamedTemporaryFile(  # noqa: SIM115 - kept open while it runs
            prefix="hookhub-worker-", suffix=".log", delete=False
        )
        full_env = {
            **os.environ,
            "DJANGO_SETTINGS_MODULE": "tests.settings",
            "DATABASE_URL": database_url(),
            "HOOKHUB_Q_SYNC": "0",
            "HOOKHUB_Q_NAME": settings.Q_CLUSTER["name"],
            "HOOKHUB_SWEEP_INTERVAL": str(SWEEP_INTERVAL),
            "HOOKHUB_POLL_INTERVAL": str(POLL_INTERVAL),
            "HOOKHUB_Q_WORKERS": "1",
            "HOOKHUB_ALLOWED_CIDRS": ",".join(settings.HOOKHUB_ALLOWED_CIDRS),
            **env,
        }
        if settings.REDIS_URL:
            full_env["REDIS_URL"] = settings.REDIS_URL
        self._terminated = False
        self.process = subprocess.Popen(
            [sys.executable, "manage.py", command],
            cwd=ROOT,
            env=full_env,
            stdout=self.log,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # its own process group: we can kill the whole cluster
        )

    def children(self) -> list[int]:
        """The cluster's processes (sentinel, workers, monitor, pusher): its process group."""
        found = []
        for entry in Path("/proc").iterdir():
            if not entry.name.isdigit() or int(entry.name) == self.process.pid:
                continue
            try:
                if os.getpgid(int(entry.name)) == self.process.pid:
                    found.append(int(entry.name))
            except OSError:
                continue
        return found

    def output(self) -> str:
        return Path(self.log.name).read_text(errors="replace")

    def kill(self) -> None:
        """SIGKILL the worker and every process of its cluster, mid-whatever."""
        try:
            os.killpg(self.process.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        self.process.wait(timeout=10)

    def terminate(self) -> None:
        """SIGTERM: a clean stop that lets in-flight deliveries finish; stop() waits for it.
        Signal several workers first, then stop each, and they drain at the same time."""
        if self.process.poll() is None and not self._terminated:
            self.process.send_signal(signal.SIGTERM)
            self._terminated = True

    def stop(self, timeout: float = 20) -> int | None:
        if self.process.poll() is None:
            self.terminate()
            try:
                self.process.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                self.kill()
        # Stragglers of the cluster (if any) must not outlive the test database.
        try:
            os.killpg(self.process.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        return self.process.returncode


def wait_until(predicate, timeout: float, interval: float = 0.1) -> bool:
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if predicate():
            return True
        time.sleep(interval)
    return predicate()
