"""The periodic repairs every worker runs (deliveries.dispatcher, each HOOKHUB_SWEEP_INTERVAL).

- Deliveries left in "sending" past their lease (their worker died) are due again now.
- Finished hours are rolled up for the charts (deliveries.rollups).
- This process's heartbeat row is stamped, so the staff overview can tell that workers run.

Due deliveries need no enqueueing here: every dispatcher claims what is due by itself.
Safe to run anywhere, any number of times at once: every step is a conditional update.
"""

from __future__ import annotations

import logging
from datetime import datetime

from django.utils import timezone

from deliveries import heartbeat, rollups
from deliveries.models import Delivery

logger = logging.getLogger(__name__)


def rescue_stuck(now: datetime | None = None) -> int:
    """Deliveries left in "sending" past their lease (the worker died): due again now."""
    now = now or timezone.now()
    return Delivery.objects.stuck(now).update(
        status=Delivery.Status.PENDING, next_attempt_at=now, claimed_until=None, updated_at=now
    )


def sweep() -> dict[str, int]:
    """Run every step; the heartbeat says "swept" only when they all worked."""
    counts = {"rescued": 0, "hours_rolled_up": 0}
    healthy = True
    for name, step in (("rescued", rescue_stuck), ("hours_rolled_up", rollups.roll_up_when_due)):
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
