"""A PostgreSQL cluster and a Redis server of a test's own, on free ports, so the test can
kill and restart them. The shared services on 5432 and 6379 are never touched.

    cluster = PostgresCluster().start()       # initdb into a temporary folder, then start
    cluster.crash()                           # pg_ctl stop -m immediate: no checkpoint
    cluster.start()                           # crash recovery, same data, same port
    cluster.destroy()

PostgreSQL refuses to run as root: as root, every initdb / pg_ctl runs as the `postgres`
OS user (runuser), in a folder that user owns.
"""

from __future__ import annotations

import glob
import os
import shutil
import socket
import subprocess
import tempfile
import time
from pathlib import Path

import psycopg
import redis

# Every wait here is bounded: a service that does not come up fails the test, never hangs it.
START_TIMEOUT = 30.0


def free_port() -> int:
    """A TCP port nobody listens on now (the kernel's pick)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def postgres_bin(name: str) -> str | None:
    """Path of a PostgreSQL server tool (initdb, pg_ctl): Debian keeps them off PATH, under
    /usr/lib/postgresql/<version>/bin; the newest version wins."""
    found = shutil.which(name)
    if found:
        return found
    candidates = sorted(glob.glob(f"/usr/lib/postgresql/*/bin/{name}"), key=_major_version)
    return candidates[-1] if candidates else None


def _major_version(path: str) -> int:
    version = Path(path).parts[-3]  # /usr/lib/postgresql/<version>/bin/<tool>
    return int(version) if version.isdigit() else 0


def missing_tools() -> list[str]:
    tools = [name for name in ("initdb", "pg_ctl") if postgres_bin(name) is None]
    if shutil.which("redis-server") is None:
        tools.append("redis-server")
    if os.geteuid() == 0 and shutil.which("runuser") is None:
        tools.append("runuser")
    return tools


class PostgresCluster:
    """Its own data folder, port and log; `url()` for DATABASE_URL."""

    def __init__(self, database: str = "hookhub") -> None:
        self.port = free_port()
        self.database = database
        self.folder = Path(tempfile.mkdtemp(prefix="hookhub-crash-pg-"))
        self.data = self.folder / "data"
        self.log = self.folder / "postgres.log"
        self._as_postgres = os.geteuid() == 0
        if self._as_postgres:
            shutil.chown(self.folder, user="postgres", group="postgres")
        self.stops: list[float] = []  # seconds each stop took (reported by the tests)

    def _run(self, *args: str, timeout: float = START_TIMEOUT) -> subprocess.CompletedProcess:
        command = list(args)
        if self._as_postgres:
            command = ["runuser", "-u", "postgres", "--", *command]
        return subprocess.run(
            command, capture_output=True, text=True, timeout=timeout, check=True, cwd=self.folder
        )

    def url(self) -> str:
        return f"postgres://postgres@127.0.0.1:{self.port}/{self.database}"

    def start(self) -> PostgresCluster:
        if not self.data.exists():
            self._run(
                postgres_bin("initdb"),
                "-D", str(self.data), "-A", "trust", "-U", "postgres", "-E", "UTF8",
                "--no-sync",  # a test cluster: its files are thrown away afterwards
            )  # fmt: skip
            fresh = True
        else:
            fresh = False
        # fsync=off: these tests crash the server, not the machine. A killed server loses no
        # commit whose WAL reached the OS (synchronous_commit stays on, so every acknowledged
        # durable commit did), and without fsync its crash recovery no longer starts with an
        # fsync of every data file, which took 5 s while other tests wrote to the disk.
        options = (
            f"-p {self.port} -c listen_addresses=127.0.0.1 -k {self.folder} "
            "-c max_connections=200 -c shared_buffers=64MB -c fsync=off"
        )
        self._run(
            postgres_bin("pg_ctl"), "-D", str(self.data), "-o", options, "-l", str(self.log),
            "-w", "-t", str(int(START_TIMEOUT)), "start",
        )  # fmt: skip
        self._wait_ready()
        if fresh:
            with psycopg.connect(self._dsn("postgres"), autocommit=True) as conn:
                conn.execute(f'CREATE DATABASE "{self.database}"')
        return self

    def _dsn(self, database: str) -> str:
        return f"host=127.0.0.1 port={self.port} user=postgres dbname={database} connect_timeout=2"

    def _wait_ready(self) -> None:
        end = time.monotonic() + START_TIMEOUT
        while True:
            try:
                with psycopg.connect(self._dsn("postgres")):
                    return
            except psycopg.OperationalError:
                if time.monotonic() > end:
                    raise
                time.sleep(0.1)

    def crash(self) -> None:
        """`pg_ctl stop -m immediate`: every backend is killed, nothing is checkpointed, and
        the next start runs crash recovery, as after a crashed server."""
        began = time.monotonic()
        self._run(postgres_bin("pg_ctl"), "-D", str(self.data), "-m", "immediate", "-w", "stop")
        self.stops.append(time.monotonic() - began)

    def stop(self) -> None:
        if (self.data / "postmaster.pid").exists():
            self._run(postgres_bin("pg_ctl"), "-D", str(self.data), "-m", "fast", "-w", "stop")

    def destroy(self) -> None:
        try:
            if (self.data / "postmaster.pid").exists():
                self._run(
                    postgres_bin("pg_ctl"), "-D", str(self.data), "-m", "immediate", "-w", "stop"
                )
        finally:
            shutil.rmtree(self.folder, ignore_errors=True)

    def query(self, sql: str, params: tuple = ()) -> list[tuple]:
        """A query on a connection of its own (never the test's Django connection)."""
        with psycopg.connect(self._dsn(self.database)) as conn:
            return conn.execute(sql, params).fetchall()


class RedisServer:
    """`redis-server --port <free> --save '' --appendonly no`: a kill loses everything in it,
    as a crashed Redis without persistence does."""

    def __init__(self) -> None:
        self.port = free_port()
        self.process: subprocess.Popen | None = None
        self.log = tempfile.NamedTemporaryFile(  # noqa: SIM115 - kept while the server runs
            prefix="hookhub-crash-redis-", suffix=".log", delete=False
        )

    def url(self, db: int = 0) -> str:
        return f"redis://127.0.0.1:{self.port}/{db}"

    def start(self) -> RedisServer:
        self.process = subprocess.Popen(
            [
                "redis-server",
                "--port",
                str(self.port),
                "--bind",
                "127.0.0.1",
                "--save",
                "",
                "--appendonly",
                "no",
            ],  # fmt: skip
            stdout=self.log,
            stderr=subprocess.STDOUT,
        )
        client = redis.Redis(port=self.port, socket_connect_timeout=1)
        end = time.monotonic() + START_TIMEOUT
        while True:
            try:
                client.ping()
                break
            except redis.ConnectionError:
                if time.monotonic() > end or self.process.poll() is not None:
                    raise
                time.sleep(0.05)
        client.close()
        return self

    def kill(self) -> None:
        """SIGKILL: its queue and every key are gone."""
        if self.process is not None and self.process.poll() is None:
            self.process.kill()
            self.process.wait(timeout=10)

    def stop(self) -> None:
        self.kill()
        Path(self.log.name).unlink(missing_ok=True)
