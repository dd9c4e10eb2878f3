"""`make run` on loopback with real processes: a busy port stops it before anything is sent,
with a non-zero exit; `PORT=` moves the server, the banner and the demo's URLs; Ctrl-C stops
both processes; and running it again works. Each `make run` gets a database of its own in
tmp_path, never the developer's db.sqlite3."""

from __future__ import annotations

import os
import shutil
import signal
import socket
import sqlite3
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
VENV_PYTHON = ROOT / ".venv" / "bin" / "python"

needs_make = pytest.mark.skipif(
    not shutil.which("make") or not VENV_PYTHON.exists(), reason="needs make and .venv"
)


@pytest.fixture
def held_port():
    """A port something else is listening on (and accepting nothing from)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        sock.listen(5)
        yield sock, sock.getsockname()[1]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def make_env(db: Path) -> dict[str, str]:
    """The developer's environment, minus what pytest and tests.settings put there."""
    env = {
        name: value
        for name, value in os.environ.items()
        if not name.startswith("HOOKHUB_")
        and name not in {"DJANGO_SETTINGS_MODULE", "DATABASE_URL", "REDIS_URL"}
    }
    env["DATABASE_URL"] = f"sqlite:///{db}"
    return env


# `-o`: never reinstall the venv from inside a test, even if pyproject.toml just changed.
MAKE_RUN = ["make", "--no-print-directory", "-o", ".venv/.installed", "-o", ".venv/bin/python"]


def test_port_check_names_the_busy_port_and_how_to_pick_another(held_port):
    _, port = held_port
    result = subprocess.run(
        [sys.executable, "-m", "demo.portcheck", "127.0.0.1", str(port)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=10,
    )
    assert result.returncode == 1
    assert f"Port {port} on 127.0.0.1 is not free" in result.stderr
    assert "make run PORT=" in result.stderr


def test_port_check_passes_a_free_port():
    result = subprocess.run(
        [sys.executable, "-m", "demo.portcheck", "127.0.0.1", str(free_port())],
        cwd=ROOT,
        capture_output=True,
        timeout=10,
    )
    assert result.returncode == 0 and result.stderr == b""


@needs_make
def test_make_run_on_a_busy_port_fails_before_sending_anything(held_port, tmp_path):
    sock, port = held_port
    db = tmp_path / "db.sqlite3"
    result = subprocess.run(
        [*MAKE_RUN, "run", f"PORT={port}"],
        cwd=ROOT,
        env=make_env(db),
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert result.returncode != 0
    assert f"Port {port} on 127.0.0.1 is not free" in result.stderr
    assert "make run PORT=" in result.stderr
    assert "HookHub on" not in result.stdout and "Published" not in result.stdout
    assert not db.exists()  # not even migrated, so nothing was published
    sock.settimeout(0.3)
    with pytest.raises(TimeoutError):
        sock.accept()  # nobody connected to what holds the port


def start_make_run(port: int, db: Path, log: Path) -> subprocess.Popen:
    # A session of its own: Ctrl-C in a terminal is SIGINT to the whole process group.
    return subprocess.Popen(
        [*MAKE_RUN, "run", f"PORT={port}"],
        cwd=ROOT,
        env=make_env(db),
        stdout=log.open("w"),
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )


def wait_for(condition, timeout: float, proc: subprocess.Popen, log: Path) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            pytest.fail(f"make run exited {proc.returncode}:\n{log.read_text()}")
        try:
            if condition():
                return
        except (OSError, sqlite3.Error):
            pass
        time.sleep(0.25)
    pytest.fail(f"timed out:\n{log.read_text()}")


def query(db: Path, sql: str):
    with sqlite3.connect(db, timeout=5) as conn:
        return conn.execute(sql).fetchall()


def login_page_answers(port: int) -> bool:
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/accounts/login/", timeout=2) as r:  # noqa: S310
        return r.status == 200


def ctrl_c(proc: subprocess.Popen, log: Path) -> None:
    """SIGINT to the group, then every process of it (server, worker, its children) ends."""
    os.killpg(proc.pid, signal.SIGINT)
    proc.wait(timeout=15)
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        try:
            os.killpg(proc.pid, 0)
        except ProcessLookupError:
            return
        time.sleep(0.2)
    pytest.fail(f"processes of make run still alive after Ctrl-C:\n{log.read_text()}")


def stop(proc: subprocess.Popen) -> None:
    if proc.poll() is None:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(timeout=5)


@needs_make
@pytest.mark.slow
def test_make_run_follows_port_stops_on_ctrl_c_and_runs_again(tmp_path):
    db, first_port, second_port = tmp_path / "db.sqlite3", free_port(), free_port()
    log = tmp_path / "first.log"
    proc = start_make_run(first_port, db, log)
    try:
        # The sample event arrives in alice's inbox on this port, signed.
        wait_for(
            lambda: query(db, "SELECT signature_valid FROM demo_inboxrequest") == [(1,)],
            timeout=25,
            proc=proc,
            log=log,
        )
        ctrl_c(proc, log)
    finally:
        stop(proc)
    out = log.read_text()
    assert f"HookHub on http://127.0.0.1:{first_port} with a delivery worker" in out
    assert f"Starting development server at http://127.0.0.1:{first_port}/" in out
    assert f"Sign in at http://127.0.0.1:{first_port}/accounts/login/" in out
    assert ":8000" not in out

    log = tmp_path / "second.log"
    proc = start_make_run(second_port, db, log)
    try:
        wait_for(lambda: login_page_answers(second_port), timeout=20, proc=proc, log=log)
        [(alice,)] = query(db, "SELECT id FROM auth_user WHERE username = 'alice'")
        urls = query(db, "SELECT url FROM subscriptions_endpoint")
        assert urls == [(f"http://127.0.0.1:{second_port}/demo/inbox/{alice}/",)]
        assert query(db, "SELECT count(*) FROM deliveries_event") == [(1,)]
        ctrl_c(proc, log)
    finally:
        stop(proc)
