from __future__ import annotations

import uuid
from datetime import datetime, timedelta

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.urls import reverse
from django.utils import timezone

from deliveries.ids import new_message_id
from subscriptions.models import Endpoint, EventType


class Event(models.Model):
    """One published event. Its `uid` is the `webhook-id` every receiver sees, on every try."""

    uid = models.CharField(max_length=40, unique=True, default=new_message_id, editable=False)
    event_type = models.ForeignKey(EventType, on_delete=models.PROTECT, related_name="events")
    payload = models.JSONField()
    # Who published: "" for in-process publish(), "user:<id>" for the API. An idempotency
    # key is unique within its scope.
    idempotency_scope = models.CharField(max_length=40, blank=True, default="")
    # NULL, not "", means "no key": the unique constraint must ignore keyless events.
    idempotency_key = models.CharField(max_length=200, null=True, blank=True)  # noqa: DJ001
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["idempotency_scope", "idempotency_key"],
                condition=Q(idempotency_key__isnull=False),
                name="event_idempotency_key_unique",
            )
        ]
        indexes = [
            # Retention pruning and "recent events" lists.
            models.Index(fields=["created_at"], name="event_created_idx"),
        ]

    def __str__(self) -> str:
        return self.uid


class DeliveryQuerySet(models.QuerySet):
    """The states the engine, the review pages and retention ask about, each named once
    (with the index that serves it)."""

    def due(self, now=None):
        """Pending and due now (delivery_due_idx)."""
        return self.filter(
            status=Delivery.Status.PENDING, next_attempt_at__lte=now or timezone.now()
        )

    def stuck(self, now=None):
        """Sending, but the worker's lease has lapsed: it was killed (delivery_stuck_idx)."""
        return self.filter(status=Delivery.Status.SENDING, claimed_until__lt=now or timezone.now())

    def in_flight(self):
        """Not finished: pending (due or waiting for a retry) or being sent."""
        return self.filter(status__in=Delivery.UNFINISHED)

    def failing(self):
        """Still retrying after at least one failed attempt."""
        return self.filter(status=Delivery.Status.PENDING, attempt_count__gt=0)

    def failed(self):
        """Out of retries: the dead letters staff review and replay."""
        return self.filter(status=Delivery.Status.FAILED)

    def skipped(self):
        """Published while the endpoint was paused or disabled by the system, kept for
        deliveries.actions.send_missed (delivery_skipped_idx, with an endpoint filter)."""
        return self.filter(status=Delivery.Status.SKIPPED)


class Delivery(models.Model):
    """One event to one endpoint. The row is the truth; a queued task is only a hint."""

    class Status(models.TextChoices):
        PENDING = "pending", "Pending"
        SENDING = "sending", "Sending"
        SUCCEEDED = "succeeded", "Succeeded"
        FAILED = "failed", "Failed"
        CANCELLED = "cancelled", "Cancelled"
        # Published while the endpoint was paused or disabled by the system: kept (never
        # claimed or sent) so deliveries.actions.send_missed can send it after re-enabling.
        SKIPPED = "skipped", "Skipped (endpoint paused)"

    UNFINISHED = (Status.PENDING, Status.SENDING)
    # Shown and filtered on, never stored: pending after a failed attempt (is_retrying).
    RETRYING = "retrying"

    uid = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    # No single-column FK indexes: delivery_event_endpoint_uniq leads with event and
    # delivery_endpoint_log_idx with endpoint, so each lookup (and cascade) is covered, and
    # every index dropped is one entry less written on each status change.
    event = models.ForeignKey(
        Event, on_delete=models.CASCADE, related_name="deliveries", db_index=False
    )
    endpoint = models.ForeignKey(
        Endpoint, on_delete=models.CASCADE, related_name="deliveries", db_index=False
    )
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.PENDING)
    # What asked for the next attempt (an Attempt.Trigger value): a replay or a test goes
    # through the same claim as a scheduled try, and its attempt is recorded as such.
    trigger = models.CharField(max_length=10, default="scheduled")
    attempt_count = models.PositiveIntegerField(default=0)
    next_attempt_at = models.DateTimeField(null=True, blank=True)
    # While SENDING: when the claim lapses and the sweeper may take the delivery back
    # (the worker holding it was killed).
    claimed_until = models.DateTimeField(null=True, blank=True)
    last_attempt_at = models.DateTimeField(null=True, blank=True)
    last_response_status = models.PositiveSmallIntegerField(null=True, blank=True)
    last_error_class = models.CharField(max_length=20, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    objects = DeliveryQuerySet.as_manager()

    class Meta:
        verbose_name_plural = "deliveries"
        constraints = [
            models.UniqueConstraint(
                fields=["event", "endpoint"], name="delivery_event_endpoint_uniq"
            )
        ]
        indexes = [
            # The worker's "due deliveries" claim: status=pending AND next_attempt_at <= now,
            # oldest first. Partial, so finished rows (the vast majority) cost it nothing.
            models.Index(
                fields=["next_attempt_at"],
                name="delivery_due_idx",
                condition=Q(status="pending"),
            ),
            # The sweeper's "stuck in sending" query.
            models.Index(
                fields=["claimed_until"],
                name="delivery_stuck_idx",
                condition=Q(status="sending"),
            ),
            # An endpoint's delivery log, newest first (keyset on id).
            models.Index(fields=["endpoint", "-id"], name="delivery_endpoint_log_idx"),
            # Admin failure review and the API's ?status= filter, newest first.
            models.Index(fields=["status", "-id"], name="delivery_status_recent_idx"),
            # The endpoint page's "N events missed while paused" and send_missed. Partial:
            # only skipped rows are in it, so deliveries to enabled endpoints never write it.
            models.Index(
                fields=["endpoint", "id"],
                name="delivery_skipped_idx",
                condition=Q(status="skipped"),
            ),
        ]

    def __str__(self) -> str:
        return f"{self.event_id} -> {self.endpoint_id} ({self.status})"

    def get_absolute_url(self) -> str:
        return reverse("dashboard:delivery-detail", args=[self.uid])

    @property
    def is_finished(self) -> bool:
        return self.status not in self.UNFINISHED

    @property
    def is_pending(self) -> bool:
        return self.status == self.Status.PENDING

    @property
    def is_skipped(self) -> bool:
        return self.status == self.Status.SKIPPED

    @property
    def is_retrying(self) -> bool:
        """The last attempt failed and another is scheduled (DeliveryQuerySet.failing()):
        pages say "Retrying", not "Pending", so a failing receiver is not mistaken for a
        queue that has not started."""
        return self.status == self.Status.PENDING and self.attempt_count > 0

    @property
    def display_status(self) -> str:
        """The state pages show and filter on (also the CSS class): the stored status, or
        RETRYING, which is never stored."""
        return self.RETRYING if self.is_retrying else self.status

    @property
    def display_status_label(self) -> str:
        return "Retrying" if self.is_retrying else self.get_status_display()

    @property
    def attempt_limit(self) -> int:
        """Scheduled attempts in all, the m of "attempt n of m" (replays may go past it)."""
        return len(settings.HOOKHUB_RETRY_SCHEDULE)

    @property
    def last_error_label(self) -> str:
        """The last failed attempt in a few words: "HTTP 503", or the error class's label."""
        if self.last_response_status:
            return f"HTTP {self.last_response_status}"
        if self.last_error_class in Attempt.ErrorClass.values:
            return Attempt.ErrorClass(self.last_error_class).label
        return self.last_error_class

    @property
    def is_due(self) -> bool:
        """Pending and its next attempt's time has come (waiting only for a worker)."""
        return bool(
            self.is_pending and self.next_attempt_at and self.next_attempt_at <= timezone.now()
        )

    def attempt_expected_within(self, seconds: float, now=None) -> bool:
        """Being sent, or pending and due within `seconds`. Pages that watch a delivery
        reload only then: during a back-off of hours a reload every few seconds shows
        nothing new."""
        if self.status == self.Status.SENDING:
            return True
        if not self.is_pending or self.next_attempt_at is None:
            return False
        return self.next_attempt_at <= (now or timezone.now()) + timedelta(seconds=seconds)


class Attempt(models.Model):
    """One HTTP try of a delivery: what was sent and what came back."""

    class Trigger(models.TextChoices):
        SCHEDULED = "scheduled", "Scheduled"
        REPLAY = "replay", "Manual replay"
        TEST = "test", "Test event"

    class ErrorClass(models.TextChoices):
        NONE = "", "None"
        DNS = "dns", "The host name could not be resolved"
        CONNECT = "connect", "The connection was refused or could not be made"
        TLS = "tls", "The TLS handshake failed"
        TIMEOUT = "timeout", "The receiver did not answer in time"
        BLOCKED_ADDRESS = "blocked-address", "The address is not allowed (private or internal)"
        HTTP_STATUS = "http-status", "The receiver answered with a non-2xx status"
        INVALID_URL = "invalid-url", "The endpoint URL is not valid"
        CONNECTION_RESET = "reset", "The connection was reset"
        INTERNAL = "internal", "HookHub failed to send the request"

    # Covered by attempt_delivery_idx (delivery, number); see Delivery.event.
    delivery = models.ForeignKey(
        Delivery, on_delete=models.CASCADE, related_name="attempts", db_index=False
    )
    number = models.PositiveIntegerField()
    trigger = models.CharField(max_length=10, choices=Trigger.choices, default=Trigger.SCHEDULED)
    started_at = models.DateTimeField()
    finished_at = models.DateTimeField()
    duration_ms = models.PositiveIntegerField()
    request_method = models.CharField(max_length=7, default="POST")
    request_url = models.URLField(max_length=2000)
    # Stored redacted: the signature (derived from the secret) and every custom header whose
    # value is a secret (subscriptions.headers.is_secret, applied by deliveries.engine).
    request_headers = models.JSONField(default=dict)
    request_body = models.TextField()
    response_status = models.PositiveSmallIntegerField(null=True, blank=True)
    response_headers = models.JSONField(default=dict, blank=True)
    response_body = models.TextField(blank=True)
    error_class = models.CharField(
        max_length=20, choices=ErrorClass.choices, blank=True, default=ErrorClass.NONE
    )
    error_message = models.CharField(max_length=500, blank=True)

    class Meta:
        indexes = [
            # A delivery's attempts in order (detail pages, API).
            models.Index(fields=["delivery", "number"], name="attempt_delivery_idx"),
            # Retention pruning and the admin overview's last-24h chart.
            models.Index(fields=["started_at"], name="attempt_started_idx"),
        ]

    def __str__(self) -> str:
        return f"attempt {self.number} of delivery {self.delivery_id}"

    @property
    def succeeded(self) -> bool:
        return self.response_status is not None and 200 <= self.response_status < 300


class HourlyAttempts(models.Model):
    """Attempts per endpoint per completed UTC hour, for the dashboards' 24-hour charts.

    Written by deliveries.rollups once an hour is over and its late records are in, so a
    chart reads a few small rows instead of counting a day of attempts. The row without an
    endpoint holds the hour's totals and marks the hour as rolled up; endpoints with no
    attempts in an hour get no row."""

    endpoint = models.ForeignKey(
        Endpoint, null=True, on_delete=models.CASCADE, related_name="+", db_index=False
    )
    hour = models.DateTimeField()
    succeeded = models.PositiveIntegerField(default=0)
    failed = models.PositiveIntegerField(default=0)

    class Meta:
        verbose_name_plural = "hourly attempts"
        constraints = [
            # Also the chart's lookup: endpoint ids, then a range of hours.
            models.UniqueConstraint(fields=["endpoint", "hour"], name="hourly_endpoint_hour_uniq"),
            # One totals row per hour, so two hosts cannot both roll an hour up.
            models.UniqueConstraint(
                fields=["hour"], condition=Q(endpoint__isnull=True), name="hourly_total_uniq"
            ),
        ]
        indexes = [models.Index(fields=["hour"], name="hourly_hour_idx")]  # retention

    def __str__(self) -> str:
        who = f"endpoint {self.endpoint_id}" if self.endpoint_id else "all endpoints"
        return f"{self.hour:%Y-%m-%d %H}:00 {who}: {self.succeeded} ok, {self.failed} failed"


class ReplayJobQuerySet(models.QuerySet):
    def stalled(self, now: datetime, after: float) -> ReplayJobQuerySet:
        """Jobs nobody works on any more: running with no progress for `after` seconds (its
        worker was killed, or django-q2 cut it at its timeout), or still queued that long
        after they were created (the queued message was lost)."""
        cutoff = now - timedelta(seconds=after)
        return self.filter(
            models.Q(status=ReplayJob.Status.RUNNING, progressed_at__lt=cutoff)
            | models.Q(status=ReplayJob.Status.QUEUED, created_at__lt=cutoff)
        )


class ReplayJob(models.Model):
    """A bulk replay an admin started from a filtered list; runs as a background task."""

    STALLED_ERROR = (
        "The worker running this job stopped: no progress for {minutes:g} minutes. The "
        "counts show how far it got; a new bulk replay of the same filters sends the rest."
    )

    class Status(models.TextChoices):
        QUEUED = "queued", "Queued"
        RUNNING = "running", "Running"
        FINISHED = "finished", "Finished"
        FAILED = "failed", "Failed"

    uid = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        on_delete=models.SET_NULL,
        related_name="replay_jobs",
    )
    # What the admin filtered on, for the progress page and the audit log.
    filters = models.JSONField(default=dict, blank=True)
    delivery_ids = models.JSONField(default=list)
    total = models.PositiveIntegerField(default=0)
    done = models.PositiveIntegerField(default=0)
    skipped = models.PositiveIntegerField(default=0)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.QUEUED)
    error = models.CharField(max_length=500, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    # Stamped when the job starts and at each progress update, so a dead job is visible.
    progressed_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    objects = ReplayJobQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"replay of {self.total} deliveries ({self.status})"

    @property
    def is_running(self) -> bool:
        """Queued or running: its page reloads; a finished or failed job never changes."""
        return self.status in (self.Status.QUEUED, self.Status.RUNNING)

    @property
    def is_failed(self) -> bool:
        return self.status == self.Status.FAILED

    @property
    def percent(self) -> int:
        return round(100 * (self.done + self.skipped) / self.total) if self.total else 100


class SweepHeartbeat(models.Model):
    """When the sweeper last ran, one row per worker process (host and pid).

    Every dispatcher sweeps (deliveries.sweeper), whichever command started its cluster; the
    staff overview warns when the newest row is older than HOOKHUB_SWEEP_STALE_AFTER, the
    sign of a deployment whose workers are down or never started."""

    worker = models.CharField(max_length=200, unique=True)
    swept_at = models.DateTimeField()

    class Meta:
        indexes = [models.Index(fields=["-swept_at"], name="heartbeat_recent_idx")]

    def __str__(self) -> str:
        return f"{self.worker} swept at {self.swept_at:%Y-%m-%d %H:%M:%S}"


class RateSlot(models.Model):
    """An endpoint's next free send slot (Unix seconds), for Endpoint.rate_limit without Redis.

    deliveries.ratelimit reserves slots 1/rate_limit seconds apart with one conditional
    UPDATE, so every worker process on every host shares the limit."""

    endpoint = models.OneToOneField(
        Endpoint, primary_key=True, on_delete=models.CASCADE, related_name="+"
    )
    next_at = models.FloatField(default=0.0)

    def __str__(self) -> str:
        return f"endpoint {self.endpoint_id}: next slot at {self.next_at:.3f}"
