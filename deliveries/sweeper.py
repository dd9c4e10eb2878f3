"""The periodic repairs every worker runs (deliveries.dispatcher, each HOOKHUB_SWEEP_INTERVAL).

- Deliveries left in "sending" past their lease (their worker died) are due again now.
- Bulk replay jobs whose worker died (no progress for HOOKHUB_REPLAY_STALLED_AFTER) end
  "failed", so their page stops waiting and says what to do.
- Owners of endpoints failing for HOOKHUB_WARN_AFTER are warned (deliveries.failure_warnings).
- Finished hours are rolled up for the charts (deliveries.rollups).
- This process's heartbeat row is stamped, so the staff overview can tell that workers run.

Due deliveries need no enqueueing here: every dispatcher claims what is due by itself.
Safe to run anywhere, any number of times at once: every step is a conditional update.
"""

from __future__ import annotations

import logging
from datetime import datetime

from django.conf import settings
from django.utils import timezone

from deliveries import failure_warnings, heartbeat, operational, rollups
from deliveries.models import Delivery, ReplayJob

logger = logging.getLogger(__name__)


def rescue_stuck(now: datetime | None = None) -> int:
    """Deliveries left in "sending" past their lease (the worker died): due again now."""
    now = now or timezone.now()
    return Delivery.objects.stuck(now).update(
        status=Delivery.Status.PENDING, next_attempt_at=now, claimed_until=None, updated_at=now
    )


def fail_stalled_replays(now: datetime | None = None) -> int:
    """Bulk replay jobs left "running" or "queued" by a worker that died: failed, with why."""
    now = now or timezone.now()
    after = float(settings.HOOKHUB_REPLAY_STALLED_AFTER)
    failed = 0
    for job in ReplayJob.objects.stalled(now, after):
        # Conditional on the state read: another sweeper failing it first wins.
        if ReplayJob.objects.filter(pk=job.pk, status=job.status).update(
            status=ReplayJob.Status.FAILED,
            error=ReplayJob.STALLED_ERROR.format(minutes=after / 60),
            finished_at=now,
        ):
            operational.replay_finished(job)
            failed += 1
    return failed


STEPS = (
    ("rescued", rescue_stuck),
    ("replays_failed", fail_stalled_replays),
    ("failure_warnings", failure_warnings.warn_failing_endpoints),
    ("hours_rolled_up", rollups.roll_up_when_due),
)


def sweep() -> dict[str, int]:
    """Run every step; the heartbeat says "swept" only when they all worked."""
    counts = dict.fromkeys((name for name, _ in STEPS), 0)
    healthy = True
    for name, step in STEPS:
        try:
            counts[name] = step()
        except Exception:
            healthy = False
            logger.exception("Sweep step %s failed; the next sweep will try again", name)
    if healthy:
        try:
            heartbeat.beat()
        except Exception:
            logger.exception("Could not record the sweep heartbeat")
    return counts
