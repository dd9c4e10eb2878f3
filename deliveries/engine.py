"""Claim due deliveries, send them, record the attempts. Called only by deliveries.tasks.

Batches all the way: one claim (SELECT ... FOR UPDATE SKIP LOCKED + UPDATE on PostgreSQL; the
same statements inside SQLite's IMMEDIATE transaction, which serialises writers), concurrent
sends over kept-alive sessions, one bulk insert of attempts and one bulk update of deliveries.

Tokens: a queued task carries the `claimed_until` value that was stamped on its pending rows
when they were enqueued. A task only takes rows still carrying its token, so a duplicate or
stale task (re-enqueued by the sweeper after its lease) finds nothing to do, and two workers
never send the same attempt.
"""

from __future__ import annotations

import json
import math
import os
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.conf import settings
from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from deliveries import policy, signing, transport
from deliveries.models import Attempt, Delivery, Event
from subscriptions import headers as custom_headers
from subscriptions.models import Endpoint

Status = Delivery.Status
Trigger = Attempt.Trigger


@dataclass
class OutboundRequest:
    delivery: Delivery
    method: str
    url: str
    headers: dict
    body: bytes


def claim_lease(count: int, now: datetime) -> datetime:
    """How long a claimed batch may stay in "sending" before the sweeper takes it back."""
    rounds = math.ceil(max(count, 1) / max(1, int(settings.HOOKHUB_SEND_THREADS)))
    seconds = float(settings.HOOKHUB_DELIVERY_DEADLINE) * rounds + float(
        settings.HOOKHUB_CLAIM_MARGIN
    )
    return now + timedelta(seconds=seconds)


def claim(ids: list[int], *, token: datetime | None, scheduled: bool) -> list[Delivery]:
    """Move pending rows to "sending" for this worker; returns only the rows it won."""
    now = timezone.now()
    with transaction.atomic():
        rows = Delivery.objects.filter(id__in=ids, status=Status.PENDING)
        if token is not None:
            rows = rows.filter(claimed_until=token)
        if scheduled:
            rows = rows.filter(next_attempt_at__lte=now)
        won = list(rows.select_for_update(skip_locked=True).values_list("id", flat=True))
        if not won:
            return []
        Delivery.objects.filter(id__in=won, status=Status.PENDING).update(
            status=Status.SENDING, claimed_until=claim_lease(len(won), now), updated_at=now
        )
    return list(
        Delivery.objects.filter(id__in=won)
        .select_related("event__event_type", "endpoint")
        .order_by("id")
    )


def wire_body(event: Event) -> bytes:
    """The JSON every receiver gets: the same bytes on every try of an event."""
    return json.dumps(
        {
            "type": event.event_type.name,
            "timestamp": event.created_at.isoformat().replace("+00:00", "Z"),
            "data": event.payload,
        },
        separators=(",", ":"),
        ensure_ascii=False,
    ).encode()


def build_requests(deliveries: list[Delivery]) -> list[OutboundRequest]:
    now = timezone.now()
    timestamp = int(time.time())
    bodies: dict[int, bytes] = {}
    secrets: dict[int, list[str]] = {}
    out = []
    for delivery in deliveries:
        event, endpoint = delivery.event, delivery.endpoint
        if event.pk not in bodies:
            bodies[event.pk] = wire_body(event)
        if endpoint.pk not in secrets:
            secrets[endpoint.pk] = endpoint.signing_secrets(now)
        body = bodies[event.pk]
        headers = custom_headers.sendable(endpoint.headers)
        headers["content-type"] = "application/json"
        headers["user-agent"] = settings.HOOKHUB_USER_AGENT
        headers.update(signing.signature_headers(event.uid, timestamp, body, secrets[endpoint.pk]))
        out.append(OutboundRequest(delivery, event.event_type.method, endpoint.url, headers, body))
    return out


_pool_lock = threading.Lock()
_pool: tuple[int, ThreadPoolExecutor] | None = None


def _executor() -> ThreadPoolExecutor:
    """One pool per process (django-q2 forks workers; a pool from before a fork is dead)."""
    global _pool
    with _pool_lock:
        if _pool is None or _pool[0] != os.getpid():
            size = max(1, int(settings.HOOKHUB_SEND_THREADS))
            _pool = (os.getpid(), ThreadPoolExecutor(size, thread_name_prefix="hookhub-send"))
        return _pool[1]


def send_all(outbound: list[OutboundRequest]) -> list[transport.TransportResult]:
    def one(req: OutboundRequest) -> transport.TransportResult:
        return transport.send(req.method, req.url, req.headers, req.body)

    if len(outbound) <= 1 or int(settings.HOOKHUB_SEND_THREADS) <= 1:
        return [one(req) for req in outbound]
    return list(_executor().map(one, outbound))


def process(deliveries: list[Delivery], trigger: str = Trigger.SCHEDULED) -> None:
    """Send claimed deliveries and store what happened."""
    cancelled = [
        d
        for d in deliveries
        if trigger != Trigger.TEST and d.endpoint.state != Endpoint.State.ENABLED
    ]
    live = [d for d in deliveries if d not in cancelled]
    outbound = build_requests(live)
    results = send_all(outbound)

    now = timezone.now()
    attempts = []
    succeeded_endpoints: set[int] = set()
    failed_endpoints: set[int] = set()
    gone: dict[int, tuple[Endpoint, str]] = {}
    for req, result in zip(outbound, results, strict=True):
        delivery = req.delivery
        number = delivery.attempt_count + 1
        attempts.append(
            Attempt(
                delivery=delivery,
                number=number,
                trigger=trigger,
                started_at=result.started_at,
                finished_at=result.finished_at,
                duration_ms=result.duration_ms,
                request_method=req.method,
                request_url=req.url[:2000],
                request_headers=signing.redact(req.headers),
                request_body=req.body.decode("utf-8", errors="replace"),
                response_status=result.status,
                response_headers=result.headers,
                response_body=result.body,
                error_class=result.error_class,
                error_message=result.error_message,
            )
        )
        outcome = policy.decide(result, number, trigger, now)
        delivery.attempt_count = number
        delivery.status = outcome.status
        delivery.next_attempt_at = outcome.next_attempt_at
        delivery.claimed_until = None
        delivery.last_attempt_at = result.started_at
        delivery.last_response_status = result.status
        delivery.last_error_class = result.error_class
        delivery.updated_at = now
        if trigger != Trigger.TEST:
            if result.succeeded:
                succeeded_endpoints.add(delivery.endpoint_id)
            else:
                failed_endpoints.add(delivery.endpoint_id)
            if outcome.disable_reason:
                gone[delivery.endpoint_id] = (delivery.endpoint, outcome.disable_reason)
    for delivery in cancelled:
        delivery.status = Status.CANCELLED
        delivery.claimed_until = None
        delivery.next_attempt_at = None
        delivery.updated_at = now

    with transaction.atomic():
        Attempt.objects.bulk_create(attempts)
        Delivery.objects.bulk_update(
            live + cancelled,
            [
                "status",
                "attempt_count",
                "next_attempt_at",
                "claimed_until",
                "last_attempt_at",
                "last_response_status",
                "last_error_class",
                "updated_at",
            ],
        )
    for endpoint, reason in gone.values():
        policy.disable_endpoint(endpoint, reason, now=now)
    policy.record_endpoint_health(succeeded_endpoints, failed_endpoints, now)


def rescue_stuck(now: datetime | None = None) -> int:
    """Deliveries left in "sending" past their lease (the worker died): due again now."""
    now = now or timezone.now()
    return Delivery.objects.filter(status=Status.SENDING, claimed_until__lt=now).update(
        status=Status.PENDING, next_attempt_at=now, claimed_until=None, updated_at=now
    )


def mark_due_for_queue(limit: int, now: datetime | None = None) -> tuple[list[int], datetime]:
    """Stamp up to `limit` due, un-queued pending rows with a fresh token; returns their ids.

    A row stays queued until its token lapses (HOOKHUB_REQUEUE_AFTER), so a lost enqueue is
    repaired without the sweeper flooding the queue every second."""
    now = now or timezone.now()
    token = now + timedelta(seconds=float(settings.HOOKHUB_REQUEUE_AFTER))
    with transaction.atomic():
        ids = list(
            Delivery.objects.filter(status=Status.PENDING, next_attempt_at__lte=now)
            .filter(Q(claimed_until__isnull=True) | Q(claimed_until__lt=now))
            .order_by("next_attempt_at")
            .select_for_update(skip_locked=True)
            .values_list("id", flat=True)[:limit]
        )
        if ids:
            Delivery.objects.filter(id__in=ids).update(claimed_until=token)
    return ids, token
