"""What an attempt's result means: succeed, retry when, give up, or disable the endpoint.

Rules (DESIGN.md "Delivery rules"): 2xx succeeds; anything else retries on
HOOKHUB_RETRY_SCHEDULE (or the endpoint's shorter or longer retry_for) with +/-
HOOKHUB_RETRY_JITTER; 410 Gone disables the endpoint;
429/502/503/504 wait at least the receiver's Retry-After (capped by HOOKHUB_RETRY_AFTER_MAX);
after the last scheduled attempt the delivery is failed (dead letter, replayable). An endpoint
failing without one success for HOOKHUB_DISABLE_AFTER seconds is disabled by the system.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import datetime, timedelta
from email.utils import parsedate_to_datetime

from django.conf import settings

from deliveries.models import Attempt, Delivery
from deliveries.transport import TransportResult
from subscriptions import services
from subscriptions.models import Endpoint
from subscriptions.retries import retry_schedule

GONE = 410
BACK_OFF_STATUSES = {429, 502, 503, 504}


@dataclass(frozen=True)
class Outcome:
    status: str
    next_attempt_at: datetime | None = None
    disable_reason: str = ""


def scheduled_delay(attempts_made: int, schedule: list[float] | None = None) -> float | None:
    """Seconds until the next try after `attempts_made` tries, jittered; None when the
    schedule (an endpoint's retry_schedule; HOOKHUB_RETRY_SCHEDULE by default) is exhausted."""
    schedule = retry_schedule() if schedule is None else schedule
    if attempts_made >= len(schedule):
        return None
    delay = float(schedule[attempts_made])
    jitter = float(settings.HOOKHUB_RETRY_JITTER)
    # Jitter spreads retries of one outage so a recovering receiver isn't hit all at once.
    return max(0.0, delay * (1 + random.uniform(-jitter, jitter)))  # noqa: S311


def retry_after_seconds(headers: dict, now: datetime) -> float | None:
    """The receiver's Retry-After (seconds or HTTP date), capped; None when absent or invalid."""
    raw = next((v for k, v in headers.items() if k.lower() == "retry-after"), None)
    if raw is None:
        return None
    raw = str(raw).strip()
    try:
        seconds = float(raw)
    except ValueError:
        try:
            seconds = (parsedate_to_datetime(raw) - now).total_seconds()
        except (TypeError, ValueError, IndexError):
            return None
    if seconds != seconds or seconds < 0:  # NaN or in the past
        return None
    return min(seconds, float(settings.HOOKHUB_RETRY_AFTER_MAX))


def decide(
    result: TransportResult,
    attempts_made: int,
    trigger: str,
    now: datetime,
    schedule: list[float] | None = None,
) -> Outcome:
    if result.succeeded:
        return Outcome(Delivery.Status.SUCCEEDED)
    if trigger == Attempt.Trigger.TEST:
        # A test is one try the user watches; it never retries nor changes the endpoint.
        return Outcome(Delivery.Status.FAILED)
    if result.status == GONE:
        return Outcome(
            Delivery.Status.FAILED,
            disable_reason="The receiver answered 410 Gone, which means it wants no more events.",
        )
    delay = scheduled_delay(attempts_made, schedule)
    if delay is None:
        return Outcome(Delivery.Status.FAILED)
    if result.status in BACK_OFF_STATUSES:
        asked = retry_after_seconds(result.headers, now)
        if asked is not None:
            delay = max(delay, asked)
    return Outcome(Delivery.Status.PENDING, next_attempt_at=now + timedelta(seconds=delay))


def record_endpoint_health(
    succeeded_ids: set[int], failed_ids: set[int], now: datetime
) -> list[Endpoint]:
    """Track each endpoint's unbroken failure streak; disable those failing too long.

    A handful of set-based updates per batch, whatever its size. Returns disabled endpoints."""
    failed_only = failed_ids - succeeded_ids
    if succeeded_ids:
        Endpoint.objects.filter(id__in=succeeded_ids, failing_since__isnull=False).update(
            failing_since=None, failure_warnings_sent=0
        )
    if not failed_only:
        return []
    Endpoint.objects.filter(id__in=failed_only, failing_since__isnull=True).update(
        failing_since=now, failure_warnings_sent=0
    )
    window = timedelta(seconds=float(settings.HOOKHUB_DISABLE_AFTER))
    overdue = Endpoint.objects.filter(
        id__in=failed_only, state=Endpoint.State.ENABLED, failing_since__lte=now - window
    ).select_related("owner")
    disabled = []
    for endpoint in overdue:
        days = window.total_seconds() / 86400
        span = f"{days:g} days" if days >= 1 else f"{window.total_seconds():g} seconds"
        reason = f"Every delivery failed for {span} without a single success."
        if services.disable_endpoint(endpoint, reason, now=now):
            disabled.append(endpoint)
    return disabled
