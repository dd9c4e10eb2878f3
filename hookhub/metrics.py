"""`/metrics`: HookHub's state in the Prometheus text format, read from the database.

Every value is computed at scrape time by a custom Collector from the database rows, never
kept in process memory: deliveries are sent by many worker processes on many hosts, which
django-q2 recycles and an orchestrator may SIGKILL, and in-memory (or multiprocess-directory)
counters would be per process, per host, and lost with the process. The rows are the
cluster-wide truth, so any web process answers the same for the whole cluster.

What each kind of metric is built from (each query served by an index, see below):

- Counters (`*_total`) are the highest primary key issued for events, deliveries and
  attempts. Ids only grow, and retention deletes the oldest rows, never the newest, so they
  never go down (rolled-back inserts on PostgreSQL leave gaps, counted as if used).
  HourlyAttempts is not used for counters: retention prunes it with the attempts, so sums of
  it would fall once a day.
- Gauges: deliveries by unfinished/dead-letter status, queued (due pending), in flight
  (sending), the oldest due delivery's age, first tries handed back by the rate limit,
  endpoints by state, the newest sweep heartbeat's age.
- Windowed metrics: attempts by outcome and error class, and two histograms (attempt
  duration; publish-to-2xx latency of first tries), over the attempts started in the last
  HOOKHUB_METRICS_WINDOW seconds. The buckets are counted in SQL (one conditional COUNT per
  bucket over attempt_started_idx's range), not from rows fetched into Python, so a busy
  window costs one indexed range scan whatever its size. They are gauge histograms (their
  buckets fall when the window moves past a burst): read them with histogram_quantile()
  directly, without rate(). A cumulative histogram would need a store every worker adds to
  on every attempt, which is what this design avoids.

On PostgreSQL every query runs under statement_timeout = HOOKHUB_METRICS_QUERY_TIMEOUT, so a
slow database makes the scrape fail (503) instead of piling up scrapes.
"""

from __future__ import annotations

import hmac
import ipaddress
from collections.abc import Iterator
from datetime import datetime, timedelta

from django.conf import settings
from django.db import DatabaseError, connection, transaction
from django.db.models import Count, DurationField, ExpressionWrapper, F, Max, Min, Q, Sum
from django.http import Http404, HttpRequest, HttpResponse
from django.utils import timezone
from django.views.decorators.http import require_GET
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, generate_latest
from prometheus_client.core import (
    CounterMetricFamily,
    GaugeHistogramMetricFamily,
    GaugeMetricFamily,
)
from prometheus_client.registry import Collector

from deliveries import heartbeat
from deliveries.models import Attempt, Delivery, Event
from subscriptions.login_security import client_ip
from subscriptions.models import Endpoint

Status = Delivery.Status
SUCCESS = Q(response_status__gte=200, response_status__lt=300)
# Statuses counted by hookhub_deliveries. Succeeded and cancelled are left out: they are
# nearly every row, and counting them would scan the table on every scrape.
COUNTED_STATUSES = (Status.PENDING, Status.SENDING, Status.FAILED, Status.SKIPPED)


def _highest_id(model) -> int:
    return model.objects.aggregate(top=Max("pk"))["top"] or 0


def _bucket_labels(bounds: list[float]) -> list[str]:
    return [f"{bound:g}" for bound in bounds] + ["+Inf"]


class DatabaseCollector(Collector):
    """Reads every metric from the database when Prometheus scrapes."""

    def __init__(self, now: datetime | None = None) -> None:
        self.now = now

    def collect(self) -> Iterator:
        now = self.now or timezone.now()
        yield from self._counters()
        yield from self._deliveries(now)
        yield from self._endpoints()
        yield from self._sweeper(now)
        since = now - timedelta(seconds=settings.HOOKHUB_METRICS_WINDOW)
        recent = Attempt.objects.filter(started_at__gte=since, started_at__lte=now)
        yield from self._attempt_outcomes(recent)
        yield from self._attempt_durations(recent)
        yield from self._publish_latency(recent)

    def _counters(self) -> Iterator:
        # Max(pk) reads one end of the primary key index.
        for name, model, what in (
            ("hookhub_events_published", Event, "Events published"),
            ("hookhub_deliveries_created", Delivery, "Deliveries created (one per endpoint)"),
            ("hookhub_attempts", Attempt, "HTTP attempts recorded"),
        ):
            family = CounterMetricFamily(
                name, f"{what} since the database was created (highest id issued)."
            )
            family.add_metric([], _highest_id(model))
            yield family

    def _deliveries(self, now: datetime) -> Iterator:
        # One pass over delivery_status_recent_idx's unfinished and dead-letter ranges.
        due = Q(status=Status.PENDING, next_attempt_at__lte=now)
        row = Delivery.objects.filter(status__in=COUNTED_STATUSES).aggregate(
            **{status: Count("id", filter=Q(status=status)) for status in COUNTED_STATUSES},
            queued=Count("id", filter=due),
            oldest_due=Min("next_attempt_at", filter=due),
            # A first try is due when published; one scheduled later by a rate-limited
            # endpoint was handed back by the limiter (deliveries.ratelimit).
            limited=Count(
                "id",
                filter=Q(
                    status=Status.PENDING,
                    attempt_count=0,
                    next_attempt_at__gt=now,
                    endpoint__rate_limit__isnull=False,
                ),
            ),
        )
        by_status = GaugeMetricFamily(
            "hookhub_deliveries",
            "Deliveries by status, now (pending, sending, failed = dead letters, skipped = "
            "published while the endpoint was paused; succeeded and cancelled not counted).",
            labels=["status"],
        )
        for status in COUNTED_STATUSES:
            by_status.add_metric([status], row[status])
        yield by_status
        yield GaugeMetricFamily(
            "hookhub_deliveries_queued",
            "Pending deliveries that are due: waiting only for a worker.",
            value=row["queued"],
        )
        yield GaugeMetricFamily(
            "hookhub_deliveries_in_flight",
            "Deliveries claimed by a worker and being sent (status sending).",
            value=row[Status.SENDING],
        )
        oldest = row["oldest_due"]
        yield GaugeMetricFamily(
            "hookhub_oldest_due_delivery_age_seconds",
            "How long the longest-waiting due delivery has been due (0 when none is due).",
            value=max((now - oldest).total_seconds(), 0.0) if oldest else 0.0,
        )
        yield GaugeMetricFamily(
            "hookhub_deliveries_rate_limited",
            "First tries handed back by an endpoint's rate limit, waiting for their slot.",
            value=row["limited"],
        )

    def _endpoints(self) -> Iterator:
        counts = dict.fromkeys(Endpoint.State.values, 0)
        for row in Endpoint.objects.values("state").annotate(n=Count("id")).order_by():
            counts[row["state"]] = row["n"]
        family = GaugeMetricFamily("hookhub_endpoints", "Endpoints by state.", labels=["state"])
        for state, count in counts.items():
            family.add_metric([state], count)
        yield family

    def _sweeper(self, now: datetime) -> Iterator:
        swept_at = heartbeat.last_sweep_at()  # heartbeat_recent_idx
        yield GaugeMetricFamily(
            "hookhub_sweeper_last_run_age_seconds",
            "Seconds since any worker last swept (+Inf when none ever did).",
            value=(now - swept_at).total_seconds() if swept_at else float("inf"),
        )

    def _attempt_outcomes(self, recent) -> Iterator:
        family = GaugeMetricFamily(
            "hookhub_attempts_window",
            f"Attempts started in the last {settings.HOOKHUB_METRICS_WINDOW} s "
            "(HOOKHUB_METRICS_WINDOW), test events excluded, by outcome and error class.",
            labels=["outcome", "error_class"],
        )
        rows = (
            recent.exclude(trigger=Attempt.Trigger.TEST)
            .values("error_class")
            .annotate(ok=Count("id", filter=SUCCESS), bad=Count("id", filter=~SUCCESS))
            .order_by()
        )
        for row in rows:
            error_class = row["error_class"] or "none"
            if row["ok"]:
                family.add_metric(["succeeded", error_class], row["ok"])
            if row["bad"]:
                family.add_metric(["failed", error_class], row["bad"])
        yield family

    def _attempt_durations(self, recent) -> Iterator:
        bounds = settings.HOOKHUB_METRICS_DURATION_BUCKETS
        row = recent.aggregate(
            **{
                f"le{i}": Count("id", filter=Q(duration_ms__lte=bound * 1000))
                for i, bound in enumerate(bounds)
            },
            count=Count("id"),
            total_ms=Sum("duration_ms"),
        )
        yield _gauge_histogram(
            "hookhub_attempt_duration_seconds",
            f"Duration of the attempts started in the last {settings.HOOKHUB_METRICS_WINDOW} s.",
            bounds,
            [row[f"le{i}"] for i in range(len(bounds))],
            row["count"],
            (row["total_ms"] or 0) / 1000,
        )

    def _publish_latency(self, recent) -> Iterator:
        bounds = settings.HOOKHUB_METRICS_LATENCY_BUCKETS
        latency = ExpressionWrapper(
            F("finished_at") - F("delivery__event__created_at"), output_field=DurationField()
        )
        first_successes = recent.filter(SUCCESS, number=1, trigger=Attempt.Trigger.SCHEDULED)
        row = first_successes.annotate(latency=latency).aggregate(
            **{
                f"le{i}": Count("id", filter=Q(latency__lte=timedelta(seconds=bound)))
                for i, bound in enumerate(bounds)
            },
            count=Count("id"),
            total=Sum("latency"),
        )
        total = row["total"]
        yield _gauge_histogram(
            "hookhub_publish_to_success_seconds",
            "From publishing to the receiver's 2xx, for first tries that succeeded in the last "
            f"{settings.HOOKHUB_METRICS_WINDOW} s.",
            bounds,
            [row[f"le{i}"] for i in range(len(bounds))],
            row["count"],
            total.total_seconds() if isinstance(total, timedelta) else float(total or 0) / 1e6,
        )


def _gauge_histogram(name, documentation, bounds, counts, count, total):
    buckets = list(zip(_bucket_labels(bounds), [*counts, count], strict=True))
    return GaugeHistogramMetricFamily(name, documentation, buckets=buckets, gsum_value=total)


def render(now: datetime | None = None) -> bytes:
    """The text exposition of every metric, its queries bounded on PostgreSQL."""
    registry = CollectorRegistry(auto_describe=False)
    registry.register(DatabaseCollector(now))
    with transaction.atomic():
        if connection.vendor == "postgresql":
            timeout_ms = int(float(settings.HOOKHUB_METRICS_QUERY_TIMEOUT) * 1000)
            # set_config(..., true) is SET LOCAL that takes a bound parameter (SET takes none,
            # which server-side binding would send).
            with connection.cursor() as cursor:
                cursor.execute(
                    "SELECT set_config('statement_timeout', %s, true)", [f"{timeout_ms}"]
                )
        return generate_latest(registry)


def _address_allowed(request: HttpRequest) -> bool:
    networks = settings.HOOKHUB_METRICS_ALLOWED_CIDRS
    if not networks:
        return True
    try:
        address = ipaddress.ip_address(client_ip(request) or "")
    except ValueError:
        return False
    return any(address in ipaddress.ip_network(network) for network in networks)


@require_GET
def metrics_view(request: HttpRequest) -> HttpResponse:
    """Off (404) unless a token or an allowlist is configured; with both, both must pass."""
    token = settings.HOOKHUB_METRICS_TOKEN
    if not token and not settings.HOOKHUB_METRICS_ALLOWED_CIDRS:
        raise Http404
    if not _address_allowed(request):
        return HttpResponse("Forbidden\n", status=403, content_type="text/plain")
    if token:
        scheme, _, given = request.headers.get("Authorization", "").partition(" ")
        if scheme.lower() != "bearer" or not given:
            response = HttpResponse("Unauthorized\n", status=401, content_type="text/plain")
            response["WWW-Authenticate"] = 'Bearer realm="metrics"'
            return response
        if not hmac.compare_digest(given.strip().encode(), token.encode()):
            return HttpResponse("Forbidden\n", status=403, content_type="text/plain")
    try:
        body = render()
    except DatabaseError:
        # A timed-out or failed query: Prometheus records the scrape as failed (up == 0).
        return HttpResponse("Metrics unavailable\n", status=503, content_type="text/plain")
    return HttpResponse(body, content_type=CONTENT_TYPE_LATEST)
