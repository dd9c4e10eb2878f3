"""The client baselines the workloads are compared with, measured right before each figure.

- serial: one kept-alive `requests.Session`, one signed POST after another
  (bench.common.raw_rate): what a plain loop in one thread gets;
- the concurrency limit: one aiohttp session keeping `in_flight` (500) signed POSTs in flight
  to the same receiver, on connections opened before the clock starts: about what any
  asyncio client in one process can get from this receiver on this machine, so a delivery
  engine's figure is read against it.

Both sign each ~1 KB body like HookHub (Standard Webhooks HMAC-SHA256 headers), in the clock.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import hmac
import json
import time

from bench import common

IN_FLIGHT = 500


def _signed(i: int) -> tuple[bytes, dict[str, str]]:
    body = json.dumps(
        {"type": "bench", "timestamp": "2026-11-28T10:00:00Z", "data": common.payload(i)},
        separators=(",", ":"),
    ).encode()
    msg_id = f"msg_conc{i}"
    stamp = str(int(time.time()))
    digest = hmac.new(
        common.RAW_SECRET, f"{msg_id}.{stamp}.".encode() + body, hashlib.sha256
    ).digest()
    return body, {
        "content-type": "application/json",
        "webhook-id": msg_id,
        "webhook-timestamp": stamp,
        "webhook-signature": "v1," + base64.b64encode(digest).decode(),
    }


async def _concurrent(urls: list[str], n: int, in_flight: int, warm_url: str) -> float:
    import aiohttp

    connector = aiohttp.TCPConnector(limit=in_flight, limit_per_host=0)
    timeout = aiohttp.ClientTimeout(total=30, connect=3)
    async with aiohttp.ClientSession(connector=connector, timeout=timeout) as session:
        gate = asyncio.Semaphore(in_flight)

        async def post(url: str, i: int) -> None:
            async with gate:
                body, headers = _signed(i)
                async with session.post(url, data=body, headers=headers) as response:
                    await response.read()
                    if response.status != 200:
                        raise RuntimeError(f"The receiver answered {response.status}")

        # Open every connection outside the clock (an instant path on the same host:port,
        # so the pool is shared), as a warmed-up worker would have them.
        await asyncio.gather(*(post(warm_url, -1 - i) for i in range(in_flight)))
        start = time.perf_counter()
        await asyncio.gather(*(post(urls[i % len(urls)], i) for i in range(n)))
        return n / (time.perf_counter() - start)


def concurrency_limit(
    urls: list[str], n: int, warm_url: str, in_flight: int = IN_FLIGHT, timeout: float = 120
) -> float:
    """Requests per second with `in_flight` signed POSTs in flight (aiohttp, one process)."""

    async def bounded() -> float:
        return await asyncio.wait_for(_concurrent(urls, n, in_flight, warm_url), timeout)

    return asyncio.run(bounded())


def serial(url: str, n: int) -> float:
    """Serial signed POSTs over one kept-alive requests.Session (bench.common.raw_rate)."""
    return common.raw_rate(url, n)
