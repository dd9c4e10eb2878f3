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
  or its body, is cut off there (requests' own read timeout is per read, not in total).
- HOOKHUB_RESPONSE_BODY_CAP bytes of the answer are kept; reading stops there, so a 50 MB
  answer costs no more than the cap. Content is requested uncompressed, so the cap is real.
- Redirects are never followed (a 3xx is a failed attempt, and could point anywhere).

Why not `requests-hardened`: it checks only the first resolved address, has no CIDR
allowlist (tests and private deployments need one), no total deadline and no body cap, so
HookHub would still need all of this around it.
"""

from __future__ import annotations

import heapq
import http.cookiejar
import itertools
import os
import socket
import ssl
import threading
import time
from dataclasses import dataclass, field
from datetime import datetime

import requests
import urllib3.exceptions
from django.conf import settings
from django.utils import timezone
from requests.adapters import HTTPAdapter
from urllib3.connection import HTTPConnection, HTTPSConnection
from urllib3.connectionpool import HTTPConnectionPool, HTTPSConnectionPool

from deliveries.models import Attempt
from subscriptions.addresses import BlockedAddress, UnresolvableHost, check_url

ErrorClass = Attempt.ErrorClass
READ_CHUNK = 64 * 1024
MESSAGE_MAX = 500


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

    A heap with lazy cancellation instead of a Timer thread per request: at a thousand
    requests a second, starting threads would cost more than the requests."""

    def __init__(self) -> None:
        self._cond = threading.Condition()
        self._heap: list[tuple[float, int, _Watch]] = []
        self._order = itertools.count()
        self._pid: int | None = None

    def add(self, deadline: float, watch: _Watch) -> None:
        with self._cond:
            if self._pid != os.getpid():  # a forked worker inherits no running thread
                self._pid, self._heap = os.getpid(), []
                threading.Thread(target=self._run, name="hookhub-deadline", daemon=True).start()
            heapq.heappush(self._heap, (deadline, next(self._order), watch))
            if self._heap[0][2] is watch:
                self._cond.notify()

    def _run(self) -> None:
        while True:
            with self._cond:
                while not self._heap:
                    self._cond.wait()
                deadline, _, watch = self._heap[0]
                wait = deadline - time.monotonic()
                if wait > 0:
                    self._cond.wait(wait)
                    continue
                heapq.heappop(self._heap)
            if not watch.done:
                watch.fire()


_watchdog = _Watchdog()


class _WatchedConnectionMixin:
    def getresponse(self, *args, **kwargs):
        # The request is on the wire and the socket exists: hand it to this thread's watch.
        watch = getattr(_local, "watch", None)
        if watch is not None:
            watch.sock = self.sock
            if watch.expired:
                watch.fire()
        return super().getresponse(*args, **kwargs)


class _WatchedHTTPConnection(_WatchedConnectionMixin, HTTPConnection):
    pass


class _WatchedHTTPSConnection(_WatchedConnectionMixin, HTTPSConnection):
    pass


class _WatchedHTTPConnectionPool(HTTPConnectionPool):
    ConnectionCls = _WatchedHTTPConnection


class _WatchedHTTPSConnectionPool(HTTPSConnectionPool):
    ConnectionCls = _WatchedHTTPSConnection


class PinnedAddressAdapter(HTTPAdapter):
    """Connects to the address the guard checked instead of resolving the host again.

    The pool is keyed by that address plus the host name, so keep-alive connections are
    reused per host; TLS still sends SNI for, and verifies the certificate against, the name.
    """

    def init_poolmanager(self, *args, **kwargs) -> None:
        super().init_poolmanager(*args, **kwargs)
        self.poolmanager.pool_classes_by_scheme = {
            "http": _WatchedHTTPConnectionPool,
            "https": _WatchedHTTPSConnectionPool,
        }

    def build_connection_pool_key_attributes(self, request, verify, cert=None):
        host_params, pool_kwargs = super().build_connection_pool_key_attributes(
            request, verify, cert
        )
        pinned = getattr(request, "hookhub_address", None)
        if pinned is None:
            # Nothing but send() below builds requests for this session; refuse to guess.
            raise BlockedAddress(host_params["host"], "?", "an address the guard never checked")
        if host_params["scheme"] == "https":
            pool_kwargs["server_hostname"] = host_params["host"]
            pool_kwargs["assert_hostname"] = host_params["host"]
        host_params["host"] = pinned
        return host_params, pool_kwargs


class _RejectAllCookies(http.cookiejar.DefaultCookiePolicy):
    def set_ok(self, cookie, request) -> bool:  # receivers must not influence each other
        return False


_local = threading.local()


def _session() -> requests.Session:
    """One kept-alive session per process and thread (django-q2 forks its workers, so a
    session made before the fork must not be shared)."""
    session = getattr(_local, "session", None)
    if session is None or getattr(_local, "pid", None) != os.getpid():
        session = requests.Session()
        session.trust_env = False  # no proxies or .netrc from the environment
        session.cookies.set_policy(_RejectAllCookies())
        session.headers.clear()
        adapter = PinnedAddressAdapter(pool_connections=64, pool_maxsize=4, max_retries=0)
        session.mount("http://", adapter)
        session.mount("https://", adapter)
        _local.session, _local.pid = session, os.getpid()
    return session


def _host_header(host: str, port: int, scheme: str) -> str:
    shown = f"[{host}]" if ":" in host else host
    default = 443 if scheme == "https" else 80
    return shown if port == default else f"{shown}:{port}"


def _classify(exc: BaseException) -> tuple[str, str]:
    """Map a requests/urllib3/socket failure to an error class and a short message."""
    chain = []
    seen = exc
    while seen is not None and len(chain) < 10:
        chain.append(seen)
        seen = (
            seen.__cause__
            or seen.__context__
            or (seen.args[0] if seen.args and isinstance(seen.args[0], BaseException) else None)
        )
    text = str(exc)[:MESSAGE_MAX]
    # Specific causes first: urllib3's NewConnectionError subclasses its connect-timeout error.
    for item in chain:
        if isinstance(item, requests.exceptions.SSLError | ssl.SSLError):
            return ErrorClass.TLS, text
        if isinstance(item, ConnectionResetError | BrokenPipeError):
            return ErrorClass.CONNECTION_RESET, text
        if isinstance(item, ConnectionRefusedError | urllib3.exceptions.NewConnectionError):
            return ErrorClass.CONNECT, text
    for item in chain:
        if isinstance(
            item,
            _DeadlineExceeded
            | requests.exceptions.Timeout
            | socket.timeout
            | urllib3.exceptions.TimeoutError,
        ):
            return ErrorClass.TIMEOUT, text or "The receiver did not answer in time."
    if "reset" in text.lower() or "RemoteDisconnected" in text or "aborted" in text.lower():
        return ErrorClass.CONNECTION_RESET, text
    if isinstance(exc, requests.exceptions.ConnectionError):
        return ErrorClass.CONNECT, text
    return ErrorClass.INTERNAL, text


def _socket_of(response: requests.Response):
    connection = getattr(response.raw, "connection", None) or getattr(
        response.raw, "_connection", None
    )
    return getattr(connection, "sock", None)


def _read_capped(response: requests.Response, deadline: float, cap: int) -> tuple[bytes, bool]:
    """Read at most `cap` bytes before `deadline`. Returns (body, truncated)."""
    raw = response.raw
    sock = _socket_of(response)
    chunks: list[bytes] = []
    size = 0
    while True:
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            raise _DeadlineExceeded("The receiver did not finish answering before the deadline.")
        if sock is not None:
            sock.settimeout(remaining)
        chunk = raw.read1(min(READ_CHUNK, cap + 1 - size), decode_content=False)
        if not chunk:
            return b"".join(chunks), False
        chunks.append(chunk)
        size += len(chunk)
        if size > cap:
            return b"".join(chunks)[:cap], True


def send(method: str, url: str, headers: dict[str, str], body: bytes) -> TransportResult:
    """Send one request. Never raises for a receiver's fault; see the module docstring."""
    started_at = timezone.now()
    start = time.monotonic()
    deadline = start + float(settings.HOOKHUB_DELIVERY_DEADLINE)
    result = TransportResult(started_at=started_at, finished_at=started_at, duration_ms=0)
    response = None
    watch = _Watch()
    try:
        try:
            target = check_url(url)
        except ValueError as exc:
            result.error_class, result.error_message = ErrorClass.INVALID_URL, str(exc)
            return _finish(result, start)
        session = _session()
        prepared = session.prepare_request(
            requests.Request(method, url, headers=dict(headers), data=body)
        )
        prepared.headers["Host"] = _host_header(target.host, target.port, target.scheme)
        prepared.headers["Accept-Encoding"] = "identity"
        prepared.hookhub_address = target.addresses[0]
        remaining = max(0.001, deadline - time.monotonic())
        connect_timeout = min(float(settings.HOOKHUB_CONNECT_TIMEOUT), remaining)
        _local.watch = watch
        _watchdog.add(deadline, watch)
        response = session.send(
            prepared,
            allow_redirects=False,
            stream=True,
            timeout=(connect_timeout, remaining),
            verify=True,
        )
        result.status = response.status_code
        result.headers = dict(response.headers)
        content, result.truncated = _read_capped(
            response, deadline, int(settings.HOOKHUB_RESPONSE_BODY_CAP)
        )
        result.body = content.decode("utf-8", errors="replace")
        if result.truncated:
            result.error_message = (
                f"The answer was longer than {settings.HOOKHUB_RESPONSE_BODY_CAP} bytes; "
                "the rest was not read."
            )
            response.close()  # unread bytes remain: this connection can't be reused
        else:
            response.raw.release_conn()
        response = None
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
        _local.watch = None
        if response is not None:
            response.close()
    return _finish(result, start)


def _finish(result: TransportResult, start: float) -> TransportResult:
    result.error_message = result.error_message[:MESSAGE_MAX]
    result.finished_at = timezone.now()
    result.duration_ms = int((time.monotonic() - start) * 1000)
    return result
