"""Hourly attempt counts per endpoint, rolled up once each hour is over.

The endpoints list shows each endpoint's last 24 hours and the staff overview shows
everyone's. Counting them from the attempts scanned a whole day of every subscriber's
attempts on each page view (930 ms with 86,000 attempts in the window, measured for issue 6).
Instead, the sweeper (deliveries.tasks.sweep) writes one HourlyAttempts row per endpoint
per completed hour, and the charts count live only the hours not rolled up yet (the
current one, usually).

An hour is rolled up HOOKHUB_ROLLUP_DELAY seconds after it ends, longer than any claim's
lease, so the attempts that started in it have been recorded. Rolling up is safe on any
number of worker hosts at once: an hour's totals row is unique, so the second host's insert
fails and its work is dropped.
"""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import Count, Q
from django.utils import timezone

from deliveries.models import Attempt, HourlyAttempts

SUCCESS = Q(response_status__gte=200, response_status__lt=300)
HOUR = timedelta(hours=1)


def hour_start(moment: datetime) -> datetime:
    return moment.astimezone(UTC).replace(minute=0, second=0, microsecond=0)


def tally(attempts, *group_by: str):
    """`attempts` counted per `group_by` values: rows of those values plus `ok` (2xx
    answers) and `bad` (everything else, no answer included).

    Test events are left out: a person sends them by hand, often while the receiver is
    still being built, and they say nothing about how the endpoint receives real events.
    Both the rolled-up hours and the live count come through here, so they agree."""
    return (
        attempts.exclude(trigger=Attempt.Trigger.TEST)
        .values(*group_by)
        .annotate(ok=Count("id", filter=SUCCESS), bad=Count("id", filter=~SUCCESS))
        .order_by()
    )


def rolled_up_hours(since: datetime) -> set[datetime]:
    """Starts of the hours from `since` on that have been rolled up."""
    return set(
        HourlyAttempts.objects.filter(endpoint=None, hour__gte=since).values_list("hour", flat=True)
    )


def roll_up(now: datetime | None = None, *, hours: int = 24) -> int:
    """Roll up every hour of the last `hours` that is over (and past its delay) and not
    rolled up yet. Returns how many hours this call rolled up."""
    now = now or timezone.now()
    newest = hour_start(now - timedelta(seconds=float(settings.HOOKHUB_ROLLUP_DELAY))) - HOUR
    hour = hour_start(now) - hours * HOUR
    done = rolled_up_hours(hour)
    count = 0
    while hour <= newest:
        if hour not in done and _roll_up_hour(hour):
            count += 1
        hour += HOUR
    return count


def _roll_up_hour(hour: datetime) -> bool:
    # Counted before the write transaction: on SQLite it holds the only write lock.
    rows = tally(
        Attempt.objects.filter(started_at__gte=hour, started_at__lt=hour + HOUR),
        "delivery__endpoint_id",
    )
    counts = [
        HourlyAttempts(
            endpoint_id=row["delivery__endpoint_id"],
            hour=hour,
            succeeded=row["ok"],
            failed=row["bad"],
        )
        for row in rows
    ]
    totals = HourlyAttempts(
        endpoint=None,
        hour=hour,
        succeeded=sum(row.succeeded for row in counts),
        failed=sum(row.failed for row in counts),
    )
    try:
        with transaction.atomic():
            HourlyAttempts.objects.bulk_create([totals, *counts])
    except IntegrityError:
        # Another host rolled this hour up first, or an endpoint was deleted meanwhile (its
        # rows cascade away; the next sweep rolls the hour up without it).
        return False
    return True


_next_roll_up = 0.0


def roll_up_when_due() -> int:
    """roll_up() at most every HOOKHUB_ROLLUP_INTERVAL seconds per process: the sweeper
    calls this every second, and an hour ends only once an hour."""
    global _next_roll_up
    if time.monotonic() < _next_roll_up:
        return 0
    _next_roll_up = time.monotonic() + float(settings.HOOKHUB_ROLLUP_INTERVAL)
    return roll_up()
