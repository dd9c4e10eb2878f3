"""The only module that makes outbound HTTP. It sends one request and reports what happened.

`Client.send()` never raises for anything a receiver (or its network) does: refused address,
DNS, connect, TLS, timeout, reset, oversized answer all come back as a `TransportResult` with
an error class, so every try is stored as an Attempt.

It is asyncio (aiohttp), so one worker process keeps hundreds of requests in flight
(deliveries.dispatcher) and a receiver that hangs holds one coroutine, not a thread.
Guarantees, each a setting read at call time:
- The address guard (subscriptions.addresses) resolves the host once and refuses the whole
  name if any address is refused; the connection goes to the checked addresses (a resolver
  that hands aiohttp exactly those, so DNS rebinding gains nothing), tried in resolver order,
  while the Host header, TLS SNI and the certificate check keep the host name.
- HOOKHUB_CONNECT_TIMEOUT bounds each TCP connect; HOOKHUB_DELIVERY_DEADLINE bounds the whole
  exchange by the wall clock (`asyncio.timeout` around it), so a receiver dripping a byte a
  second, in its headers or its body, is cut off there.
- HOOKHUB_RESPONSE_BODY_CAP bytes of the answer are kept; reading stops there, and the
  connection is then dropped rather than drained. Content is requested uncompressed and never
  decompressed, so the cap is real.
- Redirects are never followed (a 3xx is a failed attempt, and could point anywhere).
- Connections are kept alive per host (aiohttp's pool); one whose answer was not read to the
  end is closed, never reused.
"""

from __future__ import annotations

import asyncio
import contextvars
import ipaddress
import socket
import ssl
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import datetime

import aiohttp
from aiohttp.abc import AbstractResolver
from django.conf import settings
from django.utils import timezone
from yarl import URL

from deliveries.models import Attempt
from subscriptions.addresses import (
    BlockedAddress,
    Target,
    UnresolvableHost,
    check_url,
    split_url,
)

ErrorClass = Attempt.ErrorClass
MESSAGE_MAX = 500
READ_CHUNK = 64 * 1024
# aiohttp adds these unless told not to; HookHub sends its own or none.
SKIP_AUTO_HEADERS = ("User-Agent", "Accept", "Accept-Encoding", "Content-Type")
DEADLINE_MESSAGE = "The receiver did not finish answering before the deadline."


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


# The addresses the guard checked for the request being sent (a task's own context).
_checked_addresses: contextvars.ContextVar[tuple[str, ...]] = contextvars.ContextVar(
    "hookhub_checked_addresses"
)


class _CheckedResolver(AbstractResolver):
    """Answers aiohttp's lookup with the addresses the guard already judged, so the socket
    goes to a checked address and never to a second DNS answer."""

    async def resolve(self, host: str, port: int = 0, family: int = socket.AF_INET) -> list:
        return [
            {
                "hostname": host,
                "host": address,
                "port": port,
                "family": socket.AF_INET6 if ":" in address else socket.AF_INET,
                "proto": 0,
                "flags": socket.AI_NUMERICHOST,
            }
            for address in _checked_addresses.get(())
        ]

    async def close(self) -> None:
        return None


def _is_ip_literal(host: str) -> bool:
    try:
        ipaddress.ip_address(host)
    except ValueError:
        return False
    return True


async def _checked_target(url: str) -> Target:
    """check_url, off the event loop when it needs DNS (a lookup blocks for its duration)."""
    _scheme, host, _port = split_url(url)
    if _is_ip_literal(host):
        return check_url(url)
    return await asyncio.to_thread(check_url, url)


def _connectable(url: str, target: Target) -> tuple[str | URL, str | None]:
    """aiohttp refuses the legacy all-digit spellings of IPv4 (2130706433, 0177.0.0.1, 127.1)
    that the guard has already resolved and judged: send those to the address they name,
    with the Host header the receiver was registered with."""
    host = target.host
    if _is_ip_literal(host) or not host.replace(".", "").isdigit():
        return url, None
    default = 443 if target.scheme == "https" else 80
    shown = host if target.port == default else f"{host}:{target.port}"
    return URL(url).with_host(target.addresses[0]), shown


class Client:
    """One aiohttp session (and its pool of kept-alive connections) for one event loop."""

    def __init__(self) -> None:
        self._session: aiohttp.ClientSession | None = None

    def _open(self) -> aiohttp.ClientSession:
        if self._session is None:
            connector = aiohttp.TCPConnector(
                limit=0,  # the dispatcher caps concurrency itself, per process and endpoint
                use_dns_cache=False,  # every new connection asks _CheckedResolver
                resolver=_CheckedResolver(),
                ssl=ssl.create_default_context(),
            )
            self._session = aiohttp.ClientSession(
                connector=connector,
                auto_decompress=False,
                cookie_jar=aiohttp.DummyCookieJar(),
                timeout=aiohttp.ClientTimeout(total=None),
            )
        return self._session

    async def close(self) -> None:
        if self._session is not None:
            await self._session.close()
            self._session = None

    async def __aenter__(self) -> Client:
        return self

    async def __aexit__(self, *exc) -> None:
        await self.close()

    async def send(
        self, method: str, url: str, headers: dict[str, str], body: bytes
    ) -> TransportResult:
        """Send one request. Never raises for a receiver's fault; see the module docstring."""
        started_at = timezone.now()
        start = time.monotonic()
        result = TransportResult(started_at=started_at, finished_at=started_at, duration_ms=0)
        try:
            async with asyncio.timeout(float(settings.HOOKHUB_DELIVERY_DEADLINE)):
                target = await _checked_target(url)
                _checked_addresses.set(target.addresses)
                await self._exchange(result, method, target, url, headers, body)
        except ValueError as exc:
            result.error_class, result.error_message = ErrorClass.INVALID_URL, str(exc)
        except UnresolvableHost as exc:
            result.error_class, result.error_message = ErrorClass.DNS, str(exc)
        except BlockedAddress as exc:
            result.error_class, result.error_message = ErrorClass.BLOCKED_ADDRESS, exc.reason
        except TimeoutError:
            result.error_class, result.error_message = ErrorClass.TIMEOUT, DEADLINE_MESSAGE
        except Exception as exc:  # noqa: BLE001 - a receiver fault must become a result
            result.error_class, result.error_message = _classify(exc)
        return _finish(result, start)

    async def _exchange(self, result, method, target, url, headers, body) -> None:
        outgoing = {
            name: value
            for name, value in headers.items()
            if name.lower() not in ("host", "content-length", "accept-encoding")
        }
        url, host_header = _connectable(url, target)
        if host_header:
            outgoing["Host"] = host_header
        outgoing["Accept-Encoding"] = "identity"  # uncompressed, so the body cap is real
        cap = int(settings.HOOKHUB_RESPONSE_BODY_CAP)
        timeout = aiohttp.ClientTimeout(
            total=None, sock_connect=float(settings.HOOKHUB_CONNECT_TIMEOUT)
        )
        async with self._open().request(
            method,
            url,
            data=body,
            headers=outgoing,
            allow_redirects=False,
            skip_auto_headers=SKIP_AUTO_HEADERS,
            timeout=timeout,
        ) as response:
            result.status = response.status
            result.headers = _joined_headers(response)
            content, result.truncated = await _read_capped(response.content, cap)
            if result.truncated:
                response.close()  # unread bytes would poison the next request on it
        result.body = content.decode("utf-8", errors="replace")
        if result.truncated:
            result.error_message = f"The answer was longer than {cap} bytes; the rest was not read."
        if not (200 <= result.status < 300):
            result.error_class = ErrorClass.HTTP_STATUS
            result.error_message = f"The receiver answered {result.status}."


async def _read_capped(stream: aiohttp.StreamReader, cap: int) -> tuple[bytes, bool]:
    """Read at most `cap` bytes. Returns (body, truncated)."""
    chunks: list[bytes] = []
    size = 0
    while size <= cap:
        chunk = await stream.read(min(READ_CHUNK, cap + 1 - size))
        if not chunk:
            return b"".join(chunks), False
        chunks.append(chunk)
        size += len(chunk)
    return b"".join(chunks)[:cap], True


def _joined_headers(response: aiohttp.ClientResponse) -> dict:
    headers: dict[str, str] = {}
    for name, value in response.raw_headers:
        key, text = name.decode("latin-1"), value.decode("latin-1")
        headers[key] = f"{headers[key]}, {text}" if key in headers else text
    return headers


def _chain(exc: BaseException) -> list[BaseException]:
    chain, seen = [], exc
    while seen is not None and len(chain) < 10:
        chain.append(seen)
        seen = seen.__cause__ or seen.__context__
    return chain


def _classify(exc: BaseException) -> tuple[str, str]:
    """Map a socket/TLS/HTTP failure to an error class and a short message."""
    text = str(exc)[:MESSAGE_MAX] or exc.__class__.__name__
    chain = _chain(exc)
    for item in chain:
        if isinstance(
            item,
            aiohttp.ClientConnectorCertificateError
            | aiohttp.ClientSSLError
            | ssl.SSLError
            | ssl.CertificateError,
        ):
            return ErrorClass.TLS, text
    for item in chain:
        if isinstance(item, TimeoutError):
            return ErrorClass.TIMEOUT, text or "The receiver did not answer in time."
        if isinstance(item, ConnectionResetError | BrokenPipeError):
            return ErrorClass.CONNECTION_RESET, text
        if isinstance(item, ConnectionRefusedError):
            return ErrorClass.CONNECT, text
    if isinstance(exc, aiohttp.ClientConnectorError):
        return ErrorClass.CONNECT, text
    if isinstance(exc, aiohttp.ServerDisconnectedError | aiohttp.ClientPayloadError):
        return ErrorClass.CONNECTION_RESET, text
    if isinstance(exc, aiohttp.ClientResponseError):
        return ErrorClass.CONNECTION_RESET, f"Malformed answer: {text}"
    if isinstance(exc, OSError):
        return ErrorClass.CONNECT, text
    return ErrorClass.INTERNAL, text


def _finish(result: TransportResult, start: float) -> TransportResult:
    result.error_message = result.error_message[:MESSAGE_MAX]
    result.finished_at = timezone.now()
    result.duration_ms = int((time.monotonic() - start) * 1000)
    return result


async def send_many(requests: list[tuple[str, str, dict, bytes]]) -> list[TransportResult]:
    """Send these requests concurrently on a fresh client; results in the same order."""
    async with Client() as client:
        return await asyncio.gather(*(client.send(*request) for request in requests))


def send_batch(requests: list[tuple[str, str, dict, bytes]]) -> list[TransportResult]:
    """send_many from synchronous code (django-q2's sync mode, the shell)."""
    if not requests:
        return []
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return asyncio.run(send_many(requests))
    # Synchronous code running inside an event loop (playwright's sync API does that):
    # asyncio.run refuses to nest, so the requests get a loop on a thread of their own.
    with ThreadPoolExecutor(1, thread_name_prefix="hookhub-send") as pool:
        return pool.submit(asyncio.run, send_many(requests)).result()


def send(method: str, url: str, headers: dict[str, str], body: bytes) -> TransportResult:
    """One request from synchronous code."""
    return send_batch([(method, url, headers, body)])[0]
