"""django-q2 task entry points. Thin: the work is in deliveries.dispatcher and engine.

No task ever raises to django-q2 (with the ORM broker a raising task would be re-run, and the
Delivery rows already carry all retry state).
"""

from __future__ import annotations

import logging

from django_q.conf import Conf

from deliveries import actions, dispatcher, engine
from deliveries.models import Attempt

logger = logging.getLogger(__name__)


def deliver_batch(ids: list[int], trigger: str = Attempt.Trigger.SCHEDULED) -> int:
    """Deliveries are ready. In a worker, wake its dispatcher, which claims whatever is due in
    bulk, these rows included; in sync mode (tests, the shell) claim and send these rows now.
    Returns how many this call sent itself."""
    try:
        if not Conf.SYNC:
            dispatcher.current().wake()
            return 0
        scheduled = trigger == Attempt.Trigger.SCHEDULED
        claimed = engine.claim(list(ids), scheduled=scheduled)
        engine.deliver_now(claimed)
        return len(claimed)
    except Exception:
        # Rows claimed but not recorded stay in "sending"; the sweeper takes them back.
        logger.exception("Delivery batch failed; the sweeper will retry it")
        return 0


def run_replay_job(job_id: int) -> None:
    try:
        actions.run_replay_job(job_id)
    except Exception:
        logger.exception("Replay job %s failed", job_id)
