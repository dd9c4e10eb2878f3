"""Claim due deliveries, send them, record the attempts. Called only by deliveries.tasks.

Batches all the way: one claim statement (deliveries.statements: on PostgreSQL it skips rows
other workers hold and returns the claimed rows joined to what sending needs), concurrent
sends over kept-alive connections, one executemany of attempts and one of outcomes.

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
from django.db import DEFAULT_DB_ALIAS, connection, connections, transaction
from django.db.models import Q
from django.utils import timezone

from deliveries import policy, signing, statements, transport
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
    """Move pending rows to "sending" for this worker; returns only the rows it won, with
    their event, event type and endpoint loaded (see deliveries.statements)."""
    if not ids:
        return []
    db = connections[DEFAULT_DB_ALIAS]
    now = timezone.now()
    assign, where = statements.claim_params(
        db, token=token, scheduled=scheduled, now=now, lease=claim_lease(len(ids), now)
    )
    shape = {"with_token": token is not None, "scheduled": scheduled}
    if db.vendor == "postgresql":
        # One round trip: skip rows another worker holds, claim the rest, return them joined.
        # Its commit need not be durable: a claim lost in a crash leaves the row pending and
        # queued, and the sweeper re-enqueues it (see relax_commit_durability).
        durable = bool(settings.HOOKHUB_DURABLE_ATTEMPTS)
        sql = statements.claim_sql(db.alias, durable=durable, **shape)
        with statements.cursor(db) as cursor:
            cursor.execute(sql, [*assign, list(ids), *where])
            return statements.deliveries_from_rows(db, cursor.fetchall())
    # SQLite: the IMMEDIATE transaction already serialises writers.
    sql = statements.claim_sql(db.alias, durable=True, count=len(ids), **shape)
    with transaction.atomic(using=db.alias), db.cursor() as cursor:
        cursor.execute(sql, [*assign, *ids, *where])
        won = sorted(row[0] for row in cursor.fetchall())
    if not won:
        return []
    with db.cursor() as cursor:
        cursor.execute(statements.fetch_claimed_sql(db.alias, len(won)), won)
        return statements.deliveries_from_rows(db, cursor.fetchall())


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


_secrets_cache: dict[tuple, list[str]] = {}
SECRETS_CACHE_MAX = 10_000


def signing_secrets(endpoint: Endpoint, now: datetime) -> list[str]:
    """endpoint.signing_secrets(), remembered per process by the encrypted values: each
    decryption costs more than signing, and a worker sends to the same endpoints all day.
    A rotated or re-encrypted secret has new ciphertext, so it is never served stale."""
    key = (
        endpoint.secret_encrypted,
        endpoint.previous_secret_encrypted,
        endpoint.previous_secret_expires_at,
    )
    expires = endpoint.previous_secret_expires_at
    if expires is not None and expires <= now:
        key = (endpoint.secret_encrypted, "", None)  # the previous secret no longer signs
    found = _secrets_cache.get(key)
    if found is None:
        found = endpoint.signing_secrets(now)
        if len(_secrets_cache) >= SECRETS_CACHE_MAX:
            _secrets_cache.clear()
        _secrets_cache[key] = found
    return list(found)


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
            secrets[endpoint.pk] = signing_secrets(endpoint, now)
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

    # Only endpoints that were failing when claimed need their streak cleared: skipping the
    # UPDATE for the rest saves a statement per batch. (A streak another worker starts in
    # the milliseconds since the claim is cleared by the endpoint's next success.)
    failing = {d.endpoint_id for d in live if d.endpoint.failing_since is not None}
    recovered, failed_only = succeeded_endpoints & failing, failed_endpoints - succeeded_endpoints
    if len(attempts) == 1 and not cancelled and not recovered and not failed_only:
        record_one(attempts[0], live[0])  # the usual single delivery: no health to record
    else:
        write_records(attempts, live + cancelled, recovered=recovered, failed=failed_only, now=now)
    for endpoint, reason in gone.values():
        policy.disable_endpoint(endpoint, reason, now=now)


def relax_commit_durability() -> None:
    """On PostgreSQL, let this transaction's COMMIT return before its WAL reaches the disk.

    Used for claims and attempt records, never for publishing. A database crash can then
    lose their last moments, never corrupt anything (the WAL keeps commit order, so a record
    never outlives its claim). That stays within at-least-once: a lost claim leaves the row
    pending and queued (the sweeper re-enqueues it when its token lapses), a lost record
    leaves it "sending" (the sweeper takes it back after its lease); either way it is sent
    again, and receivers de-duplicate on webhook-id. It saves an fsync per batch, the largest
    cost of recording on PostgreSQL. HOOKHUB_DURABLE_ATTEMPTS=True keeps full durability."""
    if connection.vendor != "postgresql" or settings.HOOKHUB_DURABLE_ATTEMPTS:
        return
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT {statements.RELAXED_COMMIT}")  # noqa: S608 - a constant


def write_records(
    attempts: list[Attempt],
    deliveries: list[Delivery],
    *,
    recovered: set[int] = frozenset(),
    failed: set[int] = frozenset(),
    now: datetime | None = None,
) -> None:
    """Store attempts, deliveries' outcomes and the endpoints' failure streaks (`recovered`
    and `failed` endpoint ids, see policy.record_endpoint_health) in one commit.

    A prepared INSERT and a prepared UPDATE, each sent with executemany (psycopg pipelines
    it: one round trip per batch). Django's bulk_update builds a CASE expression per field
    and row, which cost more CPU than sending the requests (~9 of 17 s for 1,000 deliveries,
    profiled), and bulk_create's per-object bookkeeping more than the insert itself.

    The parameters are prepared before the transaction begins: on SQLite it holds the
    database's only write lock, and preparing a batch's values inside it (~2 ms for 50)
    made every other writer wait that long."""
    db = connections[DEFAULT_DB_ALIAS]
    attempt_rows = [statements.attempt_params(row, db) for row in attempts]
    outcome_rows = [statements.outcome_params(delivery, db) for delivery in deliveries]
    with transaction.atomic(using=db.alias):
        relax_commit_durability()
        with statements.cursor(db) as cursor:
            if attempt_rows:
                cursor.executemany(statements.insert_attempt_sql(db.alias), attempt_rows)
            if outcome_rows:
                cursor.executemany(statements.update_outcome_sql(db.alias), outcome_rows)
        policy.record_endpoint_health(recovered, failed, now)  # no query when both are empty


def record_one(attempt: Attempt, delivery: Delivery) -> None:
    """Store one attempt and its delivery's outcome in one round trip on PostgreSQL.

    The general path costs five (BEGIN, SET LOCAL, INSERT, UPDATE, COMMIT), more than the
    POST itself when deliveries come one at a time. Here the INSERT and the UPDATE are
    data-modifying CTEs of one prepared statement, which is its own transaction (or joins
    the caller's, as the atomic block would). SQLite keeps the general path."""
    db = connections[DEFAULT_DB_ALIAS]
    if db.vendor != "postgresql":
        write_records([attempt], [delivery])
        return
    sql = statements.record_one_sql(db.alias, durable=bool(settings.HOOKHUB_DURABLE_ATTEMPTS))
    with statements.cursor(db) as cursor:
        cursor.execute(
            sql, statements.attempt_params(attempt, db) + statements.outcome_params(delivery, db)
        )


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
