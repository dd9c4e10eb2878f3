"""Hourly success/failure counts and the server-rendered SVG bar charts that show them.

No JavaScript and no chart library: a chart is a few `<rect>`s with `<title>` tooltips,
coloured by CSS classes (the Content-Security-Policy allows no inline styles or scripts).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from django.db.models import Count, Q
from django.db.models.functions import TruncHour
from django.utils import timezone
from django.utils.html import format_html, format_html_join
from django.utils.safestring import SafeString

from deliveries.models import Attempt

SUCCESS = Q(response_status__gte=200, response_status__lt=300)


@dataclass
class HourBucket:
    start: datetime
    succeeded: int = 0
    failed: int = 0

    @property
    def total(self) -> int:
        return self.succeeded + self.failed


def _empty_buckets(now: datetime, hours: int) -> list[HourBucket]:
    top = now.astimezone(UTC).replace(minute=0, second=0, microsecond=0)
    return [HourBucket(start=top - timedelta(hours=hours - 1 - i)) for i in range(hours)]


def _since(now: datetime, hours: int) -> datetime:
    return _empty_buckets(now, hours)[0].start


def _grouped(attempts, group_by: tuple[str, ...]):
    # Served by attempt_started_idx: the range on started_at bounds the scan to 24 hours.
    return (
        attempts.annotate(hour=TruncHour("started_at", tzinfo=UTC))
        .values(*group_by, "hour")
        .annotate(ok=Count("id", filter=SUCCESS), bad=Count("id", filter=~SUCCESS))
        .order_by()
    )


def hourly(attempts=None, *, now: datetime | None = None, hours: int = 24) -> list[HourBucket]:
    """Attempts per hour over the last `hours` hours (oldest first, current hour last)."""
    now = now or timezone.now()
    buckets = _empty_buckets(now, hours)
    by_start = {bucket.start: bucket for bucket in buckets}
    attempts = Attempt.objects.all() if attempts is None else attempts
    for row in _grouped(attempts.filter(started_at__gte=buckets[0].start), ()):
        bucket = by_start.get(row["hour"])
        if bucket:
            bucket.succeeded += row["ok"]
            bucket.failed += row["bad"]
    return buckets


def hourly_by_endpoint(
    endpoint_ids, *, now: datetime | None = None, hours: int = 24
) -> dict[int, list[HourBucket]]:
    """`hourly()` for many endpoints in one query, keyed by endpoint id."""
    now = now or timezone.now()
    result = {pk: _empty_buckets(now, hours) for pk in endpoint_ids}
    if not result:
        return result
    attempts = Attempt.objects.filter(
        delivery__endpoint_id__in=list(result), started_at__gte=_since(now, hours)
    )
    for row in _grouped(attempts, ("delivery__endpoint_id",)):
        for bucket in result[row["delivery__endpoint_id"]]:
            if bucket.start == row["hour"]:
                bucket.succeeded += row["ok"]
                bucket.failed += row["bad"]
    return result


def success_rate(buckets: list[HourBucket]) -> float | None:
    """Share of attempts that got a 2xx, or None when there were none."""
    ok = sum(bucket.succeeded for bucket in buckets)
    total = sum(bucket.total for bucket in buckets)
    return ok / total if total else None


def bars_svg(
    buckets: list[HourBucket], *, width: int = 480, height: int = 120, label: str = ""
) -> SafeString:
    """Stacked bars, succeeded (bottom) and failed (top), one per bucket, scaled to the
    busiest hour. Each bar has a `<title>` so hovering shows the numbers."""
    peak = max((bucket.total for bucket in buckets), default=0) or 1
    slot = width / max(len(buckets), 1)
    bar = max(slot - 1, 1)
    parts = []
    for i, bucket in enumerate(buckets):
        x = round(i * slot, 2)
        ok_h = round(bucket.succeeded / peak * (height - 1), 2)
        bad_h = round(bucket.failed / peak * (height - 1), 2)
        tip = f"{bucket.start:%H:00} UTC: {bucket.succeeded} succeeded, {bucket.failed} failed"
        parts.append(
            (
                tip,
                x,
                round(height - ok_h, 2),
                bar,
                ok_h,
                x,
                round(height - ok_h - bad_h, 2),
                bar,
                bad_h,
                x,
                height - 1,
                bar,
            )
        )
    bars = format_html_join(
        "",
        '<g><title>{}</title><rect class="bar-ok" x="{}" y="{}" width="{}" height="{}"/>'
        '<rect class="bar-bad" x="{}" y="{}" width="{}" height="{}"/>'
        '<rect class="bar-base" x="{}" y="{}" width="{}" height="1"/></g>',
        parts,
    )
    return format_html(
        '<svg class="chart" role="img" aria-label="{}" viewBox="0 0 {} {}" width="{}" '
        'height="{}" xmlns="http://www.w3.org/2000/svg">{}</svg>',
        label or "Succeeded and failed attempts per hour",
        width,
        height,
        width,
        height,
        bars,
    )
