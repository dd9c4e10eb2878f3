"""A real HTTP receiver on 127.0.0.1 for tests: records every request, answers as told.

    receiver.on("/hook", Reply(500), Reply(200))   # first call 500, then 200 from there on
    url = receiver.url("/hook")
    ...
    receiver.wait_for(2)
    assert receiver.requests[0].headers["webhook-id"] == ...

Threaded, keep-alive (HTTP/1.1) and with Nagle off, so it is fast enough for load tests.
Every slow behaviour is bounded and wakes up when the receiver stops.
"""

from __future__ import annotations

import socket
import struct
import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


@dataclass(frozen=True)
class Reply:
    status: int = 200
    headers: dict = field(default_factory=dict)
    body: bytes = b"ok"
    delay: float = 0.0  # seconds to wait before answering at all
    drip: float = 0.0  # seconds between body bytes (the body is sent one byte at a time)
    header_drip: float = 0.0  # seconds between bytes of the status line and headers
    huge: int = 0  # send this many bytes of body instead of `body`, streamed
    redirect: str | None = None  # Location header (status defaults to 302 via redirect_to)
    reset: bool = False  # close the connection with a TCP RST instead of answering


def redirect_to(location: str, status: int = 302) -> Reply:
    return Reply(status=status, headers={"Location": location}, body=b"", redirect=location)


# How often serve_forever() looks for shutdown(): stop() waits up to this long, and its
# default of 0.5 s was paid by every test that used a receiver.
SHUTDOWN_POLL = 0.05


class _Server(ThreadingHTTPServer):
    # Workers open hundreds of connections at once; socketserver's default backlog of 5
    # would make most of them wait a second for a SYN retry.
    request_queue_size = 1024


@dataclass(frozen=True)
class RecordedRequest:
    method: str
    path: str
    headers: dict  # lower-cased names
    body: bytes
    received_at: float  # time.time()
    client_port: int  # tells kept-alive connections apart


class Receiver:
    def __init__(self) -> None:
        self.requests: list[RecordedRequest] = []
        self._replies: dict[str, list[Reply]] = {}
        self._calls: dict[str, int] = {}
        # Requests being answered right now, and the most at once, per path (None: all).
        self._open: Counter = Counter()
        self._most_open: Counter = Counter()
        self._lock = threading.Lock()
        self._arrived = threading.Condition(self._lock)
        self.stopping = threading.Event()
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None

    # -- configuration ---------------------------------------------------------------------
    def on(self, path: str, *replies: Reply) -> None:
        with self._lock:
            self._replies[path] = list(replies) or [Reply()]
            self._calls[path] = 0

    def url(self, path: str = "/hook", host: str = "127.0.0.1") -> str:
        return f"http://{host}:{self.port}{path}"

    @property
    def port(self) -> int:
        assert self._server is not None
        return self._server.server_address[1]

    # -- observation -----------------------------------------------------------------------
    def requests_to(self, path: str) -> list[RecordedRequest]:
        with self._lock:
            return [req for req in self.requests if req.path == path]

    def wait_for(self, count: int, timeout: float = 10.0, path: str | None = None) -> bool:
        """Block until `count` requests (to `path`, if given) arrived; False on timeout."""
        end = time.monotonic() + timeout
        with self._arrived:
            while True:
                seen = [r for r in self.requests if path is None or r.path == path]
                if len(seen) >= count:
                    return True
                left = end - time.monotonic()
                if left <= 0:
                    return False
                self._arrived.wait(min(left, 0.5))

    def clear(self) -> None:
        with self._lock:
            self.requests.clear()

    # -- lifecycle -------------------------------------------------------------------------
    def start(self) -> Receiver:
        receiver = self

        class Handler(_Handler):
            owner = receiver

        self._server = _Server(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        self._server.block_on_close = False
        self._thread = threading.Thread(
            target=self._server.serve_forever,
            kwargs={"poll_interval": SHUTDOWN_POLL},
            daemon=True,
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        self.stopping.set()
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()

    def most_open(self, path: str | None = None) -> int:
        """The most requests (to `path`, or to any path) that were open at the same time."""
        with self._lock:
            return self._most_open.get(path, 0)

    def _closed(self, path: str) -> None:
        with self._lock:
            self._open[path] -= 1
            self._open[None] -= 1

    def _record_and_pick(self, request: RecordedRequest) -> Reply:
        with self._arrived:
            for key in (request.path, None):
                self._open[key] += 1
                self._most_open[key] = max(self._most_open[key], self._open[key])
            self.requests.append(request)
            self._arrived.notify_all()
            replies = self._replies.get(request.path) or [Reply()]
            index = self._calls.get(request.path, 0)
            self._calls[request.path] = index + 1
            return replies[min(index, len(replies) - 1)]


class _Handler(BaseHTTPRequestHandler):
    owner: Receiver
    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True

    def log_message(self, format, *args) -> None:  # noqa: A002 - quiet test output
        pass

    def _handle(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        recorded = RecordedRequest(
            method=self.command,
            path=self.path,
            headers={name.lower(): value for name, value in self.headers.items()},
            body=body,
            received_at=time.time(),
            client_port=self.client_address[1],
        )
        reply = self.owner._record_and_pick(recorded)
        try:
            self._answer(reply)
        finally:
            self.owner._closed(recorded.path)

    def _answer(self, reply: Reply) -> None:
        stopping = self.owner.stopping
        # Stopped mid-answer: hang up (close_connection), or the kept-alive connection would
        # wait for the client's next request while the client waits for this answer until
        # its own deadline.
        if reply.delay and stopping.wait(reply.delay):
            self.close_connection = True
            return
        if reply.reset:
            self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            self.connection.close()
            self.close_connection = True
            return
        size = reply.huge or len(reply.body)
        if reply.header_drip:
            head = f"HTTP/1.1 {reply.status} OK\r\nContent-Length: {size}\r\n\r\n".encode()
            try:
                for index in range(len(head)):
                    self.wfile.write(head[index : index + 1])
                    self.wfile.flush()
                    if stopping.wait(reply.header_drip):
                        self.close_connection = True
                        return
                self.wfile.write(reply.body)
            except (BrokenPipeError, ConnectionResetError):
                pass
            self.close_connection = True
            return
        self.send_response(reply.status)
        for name, value in reply.headers.items():
            self.send_header(name, value)
        self.send_header("Content-Length", str(size))
        self.end_headers()
        try:
            if reply.huge:
                block = b"x" * 65536
                sent = 0
                while sent < size and not stopping.is_set():
                    piece = block[: size - sent]
                    self.wfile.write(piece)
                    sent += len(piece)
            elif reply.drip:
                for index in range(len(reply.body)):
                    self.wfile.write(reply.body[index : index + 1])
                    self.wfile.flush()
                    if stopping.wait(reply.drip):
                        self.close_connection = True
                        return
            else:
                self.wfile.write(reply.body)
        except (BrokenPipeError, ConnectionResetError):
            self.close_connection = True

    do_POST = do_PUT = do_PATCH = do_GET = do_DELETE = _handle
