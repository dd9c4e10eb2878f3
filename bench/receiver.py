"""A webhook receiver for the benchmarks: asyncio, HTTP/1.1 keep-alive, loopback only.

Run in its own process (`python -m bench.receiver`), so it gets its own interpreter (and, on
a 2-core machine, a fair share of a core) instead of competing with the code under test for
one GIL. It prints its port on the first line of stdout and ends by itself after
`--lifetime` seconds.

How it answers depends on the request path; a segment anywhere in the path picks the mode:
    (none)          200 at once
    /delay-<ms>/    200 after <ms> milliseconds (e.g. /w2/delay-100/7)
    /hang/          never answers; the request stays open until the client gives up (closes
                    the connection), or at the latest `--hang-max` seconds, then the receiver
                    closes the connection without an answer
    /hang-<ms>/     never answers; the receiver closes the connection after <ms> milliseconds
                    (a server-side cut, for clients that set no deadline of their own)
    /status-<code>/ answers <code> at once (e.g. /status-500/)
Answers on one connection go out in request order (HTTP/1.1), so a delayed or hanging request
also holds back any request pipelined behind it on that connection.

Every request that carries a message id is counted and logged. The id is the `webhook-id`
header (Standard Webhooks, HookHub) or, for senders without one, the first
`bench-key:<id>` marker in the body. A log entry is
    [id, t_read, t_answered or null, status or null, path]
with `time.time()` when the request was fully read and when its answer was written (null
while it is open, or if it was never answered). The receiver also counts requests open at
once (read, not yet answered): in all, per path (one path = one endpoint in the benchmarks)
and per mode. Control paths, never counted:
    GET /_stats  -> {"count", "answered", "open", "max_open", "max_open_path", "by_mode",
                     "open_by_mode", "max_open_by_mode", "by_status"}
    GET /_log    -> {"log": [entry, ...]}
    POST /_reset -> clears the counters and the log; the maxima restart from what is open now
The stock `http.server` is not used: it stalls on Nagle/delayed ACK (~180 req/s).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import re
import signal
import socket
import sys
import time
from collections import deque
from http import HTTPStatus

OK = b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\nContent-Type: text/plain\r\n\r\nok"
MAX_HEAD = 64 * 1024
MAX_BODY = 8 * 1024 * 1024
MODE_RE = re.compile(r"/(delay|hang|status)(?:-(\d{1,7}))?(?=/|$)")
KEY_RE = re.compile(rb"bench-key:([A-Za-z0-9_.-]{1,80})")
CONTROL = {"/_stats", "/_log", "/_reset"}
MAX_MODE_CACHE = 100_000


def _status_response(code: int) -> bytes:
    try:
        reason = HTTPStatus(code).phrase
    except ValueError:
        reason = "Status"
    body = reason.encode()
    return (
        f"HTTP/1.1 {code} {reason}\r\nContent-Length: {len(body)}\r\n"
        "Content-Type: text/plain\r\n\r\n"
    ).encode() + body


def _json_response(payload: dict) -> bytes:
    body = json.dumps(payload).encode()
    head = f"HTTP/1.1 200 OK\r\nContent-Length: {len(body)}\r\nContent-Type: application/json\r\n"
    return head.encode() + b"\r\n" + body


class State:
    def __init__(self, hang_max: float) -> None:
        self.hang_max = hang_max
        self.modes: dict[str, tuple[str, int | None]] = {}
        self.open = 0
        self.open_by_path: dict[str, int] = {}
        self.open_by_mode: dict[str, int] = {"ok": 0, "delay": 0, "hang": 0, "status": 0}
        self.reset()

    def reset(self) -> None:
        self.count = 0
        self.answered = 0
        self.log: list[list] = []
        self.by_mode: dict[str, int] = {}
        self.by_status: dict[str, int] = {}
        self.max_open = self.open
        self.max_open_path = max(self.open_by_path.values(), default=0)
        self.max_open_by_mode = dict(self.open_by_mode)

    def mode(self, path: str) -> tuple[str, int | None]:
        found = self.modes.get(path)
        if found is None:
            match = MODE_RE.search(path)
            if match is None:
                found = ("ok", None)
            else:
                found = (match.group(1), int(match.group(2)) if match.group(2) else None)
                if found[0] == "status" and not (100 <= (found[1] or 0) <= 599):
                    found = ("status", 500)
            if len(self.modes) < MAX_MODE_CACHE:
                self.modes[path] = found
        return found

    def opened(self, path: str, mode: str) -> None:
        self.open += 1
        self.open_by_mode[mode] += 1
        if self.open_by_mode[mode] > self.max_open_by_mode[mode]:
            self.max_open_by_mode[mode] = self.open_by_mode[mode]
        per_path = self.open_by_path.get(path, 0) + 1
        self.open_by_path[path] = per_path
        self.max_open = max(self.max_open, self.open)
        self.max_open_path = max(self.max_open_path, per_path)

    def closed(self, path: str, mode: str) -> None:
        self.open -= 1
        self.open_by_mode[mode] -= 1
        left = self.open_by_path.get(path, 1) - 1
        if left:
            self.open_by_path[path] = left
        else:
            self.open_by_path.pop(path, None)

    def stats(self) -> dict:
        return {
            "count": self.count,
            "answered": self.answered,
            "open": self.open,
            "max_open": self.max_open,
            "max_open_path": self.max_open_path,
            "by_mode": self.by_mode,
            "open_by_mode": self.open_by_mode,
            "max_open_by_mode": self.max_open_by_mode,
            "by_status": self.by_status,
        }


class Pending:
    """One request on a connection, waiting for its turn to be answered."""

    __slots__ = ("data", "ready", "entry", "path", "mode", "status", "timer", "counted")

    def __init__(self, data: bytes | None, path: str, mode: str, status: int | None) -> None:
        self.data = data
        self.ready = data is not None
        self.entry: list | None = None
        self.path = path
        self.mode = mode
        self.status = status
        self.timer: asyncio.TimerHandle | None = None
        self.counted = False


class ReceiverProtocol(asyncio.Protocol):
    def __init__(self, state: State) -> None:
        self.state = state
        self.buffer = bytearray()
        self.transport: asyncio.Transport | None = None
        self.queue: deque[Pending] = deque()

    def connection_made(self, transport) -> None:
        self.transport = transport
        sock = transport.get_extra_info("socket")
        if sock is not None:
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

    def connection_lost(self, exc) -> None:
        # The client gave up (or we cut it): whatever was still open ends unanswered.
        while self.queue:
            pending = self.queue.popleft()
            if pending.timer is not None:
                pending.timer.cancel()
            if pending.counted:
                self.state.closed(pending.path, pending.mode)
        self.transport = None

    def data_received(self, data: bytes) -> None:
        self.buffer += data
        while True:
            end = self.buffer.find(b"\r\n\r\n")
            if end < 0:
                if len(self.buffer) > MAX_HEAD:
                    self.transport.close()
                break
            head = bytes(self.buffer[:end]).decode("latin-1")
            lines = head.split("\r\n")
            request_line = lines[0].split(" ")
            headers = {}
            for line in lines[1:]:
                name, _, value = line.partition(":")
                headers[name.strip().lower()] = value.strip()
            try:
                length = int(headers.get("content-length") or 0)
            except ValueError:
                length = MAX_BODY + 1
            if length > MAX_BODY or length < 0:
                self.transport.close()
                return
            total = end + 4 + length
            if len(self.buffer) < total:
                break
            body = bytes(self.buffer[end + 4 : total])
            del self.buffer[:total]
            self.queue.append(self._request(request_line, headers, body))
        self._flush()

    def _request(self, request_line: list[str], headers: dict, body: bytes) -> Pending:
        path = (request_line[1] if len(request_line) > 1 else "/").split("?", 1)[0]
        state = self.state
        if path in CONTROL:
            if path == "/_stats":
                return Pending(_json_response(state.stats()), path, "ok", 200)
            if path == "/_log":
                return Pending(_json_response({"log": state.log}), path, "ok", 200)
            state.reset()
            return Pending(_json_response({"count": 0}), path, "ok", 200)
        mode, arg = state.mode(path)
        if mode == "ok":
            pending = Pending(OK, path, mode, 200)
        elif mode == "status":
            pending = Pending(_status_response(arg or 500), path, mode, arg or 500)
        else:
            pending = Pending(None, path, mode, 200 if mode == "delay" else None)
        state.count += 1
        state.by_mode[mode] = state.by_mode.get(mode, 0) + 1
        state.opened(path, mode)
        pending.counted = True
        msg_id = headers.get("webhook-id")
        if not msg_id:
            found = KEY_RE.search(body)
            msg_id = found.group(1).decode() if found else None
        if msg_id:
            pending.entry = [msg_id, time.time(), None, None, path]
            state.log.append(pending.entry)
        loop = asyncio.get_running_loop()
        if mode == "delay":
            pending.timer = loop.call_later((arg or 0) / 1000, self._release, pending)
        elif mode == "hang":
            wait = arg / 1000 if arg is not None else state.hang_max
            pending.timer = loop.call_later(min(wait, state.hang_max), self._cut)
        return pending

    def _release(self, pending: Pending) -> None:
        pending.timer = None
        pending.data = OK
        pending.ready = True
        self._flush()

    def _cut(self) -> None:
        if self.transport is not None:
            self.transport.close()

    def _flush(self) -> None:
        if self.transport is None or self.transport.is_closing():
            return
        out = []
        now = None
        while self.queue and self.queue[0].ready:
            pending = self.queue.popleft()
            out.append(pending.data)
            if pending.counted:
                now = now or time.time()
                self.state.closed(pending.path, pending.mode)
                self.state.answered += 1
                key = str(pending.status)
                self.state.by_status[key] = self.state.by_status.get(key, 0) + 1
                if pending.entry is not None:
                    pending.entry[2] = now
                    pending.entry[3] = pending.status
        if out:
            self.transport.write(b"".join(out))


async def serve(port: int, lifetime: float, hang_max: float) -> None:
    loop = asyncio.get_running_loop()
    state = State(hang_max)
    server = await loop.create_server(
        lambda: ReceiverProtocol(state), "127.0.0.1", port, backlog=4096, reuse_address=True
    )
    print(server.sockets[0].getsockname()[1], flush=True)
    stop = asyncio.Event()
    for signum in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signum, stop.set)
    # Bounded: the receiver ends by itself even if its parent forgets it.
    try:
        await asyncio.wait_for(stop.wait(), timeout=lifetime)
    except TimeoutError:
        pass
    server.close()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--lifetime", type=float, default=3600.0, help="seconds before exit")
    parser.add_argument(
        "--hang-max", type=float, default=300.0, help="longest a /hang/ request stays open (s)"
    )
    args = parser.parse_args(argv)
    asyncio.run(serve(args.port, args.lifetime, args.hang_max))
    return 0


if __name__ == "__main__":
    sys.exit(main())
