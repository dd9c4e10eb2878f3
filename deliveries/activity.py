"""An endpoint's success rate and response time, per hour over the last 24 hours and per
UTC day over the last 7, for its page; and the geometry of the charts that show them.

The counts are `charts.hourly_by_endpoint`'s (rolled-up hours plus the live ones), so the
rate matches the endpoint list's, and like it they leave test events out
(`rollups.tally`). Response times are not rolled up (HourlyAttempts only counts), so they
are read from the endpoint's answered attempts in the window: one query of
(started_at, duration_ms) pairs.

Like `charts.bar_chart`, the charts are SVG drawn by a template
(`templates/deliveries/partials/activity_chart.html`) with CSS classes for colour: no
script and no inline style (the Content-Security-Policy allows neither).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from django.utils import timezone

from deliveries import charts, rollups
from deliveries.models import Attempt

DAYS = 7


@dataclass
class Bucket:
    """One hour's or one day's attempts of an endpoint (test events left out)."""

    start: datetime
    succeeded: int = 0
    failed: int = 0
    # duration_ms of the attempts that got an HTTP answer: a receiver that never answers
    # shows in the success rate, and its timeouts would only say how long HookHub waits.
    durations: list[int] = field(default_factory=list)

    @property
    def total(self) -> int:
        return self.succeeded + self.failed

    @property
    def rate(self) -> float | None:
        return self.succeeded / self.total if self.total else None

    @property
    def median(self) -> int | None:
        return percentile(self.durations, 0.5)

    @property
    def p95(self) -> int | None:
        return percentile(self.durations, 0.95)


def percentile(values: list[int], share: float) -> int | None:
    """The nearest-rank percentile: a duration some attempt really took."""
    if not values:
        return None
    ordered = sorted(values)
    return ordered[max(math.ceil(share * len(ordered)) - 1, 0)]


def percent_text(rate: float | None, decimals: int = 1) -> str:
    """A share as "99.9%", rounded down: 999 of 1,000 is never shown as 100%."""
    if rate is None:
        return "–"
    scale = 10**decimals
    text = f"{math.floor(rate * 100 * scale) / scale:.{decimals}f}"
    if "." in text:
        text = text.rstrip("0").rstrip(".")
    return f"{text}%"


def ms_text(ms: int | float | None) -> str:
    """A duration short enough for a bar's label: "480 ms", "1.2 s", "12 s"."""
    if ms is None:
        return "–"
    if ms < 1000:
        return f"{round(ms)} ms"
    if ms < 10_000:
        return f"{ms / 1000:.1f} s"
    return f"{round(ms / 1000)} s"


@dataclass(frozen=True)
class Window:
    """One chart pair's data: the buckets and the whole window's figures."""

    name: str  # "day" or "week"
    title: str
    unit: str  # what a bucket is: "hour" or "day"
    buckets: list[Bucket]
    rate_chart: AxisChart
    latency_chart: AxisChart

    @property
    def total(self) -> int:
        return sum(bucket.total for bucket in self.buckets)

    @property
    def succeeded(self) -> int:
        return sum(bucket.succeeded for bucket in self.buckets)

    @property
    def rate_text(self) -> str:
        return percent_text(self.succeeded / self.total if self.total else None)

    @property
    def median_text(self) -> str:
        return ms_text(percentile(self._durations, 0.5))

    @property
    def p95_text(self) -> str:
        return ms_text(percentile(self._durations, 0.95))

    @property
    def _durations(self) -> list[int]:
        return [ms for bucket in self.buckets for ms in bucket.durations]

    @property
    def rows(self) -> list[dict]:
        """The table behind the charts (their text equivalent), oldest first."""
        return [
            {
                "label": bucket_label(bucket.start, self.unit, full=True),
                "total": bucket.total,
                "succeeded": bucket.succeeded,
                "rate": percent_text(bucket.rate),
                "median": ms_text(bucket.median),
                "p95": ms_text(bucket.p95),
            }
            for bucket in self.buckets
        ]


def endpoint_activity(endpoint_id: int, *, now: datetime | None = None) -> list[Window]:
    """The last 24 hours by hour and the last 7 UTC days (today so far included) by day."""
    now = now or timezone.now()
    current_hour = rollups.hour_start(now)
    first_day = current_hour.replace(hour=0) - timedelta(days=DAYS - 1)
    hours = int((current_hour - first_day) / rollups.HOUR) + 1
    counted = charts.hourly_by_endpoint([endpoint_id], now=now, hours=hours)[endpoint_id]
    by_hour = {
        counts.start: Bucket(counts.start, counts.succeeded, counts.failed) for counts in counted
    }
    # Served by delivery_endpoint_log_idx then attempt_delivery_idx, or by
    # attempt_started_idx: the planner picks whichever the endpoint's traffic makes cheaper.
    answered = (
        Attempt.objects.filter(
            delivery__endpoint_id=endpoint_id,
            started_at__gte=first_day,
            response_status__isnull=False,
        )
        .exclude(trigger=Attempt.Trigger.TEST)
        .values_list("started_at", "duration_ms")
    )
    for started_at, duration_ms in answered.iterator(chunk_size=2000):
        bucket = by_hour.get(rollups.hour_start(started_at))
        if bucket is not None:
            bucket.durations.append(duration_ms)

    hourly = [by_hour[counts.start] for counts in counted][-24:]
    daily: dict[datetime, Bucket] = {}
    for bucket in by_hour.values():
        day = daily.setdefault(bucket.start.replace(hour=0), Bucket(bucket.start.replace(hour=0)))
        day.succeeded += bucket.succeeded
        day.failed += bucket.failed
        day.durations.extend(bucket.durations)
    days = [daily[day] for day in sorted(daily)]
    return [
        _window("day", "Last 24 hours, per hour (UTC)", "hour", hourly),
        _window("week", "Last 7 days, per day (UTC)", "day", days),
    ]


def _window(name: str, title: str, unit: str, buckets: list[Bucket]) -> Window:
    return Window(
        name=name,
        title=title,
        unit=unit,
        buckets=buckets,
        rate_chart=rate_chart(buckets, unit=unit),
        latency_chart=latency_chart(buckets, unit=unit),
    )


def bucket_label(start: datetime, unit: str, *, full: bool = False) -> str:
    """An axis label ("14:00", "Mon 03") or, with `full`, a table's ("2026-11-28 14:00")."""
    start = start.astimezone(UTC)
    if unit == "hour":
        return f"{start:%Y-%m-%d %H:00}" if full else f"{start:%H:00}"
    return f"{start:%a %Y-%m-%d}" if full else f"{start:%a %d}"


# --- geometry ---------------------------------------------------------------------------


@dataclass(frozen=True)
class Segment:
    css: str
    y: float
    height: float


@dataclass(frozen=True)
class AxisBar:
    x: float
    width: float
    center: float
    segments: list[Segment]
    value: str  # written above the bar, so no one has to hover for it
    value_y: float
    tip: str
    axis_label: str  # under the bar; "" for the hours between labelled ones


@dataclass(frozen=True)
class Tick:
    y: float
    text: str


@dataclass(frozen=True)
class AxisChart:
    """What `templates/deliveries/partials/activity_chart.html` draws, in SVG user units."""

    width: int
    height: int
    label: str
    summary: str
    left: int
    right: int
    top: int
    base: int  # the y of the x axis
    label_y: int
    ticks: list[Tick]
    bars: list[AxisBar]
    legend: list[tuple[str, str]]  # (css class, text)


WIDTH, HEIGHT = 720, 180
LEFT, RIGHT, TOP, BOTTOM = 52, 6, 16, 22


def _frame(count: int) -> tuple[float, float, int]:
    slot = (WIDTH - LEFT - RIGHT) / max(count, 1)
    return slot, max(slot * 0.78, 1), HEIGHT - BOTTOM


def _axis_label(bucket: Bucket, unit: str, index: int, count: int) -> str:
    # Every third hour, counted back from the current one: 24 labels would overlap.
    if unit == "hour" and (count - 1 - index) % 3:
        return ""
    return bucket_label(bucket.start, unit)


def _bar(x, bar_width, segments, value, value_y, tip, bucket, unit, index, buckets) -> AxisBar:
    return AxisBar(
        x=round(x, 2),
        width=round(bar_width, 2),
        center=round(x + bar_width / 2, 2),
        segments=segments,
        value=value,
        value_y=value_y,
        tip=tip,
        axis_label=_axis_label(bucket, unit, index, len(buckets)),
    )


def _chart(label, summary, base, ticks, bars, legend) -> AxisChart:
    return AxisChart(
        width=WIDTH,
        height=HEIGHT,
        label=label,
        summary=summary,
        left=LEFT,
        right=WIDTH - RIGHT,
        top=TOP,
        base=base,
        label_y=HEIGHT - 6,
        ticks=ticks,
        bars=bars,
        legend=legend,
    )


def rate_chart(buckets: list[Bucket], *, unit: str) -> AxisChart:
    """Each bucket's success rate as a bar from 0 to 100 %, the failed share above it."""
    slot, bar_width, base = _frame(len(buckets))
    plot = base - TOP
    bars = []
    for i, bucket in enumerate(buckets):
        x = LEFT + i * slot + (slot - bar_width) / 2
        segments = []
        value_y = base - 4
        if bucket.total:
            ok = bucket.succeeded / bucket.total * plot
            segments = [
                Segment("bar-bad", TOP, round(plot - ok, 2)),
                Segment("bar-ok", round(base - ok, 2), round(ok, 2)),
            ]
            value_y = TOP - 4
        when = bucket_label(bucket.start, unit, full=True)
        tip = (
            f"{when} UTC: {percent_text(bucket.rate)} of {bucket.total} attempts succeeded"
            if bucket.total
            else f"{when} UTC: no attempts"
        )
        # 24 hourly bars have room for "100" (the axis says %); the 7 daily ones for "99.9%".
        value = _rate_label(bucket.rate, unit)
        bars.append(_bar(x, bar_width, segments, value, value_y, tip, bucket, unit, i, buckets))
    total = sum(bucket.total for bucket in buckets)
    succeeded = sum(bucket.succeeded for bucket in buckets)
    rate = succeeded / total if total else None
    summary = (
        f"{percent_text(rate)} of {total} attempts succeeded over {len(buckets)} {unit}s; "
        f"lowest {unit}: {percent_text(min(b.rate for b in buckets if b.total))}."
        if total
        else f"No attempts in {len(buckets)} {unit}s."
    )
    return _chart(
        f"Success rate per {unit} (%)",
        summary,
        base,
        [Tick(round(base - share * plot, 2), f"{share:.0%}") for share in (0, 0.5, 1)],
        bars,
        [("key-ok", "succeeded"), ("key-bad", "failed")],
    )


def _rate_label(rate: float | None, unit: str) -> str:
    if unit == "hour":
        return percent_text(rate, 0).rstrip("%")
    return percent_text(rate)


def nice_ceiling(value: float) -> int:
    """The next 1, 2 or 5 times a power of ten at or above `value` (an axis's top)."""
    if value <= 1:
        return 1
    power = 10 ** math.floor(math.log10(value))
    for step in (1, 2, 5, 10):
        if value <= step * power:
            return int(step * power)
    return int(10 * power)  # pragma: no cover (the loop always returns)


def latency_chart(buckets: list[Bucket], *, unit: str) -> AxisChart:
    """Each bucket's p95 response time as a bar with its median inside it."""
    slot, bar_width, base = _frame(len(buckets))
    plot = base - TOP
    scale = nice_ceiling(max((bucket.p95 or 0 for bucket in buckets), default=0))
    bars = []
    for i, bucket in enumerate(buckets):
        x = LEFT + i * slot + (slot - bar_width) / 2
        segments = []
        value_y = base - 4
        p95, median = bucket.p95, bucket.median
        if p95 is not None:
            p95_h = round(p95 / scale * plot, 2)
            median_h = round(median / scale * plot, 2)
            segments = [
                Segment("bar-p95", round(base - p95_h, 2), p95_h),
                Segment("bar-p50", round(base - median_h, 2), median_h),
            ]
            value_y = round(base - p95_h - 4, 2)
        when = bucket_label(bucket.start, unit, full=True)
        tip = (
            f"{when} UTC: median {ms_text(median)}, p95 {ms_text(p95)} "
            f"({len(bucket.durations)} answered)"
            if p95 is not None
            else f"{when} UTC: no answered attempts"
        )
        value = _short_ms(p95)
        bars.append(_bar(x, bar_width, segments, value, value_y, tip, bucket, unit, i, buckets))
    durations = [ms for bucket in buckets for ms in bucket.durations]
    summary = (
        f"Of {len(durations)} answered attempts over {len(buckets)} {unit}s, half took "
        f"{ms_text(percentile(durations, 0.5))} or less and 95% took "
        f"{ms_text(percentile(durations, 0.95))} or less."
        if durations
        else f"No answered attempts in {len(buckets)} {unit}s."
    )
    return _chart(
        f"Response time per {unit} (ms): median and 95th percentile",
        summary,
        base,
        [Tick(round(base - share * plot, 2), ms_text(share * scale)) for share in (0, 0.5, 1)],
        bars,
        [("key-p50", "median"), ("key-p95", "95th percentile (labelled)")],
    )


def _short_ms(ms: int | None) -> str:
    """A bar's label in at most four characters ("480", "1.2s", "12s"; the axis says ms):
    24 of them share the chart's width."""
    if ms is None:
        return "–"
    return str(ms) if ms < 1000 else ms_text(ms).replace(" ", "")
