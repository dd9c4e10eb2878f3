"""Retention: delete attempts, and events with their deliveries, older than
HOOKHUB_ATTEMPT_RETENTION_DAYS (and the hourly chart counts of those days).

Deletes walk primary-key windows of HOOKHUB_PRUNE_BATCH_SIZE rows, one short transaction
each, so neither SQLite nor PostgreSQL holds locks on the tables for long and the workers
keep delivering while it runs. Run daily by a django-q2 Schedule (`ensure_schedule`) and by
hand with `manage.py prune_deliveries`.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, time, timedelta

from django.conf import settings
from django.db import transaction
from django.db.models import Max, Min
from django.utils import timezone
from django_q.models import Schedule

from deliveries import heartbeat
from deliveries.models import Attempt, Delivery, Event, HourlyAttempts

SCHEDULE_NAME = "hookhub-prune-deliveries"
SCHEDULE_FUNC = "deliveries.retention.scheduled_prune"
# Deliveries in these states may still send: their events are kept whatever their age.


@dataclass
class PruneResult:
    attempts: int = 0
    events: int = 0
    deliveries: int = 0

    def as_dict(self) -> dict[str, int]:
        return {"attempts": self.attempts, "events": self.events, "deliveries": self.deliveries}


def cutoff(now: datetime | None = None, days: int | None = None) -> datetime:
    if days is None:
        days = settings.HOOKHUB_ATTEMPT_RETENTION_DAYS
    return (now or timezone.now()) - timedelta(days=days)


def _windows(queryset, batch_size: int):
    """Primary-key windows [start, start + batch_size) covering `queryset`'s rows."""
    bounds = queryset.aggregate(low=Min("pk"), high=Max("pk"))
    if bounds["low"] is None:
        return
    for start in range(bounds["low"], bounds["high"] + 1, batch_size):
        yield start, start + batch_size


def expired_events(before: datetime):
    return Event.objects.filter(created_at__lt=before).exclude(
        deliveries__status__in=Delivery.UNFINISHED
    )


def prune(
    *, dry_run: bool = False, days: int | None = None, batch_size: int | None = None
) -> PruneResult:
    before = cutoff(days=days)
    batch_size = batch_size or settings.HOOKHUB_PRUNE_BATCH_SIZE
    result = PruneResult()
    old_attempts = Attempt.objects.filter(started_at__lt=before)
    if dry_run:
        events = expired_events(before)
        result.events = events.count()
        result.deliveries = Delivery.objects.filter(event__in=events).count()
        result.attempts = (
            old_attempts.count()
            + Attempt.objects.filter(delivery__event__in=events, started_at__gte=before).count()
        )
        return result

    for start, end in _windows(old_attempts, batch_size):
        deleted, _ = old_attempts.filter(pk__gte=start, pk__lt=end).delete()
        result.attempts += deleted

    for start, end in _windows(Event.objects.filter(created_at__lt=before), batch_size):
        with transaction.atomic():
            candidates = list(
                Event.objects.filter(pk__gte=start, pk__lt=end, created_at__lt=before).values_list(
                    "pk", flat=True
                )
            )
            if not candidates:
                continue
            # Lock the deliveries, then decide: a replay started meanwhile makes one active
            # again and keeps its event.
            list(Delivery.objects.select_for_update().filter(event_id__in=candidates).values("pk"))
            busy = set(
                Delivery.objects.in_flight()
                .filter(event_id__in=candidates)
                .values_list("event_id", flat=True)
            )
            doomed = [pk for pk in candidates if pk not in busy]
            attempts, _ = Attempt.objects.filter(delivery__event_id__in=doomed).delete()
            deliveries, _ = Delivery.objects.filter(event_id__in=doomed).delete()
            events, _ = Event.objects.filter(pk__in=doomed).delete()
        result.attempts += attempts
        result.deliveries += deliveries
        result.events += events
    # The charts' hourly counts are derived from the attempts: they go with them.
    HourlyAttempts.objects.filter(hour__lt=before).delete()
    # Restarted workers leave their old pid's heartbeat row behind.
    heartbeat.prune()
    return result


def scheduled_prune() -> dict[str, int]:
    """The daily task. Returns the counts, which django-q2 keeps as the task's result."""
    return prune().as_dict()


def next_daily_run(now: datetime | None = None) -> datetime:
    now = now or timezone.now()
    hour = settings.HOOKHUB_PRUNE_HOUR_UTC
    run = datetime.combine(now.date(), time(hour=hour), tzinfo=UTC)
    return run if run > now else run + timedelta(days=1)


def ensure_schedule(**kwargs) -> None:
    """Create the daily prune Schedule once (post_migrate): running migrate again, or on
    every host, leaves one row, and keeps its next run time."""

    Schedule.objects.update_or_create(
        name=SCHEDULE_NAME,
        defaults={"func": SCHEDULE_FUNC, "schedule_type": Schedule.DAILY, "repeats": -1},
        create_defaults={
            "func": SCHEDULE_FUNC,
            "schedule_type": Schedule.DAILY,
            "repeats": -1,
            "next_run": next_daily_run(),
        },
    )
