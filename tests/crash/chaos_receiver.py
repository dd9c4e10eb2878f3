"""A real HTTP receiver on 127.0.0.1 that misbehaves at random, per request, reproducibly.

    receiver = ChaosReceiver(Chaos(error=0.25, drop=0.05, stall=0.05), seed=7).start()
    url = receiver.url("/e1")
    ...
    receiver.ok_counts()   # Counter of (path, webhook-id) -> 2xx answers actually written

Each request's fate is drawn from a hash of (seed, path, webhook-id, how many times this
receiver saw that webhook-id on that path before), not from a shared random stream: the
n-th try of a delivery meets the same fate whatever order the worker sends in, so a run is
reproducible and one delivery's retries are independent draws.

tests/receivers.py answers a fixed script per path; this one draws, and records when each
2xx was really written (a worker killed mid-answer never read it). Threaded, keep-alive,
Nagle off, like tests/receivers.py; every stall wakes up when the receiver stops.
`ReceiverProcess` runs one in a process of its own.
"""

from __future__ import annotations

import hashlib
import json
import select
import socket
import struct
import subprocess
import sys
import threading
import time
from collections import Counter
from dataclasses import asdict, dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

OK, ERROR, DROP, STALL = "ok", "error", "drop", "stall"


@dataclass(frozen=True)
class Chaos:
    """Shares of requests (0..1) answered each way; the rest are answered 200 at once
    (after `delay`, which every answer waits: a slow receiver)."""

    error: float = 0.0  # answer 500
    drop: float = 0.0  # hang up with a TCP RST, no answer at all
    stall: float = 0.0  # wait `stall_seconds`, then answer 200
    stall_seconds: float = 1.5
    delay: float = 0.0


HEALTHY = Chaos()


@dataclass(frozen=True)
class Answer:
    path: str
    webhook_id: str
    fate: str
    status: int | None  # what was written (None: dropped, or the client was gone)
    received_at: float  # time.time()
    answered_at: float


class _Server(ThreadingHTTPServer):
    request_queue_size = 1024  # workers open hundreds of connections at once
    daemon_threads = True
    block_on_close = False

    def handle_error(self, request, client_address) -> None:
        """A worker killed mid-connection resets it: expected here, not worth a traceback."""
        if not isinstance(sys.exc_info()[1], ConnectionError):
            super().handle_error(request, client_address)


class ChaosReceiver:
    def __init__(self, default: Chaos = HEALTHY, *, seed: int = 0, keep: bool = True) -> None:
        """`keep=False` keeps counters only (for a long soak), not every answer."""
        self.default = default
        self.seed = seed
        self.keep = keep
        self._chaos: dict[str, Chaos] = {}
        self._seen: Counter = Counter()  # (path, webhook-id) -> requests so far
        self.answers: list[Answer] = []
        self.fates: Counter = Counter()  # (path, fate) -> requests
        self.ok: Counter = Counter()  # (path, webhook-id) -> 2xx answers written
        self.gone: Counter = Counter()  # path -> answers not written: the sender had hung up
        self._lock = threading.Lock()
        self.stopping = threading.Event()
        self._server: _Server | None = None

    def on(self, path: str, chaos: Chaos) -> None:
        self._chaos[path] = chaos

    def url(self, path: str) -> str:
        return f"http://127.0.0.1:{self.port}{path}"

    @property
    def port(self) -> int:
        return self._server.server_address[1]

    # -- observation -----------------------------------------------------------------------
    def ok_counts(self) -> Counter:
        with self._lock:
            return Counter(self.ok)

    def requests(self) -> int:
        with self._lock:
            return sum(self.fates.values())

    def ok_answers(self) -> list[Answer]:
        with self._lock:
            return [a for a in self.answers if a.status is not None and 200 <= a.status < 300]

    def summary(self) -> dict:
        """Per path: requests by fate, webhook-ids answered 2xx, 2xx answers beyond the first
        per webhook-id (duplicates), answers the sender hung up on."""
        with self._lock:
            delivered, duplicates = Counter(), Counter()
            for (path, _), count in self.ok.items():
                delivered[path] += 1
                duplicates[path] += count - 1
            return {
                "fates": {f"{path} {fate}": n for (path, fate), n in sorted(self.fates.items())},
                "delivered": dict(delivered),
                "duplicates": dict(duplicates),
                "gone": dict(self.gone),
                "requests": sum(self.fates.values()),
            }

    # -- lifecycle -------------------------------------------------------------------------
    def start(self) -> ChaosReceiver:
        owner = self

        class Handler(_Handler):
            receiver = owner

        self._server = _Server(("127.0.0.1", 0), Handler)
        threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        ).start()
        return self

    def stop(self) -> None:
        self.stopping.set()
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()

    # -- on the handler's thread -----------------------------------------------------------
    def _draw(self, path: str, webhook_id: str) -> tuple[str, Chaos]:
        chaos = self._chaos.get(path, self.default)
        with self._lock:
            nth = self._seen[(path, webhook_id)]
            self._seen[(path, webhook_id)] = nth + 1
        digest = hashlib.sha256(f"{self.seed}|{path}|{webhook_id}|{nth}".encode()).digest()
        roll = int.from_bytes(digest[:8], "big") / 2**64
        for fate, share in ((ERROR, chaos.error), (DROP, chaos.drop), (STALL, chaos.stall)):
            if roll < share:
                return fate, chaos
            roll -= share
        return OK, chaos

    def _note(self, answer: Answer) -> None:
        with self._lock:
            self.fates[(answer.path, answer.fate)] += 1
            if answer.status is None and answer.fate in (OK, STALL, ERROR):
                self.gone[answer.path] += 1
            if answer.status is not None and 200 <= answer.status < 300:
                self.ok[(answer.path, answer.webhook_id)] += 1
            if self.keep:
                self.answers.append(answer)


class _Handler(BaseHTTPRequestHandler):
    receiver: ChaosReceiver
    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True

    def log_message(self, format, *args) -> None:  # noqa: A002 - quiet test output
        pass

    def _handle(self) -> None:
        received_at = time.time()
        length = int(self.headers.get("Content-Length") or 0)
        if length:
            self.rfile.read(length)
        webhook_id = self.headers.get("webhook-id", "")
        fate, chaos = self.receiver._draw(self.path, webhook_id)
        status = self._act(fate, chaos)
        self.receiver._note(Answer(self.path, webhook_id, fate, status, received_at, time.time()))

    def _act(self, fate: str, chaos: Chaos) -> int | None:
        stopping = self.receiver.stopping
        wait = chaos.delay + (chaos.stall_seconds if fate == STALL else 0.0)
        if wait and stopping.wait(wait):
            self.close_connection = True
            return None
        if fate == DROP:
            # SO_LINGER 0: close() sends RST, the way a crashing receiver's kernel would.
            self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            self.connection.close()
            self.close_connection = True
            return None
        if self._sender_gone():
            self.close_connection = True
            return None
        status = 500 if fate == ERROR else 200
        body = b"oops" if status == 500 else b"ok"
        try:
            self.send_response(status)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)
            self.wfile.flush()
        except OSError:  # the worker hung up (killed mid-request, or its deadline passed)
            self.close_connection = True
            return None
        return status

    def _sender_gone(self) -> bool:
        """True when the sender closed its end: a SIGKILLed worker's kernel sends FIN, so the
        socket reads as EOF. Writing the answer anyway would succeed into the socket buffer
        and count as "answered 2xx" although nobody read it. (The sender sends nothing else
        while it waits for this answer: HTTP/1.1 without pipelining.)"""
        try:
            readable, _, _ = select.select([self.connection], [], [], 0)
            return bool(readable) and self.connection.recv(1, socket.MSG_PEEK) == b""
        except OSError:
            return True

    do_POST = do_PUT = do_PATCH = _handle


class ReceiverProcess:
    """A ChaosReceiver in a process of its own, for a long soak: hundreds of requests a
    second in the test's own process would compete with its publisher for the GIL. It stops
    when its stdin closes (stop(), or the test process dying) and answers with summary()."""

    def __init__(self, paths: dict[str, Chaos], *, seed: int = 0) -> None:
        config = {"seed": seed, "paths": {path: asdict(chaos) for path, chaos in paths.items()}}
        self.process = subprocess.Popen(
            [sys.executable, "-m", "tests.crash.chaos_receiver", json.dumps(config)],
            cwd=Path(__file__).resolve().parents[2],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        )
        self.port = int(self.process.stdout.readline().split()[1])  # "port <n>"

    def url(self, path: str) -> str:
        return f"http://127.0.0.1:{self.port}{path}"

    def stop(self, timeout: float = 30) -> dict:
        try:
            out, _ = self.process.communicate(input="", timeout=timeout)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait(timeout=10)
            raise
        return json.loads(out.strip().splitlines()[-1])


def _serve(config: dict) -> None:
    receiver = ChaosReceiver(keep=False, seed=config["seed"])
    for path, chaos in config["paths"].items():
        receiver.on(path, Chaos(**chaos))
    receiver.start()
    print(f"port {receiver.port}", flush=True)
    sys.stdin.read()  # until the test closes it
    receiver.stop()
    print(json.dumps(receiver.summary()), flush=True)


if __name__ == "__main__":
    _serve(json.loads(sys.argv[1]))
