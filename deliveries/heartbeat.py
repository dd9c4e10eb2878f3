"""Sweep heartbeats: each worker process records when it last swept, one row per process.

The dispatcher calls `beat()` after every sweep, whichever command started its cluster
(`run_worker` or `qcluster`). The staff overview calls `newest()` and `is_stale()` to warn
when no sweep has run for HOOKHUB_SWEEP_STALE_AFTER seconds: with no worker, nothing retries,
rescues stuck deliveries or rolls up the hourly counts, and nothing else would say so.
"""

from __future__ import annotations

import os
import socket
from datetime import datetime, timedelta

from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils import timezone

from deliveries.models import SweepHeartbeat

# A worker's pid changes on every restart, so each restart leaves a row behind; rows silent
# for this long belong to processes that are gone (retention deletes them daily).
PRUNE_AFTER = timedelta(days=1)


def worker_name() -> str:
    """This process's identity: pids are only unique per host."""
    return f"{socket.gethostname()}:{os.getpid()}"


def beat(worker: str | None = None, now: datetime | None = None) -> None:
    """Record that `worker` (this process by default) swept at `now`.

    Every beat after a process's first is one UPDATE. An upsert (INSERT ... ON CONFLICT)
    would also be one statement, but on PostgreSQL it draws a sequence value on every
    conflict, i.e. every second per worker."""
    worker = worker or worker_name()
    now = now or timezone.now()
    if SweepHeartbeat.objects.filter(worker=worker).update(swept_at=now):
        return
    try:
        # A savepoint, so a lost race doesn't abort the caller's transaction on PostgreSQL.
        with transaction.atomic():
            SweepHeartbeat.objects.create(worker=worker, swept_at=now)
    except IntegrityError:
        # Another beat under the same name created the row between our UPDATE and INSERT:
        # it recorded the same moment, give or take the race, which is all the row says.
        pass


def newest() -> SweepHeartbeat | None:
    """The most recent heartbeat of any worker (heartbeat_recent_idx serves the ORDER BY)."""
    return SweepHeartbeat.objects.order_by("-swept_at").first()


def last_sweep_at() -> datetime | None:
    row = newest()
    return row.swept_at if row else None


def is_stale(swept_at: datetime | None, now: datetime | None = None) -> bool:
    """True when `swept_at` is missing or older than HOOKHUB_SWEEP_STALE_AFTER seconds.

    Separate from `sweep_is_stale` so a page that already fetched the newest row (to show
    who swept) needs no second query."""
    if swept_at is None:
        return True
    now = now or timezone.now()
    return now - swept_at > timedelta(seconds=settings.HOOKHUB_SWEEP_STALE_AFTER)


def sweep_is_stale(now: datetime | None = None) -> bool:
    return is_stale(last_sweep_at(), now)


def prune(now: datetime | None = None) -> int:
    """Delete the rows of processes silent for more than PRUNE_AFTER; return how many."""
    now = now or timezone.now()
    deleted, _ = SweepHeartbeat.objects.filter(swept_at__lt=now - PRUNE_AFTER).delete()
    return deleted
