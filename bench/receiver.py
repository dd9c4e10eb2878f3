"""A fast webhook receiver for the benchmarks: asyncio, HTTP/1.1 keep-alive, answers at once.

Run in its own process (`python -m bench.receiver`), so it gets its own interpreter (and, on
a 2-core machine, a fair share of a core) instead of competing with the code under test for
one GIL. It prints its port on the first line of stdout.

Every request with a `webhook-id` header is counted and logged as (webhook-id, time.time()
when the request was fully read, i.e. just before the 2xx goes out). Control paths, never
counted:
    GET /_stats  -> {"count": n}
    GET /_log    -> {"log": [[webhook_id, t], ...]}
    POST /_reset -> clears the count and log
The stock `http.server` is not used: it stalls on Nagle/delayed ACK (~180 req/s).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import signal
import socket
import sys
import time

OK = b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\nContent-Type: text/plain\r\n\r\nok"
MAX_HEAD = 64 * 1024
MAX_BODY = 8 * 1024 * 1024


class State:
    def __init__(self) -> None:
        self.count = 0
        self.log: list[tuple[str, float]] = []


def _json_response(payload: dict) -> bytes:
    body = json.dumps(payload).encode()
    head = f"HTTP/1.1 200 OK\r\nContent-Length: {len(body)}\r\nContent-Type: application/json\r\n"
    return head.encode() + b"\r\n" + body


class ReceiverProtocol(asyncio.Protocol):
    def __init__(self, state: State) -> None:
        self.state = state
        self.buffer = bytearray()
        self.transport: asyncio.Transport | None = None

    def connection_made(self, transport) -> None:
        self.transport = transport
        sock = transport.get_extra_info("socket")
        if sock is not None:
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

    def data_received(self, data: bytes) -> None:
        self.buffer += data
        out = []
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
            length = int(headers.get("content-length") or 0)
            if length > MAX_BODY:
                self.transport.close()
                return
            total = end + 4 + length
            if len(self.buffer) < total:
                break
            del self.buffer[:total]
            out.append(self._answer(request_line, headers))
        if out:
            self.transport.write(b"".join(out))

    def _answer(self, request_line: list[str], headers: dict) -> bytes:
        path = request_line[1] if len(request_line) > 1 else "/"
        if path == "/_stats":
            return _json_response({"count": self.state.count})
        if path == "/_log":
            return _json_response({"log": self.state.log})
        if path == "/_reset":
            self.state.count = 0
            self.state.log = []
            return _json_response({"count": 0})
        msg_id = headers.get("webhook-id")
        if msg_id:
            self.state.count += 1
            self.state.log.append((msg_id, time.time()))
        return OK


async def serve(port: int, lifetime: float) -> None:
    loop = asyncio.get_running_loop()
    state = State()
    server = await loop.create_server(
        lambda: ReceiverProtocol(state), "127.0.0.1", port, backlog=1024, reuse_address=True
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
    args = parser.parse_args(argv)
    asyncio.run(serve(args.port, args.lifetime))
    return 0


if __name__ == "__main__":
    sys.exit(main())
