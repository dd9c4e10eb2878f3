"""Putting work on django-q2's queue. Imports nothing of HookHub's, so anything may call it.

A queued message is only a hint: the Delivery rows are the truth. A scheduled message wakes
a worker's dispatcher, which then claims whatever is due in bulk (deliveries.dispatcher);
a test or replay message names its rows, which only it may claim (they are not due by
schedule). Messages are enqueued with save=False so a successful run writes no result row.
"""

from __future__ import annotations

import logging
import os

from django.conf import settings
from django_q.brokers import get_broker
from django_q.tasks import async_task

SCHEDULED = "scheduled"  # Attempt.Trigger.SCHEDULED, spelled here to keep this module leaf

logger = logging.getLogger(__name__)

_broker: tuple[int, object] | None = None


def broker():
    """One broker per process: building one per enqueue cost far more than the enqueue."""
    global _broker
    if _broker is None or _broker[0] != os.getpid():
        _broker = (os.getpid(), get_broker())
    return _broker[1]


def enqueue(ids: list[int], trigger: str = SCHEDULED) -> None:
    """Tell a worker these deliveries are ready: one message per HOOKHUB_CLAIM_BATCH ids.

    Never raises for an unreachable broker. This runs after the rows were committed
    (publish's on_commit), so raising would tell the caller (and the API's client, with a
    500) that an event failed which is stored and will be delivered: a client retrying
    without an idempotency key would publish it twice. The message is only a wake-up; every
    worker claims due rows by itself within HOOKHUB_POLL_INTERVAL
    (tests/crash/test_chaos_deliveries.py publishes through a Redis outage)."""
    size = max(1, int(settings.HOOKHUB_CLAIM_BATCH))
    for start in range(0, len(ids), size):
        try:
            async_task(
                "deliveries.tasks.deliver_batch",
                ids[start : start + size],
                trigger,
                broker=broker(),
                save=False,
                task_name="hookhub-deliver",
            )
        except Exception as error:
            if trigger != SCHEDULED:
                # A test or replay is claimed only through its message (its rows are not
                # due by schedule): the person who asked for it must hear that it failed.
                raise
            # One line per failed publish, not a traceback: an outage would fill the log.
            logger.warning(
                "Could not enqueue %s deliveries (%s: %s); workers will claim them when they "
                "next poll",
                len(ids) - start,
                type(error).__name__,
                error,
            )
            return  # the broker is down: the other messages would fail the same way


def enqueue_task(func: str, *args) -> None:
    """Any other HookHub background task (bulk replay jobs)."""
    async_task(func, *args, broker=broker(), save=False)
