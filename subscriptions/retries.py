"""An endpoint's retry policy: how long HookHub keeps retrying its failed deliveries.

The default is HOOKHUB_RETRY_SCHEDULE (entry i: the wait before try i+1). An endpoint's
owner, or staff, may set Endpoint.retry_for: a shorter window drops the later tries, a
longer one (up to HOOKHUB_MAX_RETRY_FOR) repeats the last wait while it fits. The delivery
engine (deliveries.policy) sends by `retry_schedule`; the dashboard and the API show it.
Test events are never retried, whatever the schedule.
"""

from __future__ import annotations

from django.conf import settings
from django.core.exceptions import ValidationError

# What the dashboard offers (seconds, label); those over HOOKHUB_MAX_RETRY_FOR are left out.
RETRY_FOR_CHOICES = [
    (0, "No retries"),
    (600, "10 minutes"),
    (3600, "1 hour"),
    (6 * 3600, "6 hours"),
    (24 * 3600, "1 day"),
    (3 * 24 * 3600, "3 days"),
    (7 * 24 * 3600, "7 days"),
]


def validate_retry_for(seconds: int | None) -> None:
    """A retry window within what staff allow (HOOKHUB_MAX_RETRY_FOR), read when validating
    so a changed setting applies to the next save."""
    limit = int(settings.HOOKHUB_MAX_RETRY_FOR)
    if seconds is not None and seconds > limit:
        raise ValidationError(
            f"Retries can go on for at most {describe_duration(limit)}.",
            code="retry_for_too_long",
        )


def retry_schedule(retry_for: int | None = None) -> list[float]:
    """The waits before each try, the first (0) included."""
    base = [float(delay) for delay in settings.HOOKHUB_RETRY_SCHEDULE]
    if retry_for is None:
        return base
    window = min(float(retry_for), float(settings.HOOKHUB_MAX_RETRY_FOR))
    waits = base[1:]
    longest = waits[-1] if waits else 0.0
    schedule, elapsed = base[:1], 0.0
    while True:
        index = len(schedule) - 1
        wait = waits[index] if index < len(waits) else longest
        if wait <= 0 or elapsed + wait > window:
            return schedule
        elapsed += wait
        schedule.append(wait)


def describe_duration(seconds: float) -> str:
    """5 s, 5 min, 2 h, 1.5 days: the largest unit that reads as a short number."""
    for unit, size in (("days", 86400), ("h", 3600), ("min", 60)):
        if seconds >= size:
            value = seconds / size
            text = f"{value:.1f}".rstrip("0").rstrip(".")
            return "1 day" if unit == "days" and text == "1" else f"{text} {unit}"
    return f"{seconds:g} s"


def describe_schedule(schedule: list[float]) -> str:
    """'4 tries over 35 min: at once, then after 5 s, 5 min, 30 min' for people."""
    if len(schedule) <= 1:
        return "1 try, no retries"
    waits = ", ".join(describe_duration(wait) for wait in schedule[1:])
    total = describe_duration(sum(schedule))
    return f"{len(schedule)} tries over {total}: at once, then after {waits}"


def retry_for_choices(current: int | None = None) -> list[tuple[str, str]]:
    """The dashboard's options: the default, the fixed windows staff allow, and the
    endpoint's own value if it was set to something else (over the API)."""
    limit = int(settings.HOOKHUB_MAX_RETRY_FOR)
    default = describe_schedule(retry_schedule(None))
    options = [("", f"The default ({default})")]
    values = [(seconds, label) for seconds, label in RETRY_FOR_CHOICES if seconds <= limit]
    if current is not None and current not in {seconds for seconds, _ in values}:
        values.append((current, describe_duration(current)))
    return options + [(str(seconds), label) for seconds, label in sorted(values)]
