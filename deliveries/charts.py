"""Hourly success/failure counts and the geometry of the SVG bar charts that show them.

No JavaScript and no chart library: `bar_chart()` works out the bars and
`templates/deliveries/partials/chart.html` draws them as `<rect>`s with `<title>`
tooltips, coloured by CSS classes (the Content-Security-Policy allows no inline styles or
scripts).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from django.db.models import Q
from django.db.models.functions import TruncHour
from django.utils import timezone

from deliveries import rollups
from deliveries.models import Attempt, HourlyAttempts


@dataclass
class HourBucket:
    start: datetime
    succeeded: int = 0
    failed: int = 0

    @property
    def total(self) -> int:
        return self.succeeded + self.failed


def _empty_buckets(now: datetime, hours: int) -> list[HourBucket]:
    top = rollups.hour_start(now)
    return [HourBucket(start=top - timedelta(hours=hours - 1 - i)) for i in range(hours)]


def hourly(*, now: datetime | None = None, hours: int = 24) -> list[HourBucket]:
    """Everyone's attempts per hour over the last `hours` hours (oldest first, current hour
    last)."""
    return _counted(None, now=now, hours=hours)[None]


def hourly_by_endpoint(
    endpoint_ids, *, now: datetime | None = None, hours: int = 24
) -> dict[int, list[HourBucket]]:
    """`hourly()` for each of many endpoints, keyed by endpoint id, in two queries."""
    return _counted(list(endpoint_ids), now=now, hours=hours)


def _counted(endpoint_ids: list[int] | None, *, now, hours) -> dict:
    """Buckets keyed by endpoint id (or None for everyone's): rolled-up hours from
    HourlyAttempts, the others (the current hour, usually) counted from the attempts."""
    now = now or timezone.now()
    keys = [None] if endpoint_ids is None else endpoint_ids
    result = {key: _empty_buckets(now, hours) for key in keys}
    if not keys:
        return result
    since = result[keys[0]][0].start
    by_hour = {key: {bucket.start: bucket for bucket in buckets} for key, buckets in result.items()}

    def add(key, hour, succeeded: int, failed: int) -> None:
        bucket = by_hour[key].get(hour)
        if bucket is not None:
            bucket.succeeded += succeeded
            bucket.failed += failed

    # One query: the hours' totals rows (which also say which hours are rolled up) and the
    # endpoints' own rows.
    stored = HourlyAttempts.objects.filter(hour__gte=since).filter(
        Q(endpoint=None) | Q(endpoint_id__in=endpoint_ids or [])
    )
    rolled = set()
    for endpoint_id, hour, succeeded, failed in stored.values_list(
        "endpoint_id", "hour", "succeeded", "failed"
    ):
        if endpoint_id is None:
            rolled.add(hour)
        if endpoint_id in by_hour:
            add(endpoint_id, hour, succeeded, failed)

    unrolled = [bucket.start for bucket in result[keys[0]] if bucket.start not in rolled]
    if not unrolled:
        return result
    # Served by attempt_started_idx: the range on started_at bounds the scan to the hours
    # not rolled up yet (normally the current one).
    attempts = Attempt.objects.filter(started_at__gte=min(unrolled))
    group = ()
    if endpoint_ids is not None:
        attempts = attempts.filter(delivery__endpoint_id__in=endpoint_ids)
        group = ("delivery__endpoint_id",)
    live = rollups.tally(
        attempts.annotate(hour=TruncHour("started_at", tzinfo=UTC)), *group, "hour"
    )
    for row in live:
        if row["hour"] not in rolled:  # a rolled-up hour after a gap is counted already
            add(row.get("delivery__endpoint_id"), row["hour"], row["ok"], row["bad"])
    return result


def success_rate(buckets: list[HourBucket]) -> float | None:
    """Share of attempts that got a 2xx, or None when there were none."""
    ok = sum(bucket.succeeded for bucket in buckets)
    total = sum(bucket.total for bucket in buckets)
    return ok / total if total else None


@dataclass(frozen=True)
class Bar:
    """One hour's stacked bar, in SVG user units: succeeded at the bottom, failed on top,
    and a 1-unit base line so an empty hour still shows where it is."""

    tip: str
    x: float
    width: float
    ok_y: float
    ok_height: float
    bad_y: float
    bad_height: float
    base_y: int


@dataclass(frozen=True)
class BarChart:
    """What `templates/deliveries/partials/chart.html` draws."""

    width: int
    height: int
    label: str
    summary: str
    bars: list[Bar]


def bar_chart(
    buckets: list[HourBucket], *, width: int = 480, height: int = 120, label: str = ""
) -> BarChart:
    """Stacked bars, one per bucket, scaled to the busiest hour. Each bar carries a tooltip
    with its numbers; `summary` is the chart's text equivalent (its `<desc>`)."""
    peak = max((bucket.total for bucket in buckets), default=0) or 1
    slot = width / max(len(buckets), 1)
    bar_width = max(slot - 1, 1)
    bars = []
    for i, bucket in enumerate(buckets):
        x = round(i * slot, 2)
        ok_h = round(bucket.succeeded / peak * (height - 1), 2)
        bad_h = round(bucket.failed / peak * (height - 1), 2)
        tip = f"{bucket.start:%H:00} UTC: {bucket.succeeded} succeeded, {bucket.failed} failed"
        bars.append(
            Bar(
                tip=tip,
                x=x,
                width=bar_width,
                ok_y=round(height - ok_h, 2),
                ok_height=ok_h,
                bad_y=round(height - ok_h - bad_h, 2),
                bad_height=bad_h,
                base_y=height - 1,
            )
        )
    succeeded = sum(bucket.succeeded for bucket in buckets)
    failed = sum(bucket.failed for bucket in buckets)
    return BarChart(
        width=width,
        height=height,
        label=label or "Succeeded and failed attempts per hour",
        summary=f"{succeeded} attempts succeeded and {failed} failed in {len(buckets)} hours.",
        bars=bars,
    )
