"""Warnings before an endpoint is disabled: its owner hears after HOOKHUB_WARN_AFTER[0] of
unbroken failures, and again at each later stage, before HOOKHUB_DISABLE_AFTER disables it.

The sweeper runs `warn_failing_endpoints` on every worker; each warning is claimed with a
conditional UPDATE of Endpoint.failure_warnings_sent (the stages this streak has had), so
however many sweepers run, a stage is sent once per streak. A streak that crossed several
stages while no worker ran gets only the latest one, not a burst of stale warnings. Any
success (deliveries.policy) or re-enabling resets the count with failing_since.
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta

from django.conf import settings
from django.utils import timezone

from deliveries import operational
from deliveries.models import Delivery
from subscriptions import services
from subscriptions.models import Endpoint

logger = logging.getLogger(__name__)


def due_stage(failing_since: datetime, now: datetime) -> int:
    """How many warning stages an endpoint failing since `failing_since` has reached (0-n)."""
    failed_for = (now - failing_since).total_seconds()
    return sum(1 for after in settings.HOOKHUB_WARN_AFTER if failed_for >= after)


def last_failure(endpoint: Endpoint) -> str:
    """The newest failed attempt's error in plain words, for the warning."""
    delivery = (
        Delivery.objects.filter(endpoint=endpoint, attempt_count__gt=0)
        .exclude(status=Delivery.Status.SUCCEEDED)
        .order_by("-id")
        .first()
    )
    if delivery is None:
        return "unknown"
    attempt = delivery.attempts.order_by("-number").first()
    detail = attempt.error_message if attempt is not None else ""
    label = delivery.last_error_label
    return f"{label}: {detail}" if detail and detail != label else label


def warn_failing_endpoints(now: datetime | None = None) -> int:
    """Send each enabled, failing endpoint's owner the warning its streak is due; returns
    how many were sent."""
    now = now or timezone.now()
    stages = settings.HOOKHUB_WARN_AFTER
    if not stages:
        return 0
    first = timedelta(seconds=min(stages))
    candidates = Endpoint.objects.filter(
        state=Endpoint.State.ENABLED,
        failing_since__lte=now - first,
        failure_warnings_sent__lt=len(stages),
    ).select_related("owner")
    sent = 0
    for endpoint in candidates:
        stage = due_stage(endpoint.failing_since, now)
        if stage <= endpoint.failure_warnings_sent:
            continue
        claimed = Endpoint.objects.filter(
            pk=endpoint.pk,
            failing_since=endpoint.failing_since,  # the same streak still
            failure_warnings_sent__lt=stage,
        ).update(failure_warnings_sent=stage)
        if claimed:
            last_error = last_failure(endpoint)
            services.warn_endpoint_failing(endpoint, stage, last_error, now=now)
            operational.endpoint_failing(
                endpoint, stage=stage, last_error=last_error, disables_at=endpoint.disables_at
            )
            sent += 1
    return sent
