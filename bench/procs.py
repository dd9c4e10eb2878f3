"""Child processes the benchmarks start: the receiver and real HookHub workers.

Each child runs in its own process group (start_new_session), so stopping it stops
everything it forked (django-q2's cluster forks a sentinel, pusher, monitor and workers).
Stopping is TERM, a bounded wait, then KILL of the whole group: nothing outlives the bench.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
STOP_GRACE = 10.0


def _register(pid: int) -> None:
    """Note a child's process group, so `python -m bench` can stop it even if we are killed."""
    path = os.environ.get("BENCH_PID_FILE")
    if path:
        with open(path, "a") as handle:
            handle.write(f"{pid}\n")


def kill_registered(path: Path) -> None:
    if not path.exists():
        return
    for line in path.read_text().split():
        with contextlib.suppress(ProcessLookupError, PermissionError, ValueError):
            os.killpg(int(line), signal.SIGKILL)


def stop_group(proc: subprocess.Popen, grace: float = STOP_GRACE) -> None:
    if proc.poll() is not None:
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(proc.pid, signal.SIGKILL)  # stragglers of an exited leader
        return
    with contextlib.suppress(ProcessLookupError):
        os.killpg(proc.pid, signal.SIGTERM)
    try:
        proc.wait(timeout=grace)
    except subprocess.TimeoutExpired:
        pass
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(proc.pid, signal.SIGKILL)
    with contextlib.suppress(subprocess.TimeoutExpired):
        proc.wait(timeout=5)


class ReceiverProcess:
    """`python -m bench.receiver` in its own process; see bench/receiver.py."""

    def __init__(self, lifetime: float = 3600.0) -> None:
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "bench.receiver", "--lifetime", str(lifetime)],
            cwd=ROOT,
            stdout=subprocess.PIPE,
            text=True,
            start_new_session=True,
        )
        _register(self.proc.pid)
        line = self.proc.stdout.readline().strip()
        if not line.isdigit():
            stop_group(self.proc)
            raise RuntimeError(f"The bench receiver did not start (said {line!r}).")
        self.port = int(line)

    def url(self, path: str = "/hook") -> str:
        return f"http://127.0.0.1:{self.port}{path}"

    def _get(self, path: str, method: str = "GET") -> dict:
        # Always http://127.0.0.1:<port>/...: the receiver this class started.
        request = urllib.request.Request(self.url(path), method=method)  # noqa: S310
        with urllib.request.urlopen(request, timeout=10) as response:  # noqa: S310
            return json.loads(response.read())

    def count(self) -> int:
        return int(self._get("/_stats")["count"])

    def stats(self) -> dict:
        """Counters, requests open now and the most open at once since the last reset."""
        return self._get("/_stats")

    def log(self) -> list[tuple[str, float]]:
        """(message id, time the request was read) per logged request."""
        return [(entry[0], entry[1]) for entry in self._get("/_log")["log"]]

    def entries(self) -> list[list]:
        """[message id, t_read, t_answered or None, status or None, path] per request."""
        return self._get("/_log")["log"]

    def reset(self) -> None:
        self._get("/_reset", method="POST")

    def stop(self) -> None:
        stop_group(self.proc)


class WorkerProcess:
    """`manage.py run_worker` (django-q2 cluster + sweeper) with `workers` processes."""

    def __init__(
        self,
        env: dict[str, str],
        workers: int,
        log_path: Path,
        extra_env: dict[str, str] | None = None,
        command: str = "run_worker",
    ) -> None:
        child_env = dict(env)
        child_env["HOOKHUB_Q_WORKERS"] = str(workers)
        child_env.update(extra_env or {})
        self.log_file = open(log_path, "ab")  # noqa: SIM115 - closed in stop()
        self.proc = subprocess.Popen(
            [sys.executable, "manage.py", command],
            cwd=ROOT,
            env=child_env,
            stdout=self.log_file,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        _register(self.proc.pid)

    def alive(self) -> bool:
        return self.proc.poll() is None

    @property
    def pid(self) -> int:
        return self.proc.pid

    def stop(self, grace: float = STOP_GRACE) -> None:
        try:
            stop_group(self.proc, grace)
        finally:
            self.log_file.close()


def wait_until(predicate, timeout: float, interval: float = 0.02) -> bool:
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if predicate():
            return True
        time.sleep(interval)
    return bool(predicate())
