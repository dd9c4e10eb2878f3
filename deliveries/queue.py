"""Putting work on django-q2's queue. Imports nothing of HookHub's, so anything may call it.

A queued message is only a hint: the Delivery rows are the truth. A scheduled message wakes
a worker's dispatcher, which then claims whatever is due in bulk (deliveries.dispatcher);
a test or replay message names its rows, which only it may claim (they are not due by
schedule). Messages are enqueued with save=False so a successful run writes no result row.
"""

from __future__ import annotations

import os

from django.conf import settings
from django_q.brokers import get_broker
from django_q.tasks import async_task

SCHEDULED = "scheduled"  # Attempt.Trigger.SCHEDULED, spelled here to keep this module leaf

_broker: tuple[int, object] | None = None


def broker():
    """One broker per process: building one per enqueue cost far more than the enqueue."""
    global _broker
    if _broker is None or _broker[0] != os.getpid():
        _broker = (os.getpid(), get_broker())
    return _broker[1]


def enqueue(ids: list[int], trigger: str = SCHEDULED) -> None:
    """Tell a worker these deliveries are ready: one message per HOOKHUB_CLAIM_BATCH ids."""
    size = max(1, int(settings.HOOKHUB_CLAIM_BATCH))
    for start in range(0, len(ids), size):
        async_task(
            "deliveries.tasks.deliver_batch",
            ids[start : start + size],
            trigger,
            broker=broker(),
            save=False,
            task_name="hookhub-deliver",
        )


def enqueue_task(func: str, *args) -> None:
    """Any other HookHub background task (bulk replay jobs)."""
    async_task(func, *args, broker=broker(), save=False)
