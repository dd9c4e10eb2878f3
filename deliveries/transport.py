"""The only module that makes outbound HTTP. It sends one request and reports what happened.

`send()` never raises for anything a receiver (or its network) does: refused address, DNS,
connect, TLS, timeout, reset, oversized answer all come back as a `TransportResult` with an
error class, so every try is stored as an Attempt.

Guarantees, each a setting read at call time:
- The address guard (subscriptions.addresses) resolves the host once, refuses the whole name
  if any address is refused, and the connection goes to the checked address (DNS rebinding
  gains nothing) while the Host header, TLS SNI and certificate check keep the host name.
- HOOKHUB_CONNECT_TIMEOUT bounds the TCP/TLS connect; HOOKHUB_DELIVERY_DEADLINE bounds the
  whole exchange by the wall clock: body reads get only the time left, and a watchdog shuts
  the socket down at the deadline, so a receiver dripping a byte a second, in its headers
  or its body, is cut off there (a socket timeout is per read, not in total).
- HOOKHUB_RESPONSE_BODY_CAP bytes of the answer are kept; reading stops there, so a 50 MB
  answer costs no more than the cap. Content is requested uncompressed, so the cap is real.
- Redirects are never followed (a 3xx is a failed attempt, and could point anywhere).

Why `http.client` and not `requests`: a kept-alive `requests.Session` costs ~1 ms of CPU per
POST (request preparation, hooks, cookie and proxy merging, urllib3's pool); `http.client` on
a kept-alive socket costs a fraction of that, and HookHub needs none of the rest. Sending
was the pipeline's largest CPU cost (see docs/benchmarks.md).

Why not `requests-hardened`: it checks only the first resolved address, has no CIDR
allowlist (tests and private deployments need one), no total deadline and no body cap, so
HookHub would still need all of this around it.
"""

from __future__ import annotations

import heapq
import http.client
import itertools
import os
import select
import socket
import ssl
import threading
import time
from dataclasses import dataclass, field
from datetime import datetime
from urllib.parse import urlsplit

from django.conf import settings
from django.utils import timezone

from deliveries.models import Attempt
from subscriptions.addresses import BlockedAddress, UnresolvableHost, check_url

ErrorClass = Attempt.ErrorClass
READ_CHUNK = 64 * 1024
MESSAGE_MAX = 500
POOL_MAX = 64  # kept-alive connections per sending thread (as the requests pool had)


@dataclass
class TransportResult:
    started_at: datetime
    finished_at: datetime
    duration_ms: int
    status: int | None = None
    headers: dict = field(default_factory=dict)
    body: str = ""
    truncated: bool = False
    error_class: str = ErrorClass.NONE
    error_message: str = ""

    @property
    def succeeded(self) -> bool:
        return not self.error_class and self.status is not None and 200 <= self.status < 300


class _DeadlineExceeded(Exception):
    pass


class _Watch:
    """The socket one send() is using, so the deadline watchdog can cut it off."""

    __slots__ = ("sock", "expired", "done")

    def __init__(self) -> None:
        self.sock = None
        self.expired = False
        self.done = False

    def fire(self) -> None:
        self.expired = True
        sock = self.sock
        if sock is not None:
            try:
                sock.shutdown(socket.SHUT_RDWR)  # the blocked read returns at once
            except OSError:
                pass


class _Watchdog:
    """One thread per process that fires each watch whose deadline passed.

    A heap instead of a Timer thread per request: at a thousand requests a second, starting
    threads would cost more than the requests. Finished watches are dropped from the top of
    the heap as new ones arrive, so the thread sleeps until the oldest request still running
    could expire, instead of waking once for every request ever sent."""

    def __init__(self) -> None:
        self.reset()

    def reset(self) -> None:
        # Also called in a forked child: the parent's thread does not exist there, and its
        # lock may have been held at the moment of the fork.
        self._cond = threading.Condition()
        self._heap: list[tuple[float, int, _Watch]] = []
        self._order = itertools.count()
        self._running = False

    def add(self, deadline: float, watch: _Watch) -> None:
        with self._cond:
            if not self._running:
                self._running = True
                threading.Thread(target=self._run, name="hookhub-deadline", daemon=True).start()
            heap = self._heap
            while heap and heap[0][2].done:
                heapq.heappop(heap)
            heapq.heappush(heap, (deadline, next(self._order), watch))
            if heap[0][2] is watch:
                self._cond.notify()

    def _run(self) -> None:
        cond, heap = self._cond, self._heap
        while True:
            with cond:
                while heap and heap[0][2].done:
                    heapq.heappop(heap)
                if not heap:
                    cond.wait()
                    continue
                deadline, _, watch = heap[0]
                wait = deadline - time.monotonic()
                if wait > 0:
                    cond.wait(wait)
                    continue
                heapq.heappop(heap)
            if not watch.done:
                watch.fire()


_watchdog = _Watchdog()


_tls: ssl.SSLContext | None = None


def _tls_context() -> ssl.SSLContext:
    """One verifying context per process (building one costs milliseconds)."""
    global _tls
    if _tls is None:
        _tls = ssl.create_default_context()
    return _tls


class _PinnedHTTPSConnection(http.client.HTTPSConnection):
    """TLS to the checked address, with SNI and the certificate check on the host name."""

    def __init__(self, address: str, port: int, server_name: str, **kwargs) -> None:
        super().__init__(address, port, context=_tls_context(), **kwargs)
        self.server_name = server_name

    def connect(self) -> None:
        http.client.HTTPConnection.connect(self)
        self.sock = self._context.wrap_socket(self.sock, server_hostname=self.server_name)


# Kept-alive connections per thread, keyed by (scheme, checked address, port, host name).
_local = threading.local()


def _connections() -> dict:
    try:
        return _local.pool
    except AttributeError:
        _local.pool = {}
        return _local.pool


def _after_fork_in_child() -> None:
    """django-q2 forks its workers: a child must not reuse its parent's sockets, and it
    inherits none of its threads. (Checking os.getpid() on every send instead costs a
    system call each time.)"""
    global _local
    _local = threading.local()
    _watchdog.reset()


os.register_at_fork(after_in_child=_after_fork_in_child)


def _dropped(conn: http.client.HTTPConnection) -> bool:
    """A kept-alive socket the receiver closed (or wrote to unasked) while idle."""
    if conn.sock is None:
        return True
    try:
        readable, _, _ = select.select([conn.sock], [], [], 0)
    except (OSError, ValueError):
        return True
    return bool(readable)


def _connection(target, address: str, connect_timeout: float) -> http.client.HTTPConnection:
    key = (target.scheme, address, target.port, target.host)
    pool = _connections()
    conn = pool.pop(key, None)
    if conn is not None and _dropped(conn):
        conn.close()
        conn = None
    if conn is None:
        if target.scheme == "https":
            conn = _PinnedHTTPSConnection(address, target.port, target.host)
        else:
            conn = http.client.HTTPConnection(address, target.port)
        conn.timeout = connect_timeout
        try:
            conn.connect()
        except BaseException:
            conn.close()  # a TLS failure leaves the TCP socket open
            raise
        conn.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    conn._hookhub_key = key
    return conn


def _connect_any(target, deadline: float) -> http.client.HTTPConnection:
    """A connection to the first checked address that accepts one, in resolver order.

    A dual-stack name often resolves to an IPv6 address first; from a host without IPv6
    routes that one fails at once, and the IPv4 one works. Each try gets the connect timeout,
    all of them share the deadline; the last failure is raised when none connects."""
    failure: OSError | None = None
    for address in target.addresses:
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            break
        try:
            return _connection(
                target, address, min(float(settings.HOOKHUB_CONNECT_TIMEOUT), remaining)
            )
        except ssl.SSLError:
            raise  # the address answered: its handshake or certificate is the failure
        except OSError as exc:  # refused, unreachable, timed out: try the next address
            failure = exc
    raise failure or _DeadlineExceeded("No time was left to connect before the deadline.")


def _keep(conn: http.client.HTTPConnection) -> None:
    pool = _connections()
    old = pool.pop(conn._hookhub_key, None)
    if old is not None and old is not conn:
        old.close()
    if len(pool) >= POOL_MAX:  # forget the oldest (dicts keep insertion order)
        pool.pop(next(iter(pool))).close()
    pool[conn._hookhub_key] = conn


def _host_header(host: str, port: int, scheme: str) -> str:
    shown = f"[{host}]" if ":" in host else host
    default = 443 if scheme == "https" else 80
    return shown if port == default else f"{shown}:{port}"


def _request_target(url: str) -> str:
    parts = urlsplit(url)
    path = parts.path or "/"
    return f"{path}?{parts.query}" if parts.query else path


def _classify(exc: BaseException) -> tuple[str, str]:
    """Map a socket/TLS/HTTP failure to an error class and a short message."""
    chain = []
    seen = exc
    while seen is not None and len(chain) < 10:
        chain.append(seen)
        seen = seen.__cause__ or seen.__context__
    text = str(exc)[:MESSAGE_MAX] or exc.__class__.__name__
    for item in chain:
        if isinstance(item, ssl.SSLError | ssl.CertificateError):
            return ErrorClass.TLS, text
        if isinstance(item, ConnectionResetError | BrokenPipeError):
            return ErrorClass.CONNECTION_RESET, text
        if isinstance(item, ConnectionRefusedError):
            return ErrorClass.CONNECT, text
    for item in chain:
        if isinstance(item, _DeadlineExceeded | socket.timeout | TimeoutError):
            return ErrorClass.TIMEOUT, text or "The receiver did not answer in time."
    if isinstance(exc, http.client.RemoteDisconnected | http.client.IncompleteRead):
        return ErrorClass.CONNECTION_RESET, text
    if isinstance(exc, http.client.HTTPException):
        return ErrorClass.CONNECTION_RESET, f"Malformed answer: {text}"
    if isinstance(exc, OSError):
        return ErrorClass.CONNECT, text
    return ErrorClass.INTERNAL, text


def _read_capped(sock: socket.socket, response, deadline: float, cap: int) -> tuple[bytes, bool]:
    """Read at most `cap` bytes before `deadline`. Returns (body, truncated)."""
    chunks: list[bytes] = []
    size = 0
    while True:
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            raise _DeadlineExceeded("The receiver did not finish answering before the deadline.")
        sock.settimeout(remaining)
        chunk = response.read1(min(READ_CHUNK, cap + 1 - size))
        if not chunk:
            return b"".join(chunks), False
        chunks.append(chunk)
        size += len(chunk)
        if size > cap:
            return b"".join(chunks)[:cap], True


def _response_headers(response) -> dict:
    headers: dict[str, str] = {}
    for name, value in response.getheaders():
        headers[name] = f"{headers[name]}, {value}" if name in headers else value
    return headers


def send(method: str, url: str, headers: dict[str, str], body: bytes) -> TransportResult:
    """Send one request. Never raises for a receiver's fault; see the module docstring."""
    started_at = timezone.now()
    start = time.monotonic()
    deadline = start + float(settings.HOOKHUB_DELIVERY_DEADLINE)
    result = TransportResult(started_at=started_at, finished_at=started_at, duration_ms=0)
    conn = None
    keep = False
    watch = _Watch()
    try:
        try:
            target = check_url(url)
        except ValueError as exc:
            result.error_class, result.error_message = ErrorClass.INVALID_URL, str(exc)
            return _finish(result, start)
        conn = _connect_any(target, deadline)
        # Kept here: http.client drops conn.sock for a "Connection: close" answer while the
        # response still reads from this socket.
        sock = conn.sock
        sock.settimeout(max(0.001, deadline - time.monotonic()))
        # Socket timeouts are per read; the watchdog ends the whole exchange at the deadline,
        # however slowly the receiver drips its status line, headers or body.
        watch.sock = sock
        _watchdog.add(deadline, watch)
        conn.putrequest(method, _request_target(url), skip_host=True, skip_accept_encoding=True)
        conn.putheader("Host", _host_header(target.host, target.port, target.scheme))
        # Uncompressed, so the body cap is real.
        conn.putheader("Accept-Encoding", "identity")
        for name, value in headers.items():
            if name.lower() not in ("host", "content-length", "accept-encoding"):
                conn.putheader(name, value)
        conn.putheader("Content-Length", str(len(body)))
        conn.endheaders(body)
        response = conn.getresponse()
        result.status = response.status
        result.headers = _response_headers(response)
        content, result.truncated = _read_capped(
            sock, response, deadline, int(settings.HOOKHUB_RESPONSE_BODY_CAP)
        )
        if watch.expired:  # the watchdog's shutdown looks like a clean end of the body
            raise _DeadlineExceeded("The receiver did not finish answering before the deadline.")
        result.body = content.decode("utf-8", errors="replace")
        if result.truncated:
            result.error_message = (
                f"The answer was longer than {settings.HOOKHUB_RESPONSE_BODY_CAP} bytes; "
                "the rest was not read."
            )
        else:
            # Unread bytes would poison the next request: reuse only a fully read answer.
            keep = not response.will_close
            response.close()  # marks the exchange finished; the socket stays open
        if not (200 <= result.status < 300):
            result.error_class = ErrorClass.HTTP_STATUS
            result.error_message = f"The receiver answered {result.status}."
    except UnresolvableHost as exc:
        result.error_class, result.error_message = ErrorClass.DNS, str(exc)
    except BlockedAddress as exc:
        result.error_class, result.error_message = ErrorClass.BLOCKED_ADDRESS, exc.reason
    except Exception as exc:  # noqa: BLE001 - a receiver fault must become a result
        if watch.expired:
            result.error_class = ErrorClass.TIMEOUT
            result.error_message = "The receiver did not finish answering before the deadline."
        else:
            result.error_class, result.error_message = _classify(exc)
    finally:
        watch.done = True
        if conn is not None:
            if keep and not watch.expired:
                _keep(conn)
            else:
                conn.close()
    return _finish(result, start)


def _finish(result: TransportResult, start: float) -> TransportResult:
    result.error_message = result.error_message[:MESSAGE_MAX]
    result.finished_at = timezone.now()
    result.duration_ms = int((time.monotonic() - start) * 1000)
    return result
