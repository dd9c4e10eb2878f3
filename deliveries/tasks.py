"""django-q2 tasks and the helpers that enqueue them. Thin: the work is in deliveries.engine.

No task ever raises to django-q2 (with the ORM broker a raising task would be re-run, and the
Delivery rows already carry all retry state). Tasks are enqueued with save=False so a
successful run writes no result row.
"""

from __future__ import annotations

import logging
import os
from datetime import datetime

from django.conf import settings
from django_q.brokers import get_broker
from django_q.tasks import async_task

from deliveries import engine, rollups
from deliveries.models import Attempt

logger = logging.getLogger(__name__)

_broker: tuple[int, object] | None = None


def broker():
    """One broker per process: building one per enqueue costs ~10x on Redis."""
    global _broker
    if _broker is None or _broker[0] != os.getpid():
        _broker = (os.getpid(), get_broker())
    return _broker[1]


def enqueue_batches(
    ids: list[int], token: datetime | None, trigger: str = Attempt.Trigger.SCHEDULED
) -> None:
    size = max(1, int(settings.HOOKHUB_CLAIM_BATCH))
    for start in range(0, len(ids), size):
        async_task(
            "deliveries.tasks.deliver_batch",
            ids[start : start + size],
            token,
            trigger,
            broker=broker(),
            save=False,
            task_name="hookhub-deliver",
        )


def deliver_batch(ids: list[int], token=None, trigger: str = Attempt.Trigger.SCHEDULED) -> int:
    """Claim, send and record the given deliveries. Returns how many were sent."""
    try:
        claimed = engine.claim(
            list(ids), token=token, scheduled=trigger == Attempt.Trigger.SCHEDULED
        )
        if claimed:
            engine.process(claimed, trigger)
        return len(claimed)
    except Exception:
        # Rows claimed but not recorded stay in "sending"; the sweeper takes them back.
        logger.exception("Delivery batch failed; the sweeper will retry it")
        return 0


def deliver(delivery_id: int) -> int:
    """Deliver one due delivery now (if it is still pending and due)."""
    return deliver_batch([delivery_id])


def sweep() -> dict[str, int]:
    """Rescue deliveries stuck in "sending" and enqueue due ones. Safe to run anywhere,
    any number of times at once: every step is a conditional update."""
    counts = {"rescued": 0, "enqueued": 0, "hours_rolled_up": 0}
    try:
        counts["rescued"] = engine.rescue_stuck()
        limit = max(1, int(settings.HOOKHUB_CLAIM_BATCH)) * 20
        ids, token = engine.mark_due_for_queue(limit)
        enqueue_batches(ids, token)
        counts["enqueued"] = len(ids)
    except Exception:
        logger.exception("Sweep failed; the next one will try again")
    try:
        counts["hours_rolled_up"] = rollups.roll_up_when_due()
    except Exception:
        logger.exception("Rolling up hourly counts failed; the next sweep will try again")
    return counts


def run_replay_job(job_id: int) -> None:
    from deliveries import actions

    try:
        actions.run_replay_job(job_id)
    except Exception:
        logger.exception("Replay job %s failed", job_id)
