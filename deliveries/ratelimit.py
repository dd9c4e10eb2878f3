"""Endpoint.rate_limit, shared by every worker process on every host.

Each endpoint has a next free send slot; reserving one moves it 1/rate_limit seconds on, so
sends to the endpoint are at least that far apart and no one-second window holds more than
rate_limit of them. A slot further away than HOOKHUB_RATE_LIMIT_HOLD is not reserved: the
dispatcher hands the delivery back to the database, due when the slot is, so a worker never
holds a backlog it cannot send (and never fails a delivery for being over the limit).

With REDIS_URL the slots live in Redis (one script call, Redis's own clock, so hosts whose
clocks differ still agree); without it in the RateSlot table (one upsert).
"""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

import redis.asyncio
from django.conf import settings
from django.db import connection

from deliveries.models import RateSlot


@dataclass(frozen=True)
class Slot:
    reserved: bool  # False: over the limit beyond the hold; nothing was reserved
    wait: float  # seconds from now until the slot (reserved) or the next free one


# KEYS[1] the endpoint's slot; ARGV interval, hold, expiry (ms). Returns {reserved, wait µs}.
_RESERVE = """
local now = redis.call('TIME')
now = tonumber(now[1]) + tonumber(now[2]) / 1000000
local slot = math.max(tonumber(redis.call('GET', KEYS[1]) or '0'), now)
local wait = slot - now
if wait > tonumber(ARGV[2]) then
  return {0, math.floor(wait * 1000000)}
end
redis.call('SET', KEYS[1], tostring(slot + tonumber(ARGV[1])), 'PX', ARGV[3])
return {1, math.floor(wait * 1000000)}
"""


class RedisSlots:
    def __init__(self, url: str) -> None:
        self._redis = redis.asyncio.Redis.from_url(url)
        self._script = self._redis.register_script(_RESERVE)

    async def reserve(self, endpoint_id: int, per_second: int) -> Slot:
        hold = float(settings.HOOKHUB_RATE_LIMIT_HOLD)
        interval = 1.0 / per_second
        expiry_ms = int((hold + interval + 1) * 1000)
        reserved, wait_us = await self._script(
            keys=[f"hookhub:rate:{endpoint_id}"], args=[interval, hold, expiry_ms]
        )
        return Slot(bool(reserved), wait_us / 1_000_000)

    async def close(self) -> None:
        await self._redis.aclose()


def _reserve_sql(vendor: str) -> str:
    table = connection.ops.quote_name(RateSlot._meta.db_table)
    greatest = "GREATEST" if vendor == "postgresql" else "MAX"
    # Params: endpoint, first slot end, now, interval, now, now, hold.
    return (
        f"INSERT INTO {table} (endpoint_id, next_at) VALUES (%s, %s) "  # noqa: S608
        f"ON CONFLICT (endpoint_id) DO UPDATE SET next_at = "
        f"{greatest}({table}.next_at, %s) + %s "
        f"WHERE {greatest}({table}.next_at, %s) - %s <= %s RETURNING next_at"
    )


def reserve_in_database(endpoint_id: int, per_second: int) -> Slot:
    """The RateSlot version of RedisSlots.reserve, for a database thread."""
    hold = float(settings.HOOKHUB_RATE_LIMIT_HOLD)
    interval = 1.0 / per_second
    now = time.time()
    with connection.cursor() as cursor:
        cursor.execute(
            _reserve_sql(connection.vendor),
            [endpoint_id, now + interval, now, interval, now, now, hold],
        )
        row = cursor.fetchone()
        if row is not None:
            return Slot(True, max(0.0, row[0] - interval - now))
        cursor.execute(
            f"SELECT next_at FROM {connection.ops.quote_name(RateSlot._meta.db_table)} "  # noqa: S608
            "WHERE endpoint_id = %s",
            [endpoint_id],
        )
        (next_at,) = cursor.fetchone()
    return Slot(False, max(0.0, next_at - now))


class DatabaseSlots:
    def __init__(self, run_in_db: Callable[..., Awaitable]) -> None:
        self._run_in_db = run_in_db

    async def reserve(self, endpoint_id: int, per_second: int) -> Slot:
        return await self._run_in_db(reserve_in_database, endpoint_id, per_second)

    async def close(self) -> None:
        return None


def slots(run_in_db: Callable[..., Awaitable]) -> RedisSlots | DatabaseSlots:
    """The shared slot store this deployment uses."""
    if settings.REDIS_URL:
        return RedisSlots(settings.REDIS_URL)
    return DatabaseSlots(run_in_db)
