"""What people do to deliveries: test, replay, bulk replay, send what a paused endpoint
missed. (Endpoint changes, pause and enable included, are subscriptions.services'.)

Views and the API call these; none of them send HTTP themselves (a task does). Each one is
audited. In django-q2 sync mode (tests) the task runs before the call returns.

Decision: `send_test` works for endpoints in any state, including disabled ones. A test is
one request the user asked for and watches, the natural way to check a fixed receiver before
re-enabling it; it never retries and never changes the endpoint's state or failure streak.
"""

from __future__ import annotations

import logging

from django.db import transaction
from django.utils import timezone
from django_q.conf import Conf

from deliveries import operational, queue
from deliveries.models import Attempt, Delivery, Event, ReplayJob
from deliveries.publishing import validate_payload
from subscriptions import audit
from subscriptions.models import Endpoint, EventType

logger = logging.getLogger(__name__)


class ReplayRefused(Exception):
    """The delivery can't be replayed now; `.message` says why in plain words."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


def _after_commit(callback) -> None:
    # Sync mode (tests) runs at once so callers see the finished attempt, even inside a test
    # transaction that never commits; a real worker must not see rows before they commit.
    if Conf.SYNC:
        callback()
    else:
        transaction.on_commit(callback)


def send_test(endpoint: Endpoint, event_type: EventType, *, actor, data=None, request=None):
    """Send one test event (the type's example unless `data` is given) to this endpoint
    only, whether or not it subscribes to the type. Returns the Delivery."""
    payload = event_type.example if data is None else data
    if payload is None:
        payload = {}
    validate_payload(event_type, payload)
    with transaction.atomic():
        event = Event.objects.create(event_type=event_type, payload=payload)
        delivery = Delivery.objects.create(
            event=event,
            endpoint=endpoint,
            status=Delivery.Status.PENDING,
            trigger=Attempt.Trigger.TEST,
            next_attempt_at=timezone.now(),
        )
        audit.record(
            actor, "endpoint.test_sent", endpoint, request=request, event_type=event_type.name
        )
    _after_commit(lambda: queue.enqueue([delivery.pk], Attempt.Trigger.TEST))
    delivery.refresh_from_db()
    return delivery


def replay(delivery: Delivery, *, actor, request=None) -> Delivery:
    """Send the delivery again now, with the same webhook-id; a new Attempt (trigger
    "replay"). If it fails, the normal schedule continues where the delivery had left it."""
    endpoint = delivery.endpoint
    endpoint.refresh_from_db(fields=["state"])
    if endpoint.state != Endpoint.State.ENABLED:
        raise ReplayRefused(
            f"The endpoint {endpoint.url} is {endpoint.get_state_display().lower()}; "
            "enable it before replaying."
        )
    now = timezone.now()
    with transaction.atomic():
        changed = (
            Delivery.objects.filter(pk=delivery.pk)
            .exclude(status=Delivery.Status.SENDING)
            .update(
                status=Delivery.Status.PENDING,
                trigger=Attempt.Trigger.REPLAY,
                next_attempt_at=now,
                claimed_until=None,
                updated_at=now,
            )
        )
        if not changed:
            raise ReplayRefused("This delivery is being sent right now; try again in a moment.")
        audit.record(
            actor, "delivery.replayed", delivery, request=request, event=delivery.event.uid
        )
    _after_commit(lambda: queue.enqueue([delivery.pk], Attempt.Trigger.REPLAY))
    delivery.refresh_from_db()
    return delivery


def send_missed(endpoint: Endpoint, *, actor, since=None, request=None) -> int:
    """Send what the endpoint missed while paused or disabled by the system: its skipped
    deliveries (those created from `since` on, if given) become pending and due now, oldest
    first, each keeping its event's webhook-id, and are retried like any delivery. Returns
    how many; 0 (and no audit entry) when there were none. Refused (ReplayRefused) unless
    the endpoint is enabled: a worker would cancel them.

    One conditional UPDATE of skipped rows: two calls at once, or a second click, cannot
    send a delivery twice (the later one finds it pending, not skipped)."""
    endpoint.refresh_from_db(fields=["state"])
    if endpoint.state != Endpoint.State.ENABLED:
        raise ReplayRefused(
            f"The endpoint {endpoint.url} is {endpoint.get_state_display().lower()}; "
            "enable it before sending what it missed."
        )
    missed = Delivery.objects.skipped().filter(endpoint=endpoint)
    if since is not None:
        missed = missed.filter(created_at__gte=since)
    now = timezone.now()
    with transaction.atomic():
        # Locked first (PostgreSQL), so the ids enqueued are the rows this UPDATE changes.
        ids = list(missed.select_for_update().order_by("id").values_list("id", flat=True))
        if not ids:
            return 0
        sent = missed.filter(id__lte=ids[-1]).update(
            status=Delivery.Status.PENDING,
            trigger=Attempt.Trigger.SCHEDULED,
            next_attempt_at=now,
            claimed_until=None,
            updated_at=now,
        )
        details = {"count": sent}
        if since is not None:
            details["since"] = since.isoformat()
        audit.record(actor, "endpoint.missed_sent", endpoint, request=request, **details)
    _after_commit(lambda: queue.enqueue(ids))
    return sent


def start_bulk_replay(queryset, *, actor, filters, request=None) -> ReplayJob:
    ids = list(queryset.order_by("id").values_list("id", flat=True))
    with transaction.atomic():
        job = ReplayJob.objects.create(
            created_by=actor if getattr(actor, "is_authenticated", False) else None,
            filters=filters or {},
            delivery_ids=ids,
            total=len(ids),
        )
        audit.record(
            actor,
            "delivery.bulk_replay_started",
            job,
            request=request,
            count=len(ids),
            filters=filters or {},
        )
    _after_commit(lambda: queue.enqueue_task("deliveries.tasks.run_replay_job", job.pk))
    job.refresh_from_db()
    return job


def run_replay_job(job_id: int) -> None:
    """The background half of start_bulk_replay: replay each delivery, count progress.

    An unexpected error (a bug, the database gone) ends the job "failed", with a short
    message and its counts so far; the traceback goes to the log. It is not re-raised: the
    job row is what people watch, and django-q2 must not run the task again, since the
    deliveries before the error were replayed already and would be sent twice. Those after
    it are left as they were; a new bulk replay of the same filters picks them up."""
    job = ReplayJob.objects.select_related("created_by").get(pk=job_id)
    ReplayJob.objects.filter(pk=job.pk).update(
        status=ReplayJob.Status.RUNNING, progressed_at=timezone.now()
    )
    done = skipped = 0
    try:
        deliveries = Delivery.objects.select_related("endpoint", "event").in_bulk(job.delivery_ids)
        for position, delivery_id in enumerate(job.delivery_ids, start=1):
            delivery = deliveries.get(delivery_id)
            try:
                if delivery is None:
                    raise ReplayRefused("The delivery no longer exists.")
                replay(delivery, actor=job.created_by)
                done += 1
            except ReplayRefused:
                skipped += 1
            if position % 50 == 0:
                ReplayJob.objects.filter(pk=job.pk).update(
                    done=done, skipped=skipped, progressed_at=timezone.now()
                )
    except Exception as exc:  # noqa: BLE001 - recorded on the job and logged, see above
        logger.exception(
            "Replay job %s failed after %s of %s deliveries", job.pk, done + skipped, job.total
        )
        ReplayJob.objects.filter(pk=job.pk).update(
            done=done,
            skipped=skipped,
            status=ReplayJob.Status.FAILED,
            error=_job_error(exc, done + skipped, job.total),
            finished_at=timezone.now(),
        )
        operational.replay_finished(job)
        return
    ReplayJob.objects.filter(pk=job.pk).update(
        done=done, skipped=skipped, status=ReplayJob.Status.FINISHED, finished_at=timezone.now()
    )
    operational.replay_finished(job)


def _job_error(exc: Exception, reached: int, total: int) -> str:
    """What the job page says about a crash: where it stopped and the error's first line."""
    first_line = (str(exc).strip().splitlines() or [""])[0]
    text = f"Stopped after {reached} of {total} deliveries: {exc.__class__.__name__}"
    text += f": {first_line}" if first_line else "."
    limit = ReplayJob._meta.get_field("error").max_length
    return text if len(text) <= limit else text[: limit - 1] + "…"
