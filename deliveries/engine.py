"""The delivery stages, in order: claim, build and sign, send, decide, record.

Each stage is a small function here; deliveries.dispatcher strings them together inside a
worker (many deliveries in flight at once), and `deliver_now` does it synchronously for
django-q2's sync mode. The SQL behind claim and record is in deliveries.statements.

- claim: `claim_due` takes whatever is due in bulk (at most HOOKHUB_ENDPOINT_MAX_IN_FLIGHT per
  endpoint, counting what the worker already has in flight); `claim` takes named rows
  (sync mode). Either moves rows from pending to sending under a lease (`lease_until`).
- build and sign: `build_requests` (the wire body, custom headers, Standard Webhooks
  signatures with every valid secret).
- send: deliveries.transport.
- decide: deliveries.policy.decide, per finished delivery, inside `record`.
- record: `record` stores attempts, outcomes and failure streaks in one commit.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.conf import settings
from django.db import DEFAULT_DB_ALIAS, connection, connections, transaction
from django.utils import timezone

from deliveries import operational, policy, signing, statements, transport
from deliveries.models import Attempt, Delivery, Event
from subscriptions import headers as custom_headers
from subscriptions import services, wire
from subscriptions.models import Endpoint

logger = logging.getLogger(__name__)
Status = Delivery.Status
Trigger = Attempt.Trigger


@dataclass
class OutboundRequest:
    delivery: Delivery
    method: str
    url: str
    headers: dict
    body: bytes
    # Why HookHub could not build this request (e.g. a secret it cannot decrypt): it is not
    # sent, and its attempt is recorded as an internal error, retried on the schedule.
    problem: str = ""

    def unsent_result(self) -> transport.TransportResult:
        now = timezone.now()
        return transport.TransportResult(
            started_at=now,
            finished_at=now,
            duration_ms=0,
            error_class=Attempt.ErrorClass.INTERNAL,
            error_message=self.problem[: transport.MESSAGE_MAX],
        )


def lease_until(now: datetime) -> datetime:
    """Until when a claimed delivery stays "sending" before the sweeper may take it back.

    A claimed row is sent at once (claims respect the per-endpoint cap, so nothing queues
    behind a busy endpoint) or after at most HOOKHUB_RATE_LIMIT_HOLD (rate limit), and the
    transport ends every attempt by HOOKHUB_DELIVERY_DEADLINE; HOOKHUB_CLAIM_MARGIN covers
    recording. So no lease lapses while its attempt can still run."""
    seconds = (
        float(settings.HOOKHUB_DELIVERY_DEADLINE)
        + float(settings.HOOKHUB_RATE_LIMIT_HOLD)
        + float(settings.HOOKHUB_CLAIM_MARGIN)
    )
    return now + timedelta(seconds=seconds)


def claim_due(limit: int, busy: dict[int, int] | None = None) -> list[Delivery]:
    """Claim up to `limit` due deliveries, oldest due first, with their event, event type and
    endpoint loaded; no endpoint ends up with more than HOOKHUB_ENDPOINT_MAX_IN_FLIGHT
    counting `busy` (endpoint id -> deliveries the caller already has in flight)."""
    if limit <= 0:
        return []
    db = connections[DEFAULT_DB_ALIAS]
    now = timezone.now()
    params = statements.claim_due_params(
        db,
        now=now,
        lease=lease_until(now),
        limit=limit,
        cap=max(1, int(settings.HOOKHUB_ENDPOINT_MAX_IN_FLIGHT)),
        busy=busy or {},
        scan=max(limit * int(settings.HOOKHUB_CLAIM_SCAN_FACTOR), limit),
    )
    if db.vendor == "postgresql":
        durable = bool(settings.HOOKHUB_DURABLE_ATTEMPTS)
        with statements.cursor(db) as cursor:
            cursor.execute(statements.claim_due_sql(db.alias, durable=durable), params)
            return statements.deliveries_from_rows(db, cursor.fetchall())
    with transaction.atomic(using=db.alias), db.cursor() as cursor:
        cursor.execute(statements.claim_due_sql(db.alias, durable=True), params)
        won = sorted(row[0] for row in cursor.fetchall())
    return _fetch_claimed(db, won)


def _fetch_claimed(db, ids: list[int]) -> list[Delivery]:
    if not ids:
        return []
    with db.cursor() as cursor:
        cursor.execute(statements.fetch_claimed_sql(db.alias, len(ids)), ids)
        return statements.deliveries_from_rows(db, cursor.fetchall())


def claim(ids: list[int], *, scheduled: bool) -> list[Delivery]:
    """Move these pending rows to "sending" (django-q2's sync mode sends the rows its message
    names); returns only the rows won, loaded as claim_due's are. `scheduled` also requires
    them to be due."""
    if not ids:
        return []
    db = connections[DEFAULT_DB_ALIAS]
    now = timezone.now()
    assign, where = statements.claim_params(
        db, scheduled=scheduled, now=now, lease=lease_until(now)
    )
    if db.vendor == "postgresql":
        # One round trip: skip rows another worker holds, claim the rest, return them joined.
        # Its commit need not be durable: a claim lost in a crash leaves the row pending,
        # and a worker claims it again (see relax_commit_durability).
        durable = bool(settings.HOOKHUB_DURABLE_ATTEMPTS)
        sql = statements.claim_sql(db.alias, durable=durable, scheduled=scheduled)
        with statements.cursor(db) as cursor:
            cursor.execute(sql, [*assign, list(ids), *where])
            return statements.deliveries_from_rows(db, cursor.fetchall())
    # SQLite: the IMMEDIATE transaction already serialises writers.
    sql = statements.claim_sql(db.alias, durable=True, count=len(ids), scheduled=scheduled)
    with transaction.atomic(using=db.alias), db.cursor() as cursor:
        cursor.execute(sql, [*assign, *ids, *where])
        won = sorted(row[0] for row in cursor.fetchall())
    return _fetch_claimed(db, won)


def wire_body(event: Event) -> bytes:
    """The JSON every receiver gets (subscriptions.wire): the same bytes on every try."""
    return wire.body(event.event_type.name, event.created_at, event.payload)


# Decrypted values, per process, keyed by their ciphertext: each decryption costs more than
# signing, and a worker sends to the same endpoints all day. New values (a rotation, an edit,
# a re-encryption) bring new ciphertext, so nothing is ever served stale.
_decrypted: dict[object, object] = {}
SECRETS_CACHE_MAX = 10_000


def _remembered(key, decrypt):
    found = _decrypted.get(key)
    if found is None:
        found = decrypt()
        if len(_decrypted) >= SECRETS_CACHE_MAX:
            _decrypted.clear()
        _decrypted[key] = found
    return found


def signing_secrets(endpoint: Endpoint, now: datetime) -> list[str]:
    """endpoint.signing_secrets(), remembered. The key is the ciphertexts of the secrets
    signing at `now` (endpoint.signing_tokens), so an expired one leaves the key too."""
    key = ("secrets", endpoint.signing_tokens(now))
    return list(_remembered(key, lambda: endpoint.signing_secrets(now)))


def sendable_headers(endpoint: Endpoint) -> dict[str, str]:
    """The endpoint's custom headers in clear (subscriptions.headers.sendable), remembered."""
    token = endpoint.headers_encrypted
    if not token:
        return {}
    return dict(_remembered(("headers", token), lambda: custom_headers.sendable(endpoint.headers)))


def build_requests(deliveries: list[Delivery]) -> list[OutboundRequest]:
    now = timezone.now()
    timestamp = int(time.time())
    bodies: dict[int, bytes] = {}
    secrets: dict[int, list[str]] = {}
    extra: dict[int, dict[str, str]] = {}
    out = []
    for delivery in deliveries:
        event, endpoint = delivery.event, delivery.endpoint
        try:
            if event.pk not in bodies:
                bodies[event.pk] = wire_body(event)
            if endpoint.pk not in secrets:
                secrets[endpoint.pk] = signing_secrets(endpoint, now)
            if endpoint.pk not in extra:
                extra[endpoint.pk] = sendable_headers(endpoint)
        except Exception as exc:  # one bad row must not stop the others
            logger.exception("Could not build delivery %s", delivery.pk)
            problem = f"HookHub could not build the request: {exc.__class__.__name__}: {exc}"
            method, url = event.event_type.method, endpoint.url
            out.append(OutboundRequest(delivery, method, url, {}, b"", problem))
            continue
        body = bodies[event.pk]
        headers = dict(extra[endpoint.pk])
        headers["content-type"] = "application/json"
        headers["user-agent"] = settings.HOOKHUB_USER_AGENT
        headers.update(signing.signature_headers(event.uid, timestamp, body, secrets[endpoint.pk]))
        out.append(OutboundRequest(delivery, event.event_type.method, endpoint.url, headers, body))
    return out


@dataclass
class Finished:
    """A claimed delivery the engine is done with for now, waiting to be recorded: sent
    (`result` set), not sent because its endpoint is no longer enabled (neither set), or
    handed back unsent until `release_until` (over its endpoint's rate limit)."""

    delivery: Delivery
    request: OutboundRequest | None = None
    result: transport.TransportResult | None = None
    release_until: datetime | None = None


def should_send(delivery: Delivery) -> bool:
    """A test goes to an endpoint in any state; everything else only to an enabled one."""
    return delivery.trigger == Trigger.TEST or delivery.endpoint.state == Endpoint.State.ENABLED


def deliver_now(deliveries: list[Delivery]) -> None:
    """Send claimed deliveries from synchronous code and record them: django-q2's sync mode
    (tests, the shell). Workers use deliveries.dispatcher instead."""
    live = [d for d in deliveries if should_send(d)]
    outbound = build_requests(live)
    sendable = [r for r in outbound if not r.problem]
    results = iter(transport.send_batch([(r.method, r.url, r.headers, r.body) for r in sendable]))
    finished = [
        Finished(r.delivery, r, r.unsent_result() if r.problem else next(results)) for r in outbound
    ]
    finished += [Finished(d) for d in deliveries if not should_send(d)]
    record(finished)


def _attempt(item: Finished) -> Attempt:
    req, result, delivery = item.request, item.result, item.delivery
    return Attempt(
        delivery=delivery,
        number=delivery.attempt_count + 1,
        trigger=delivery.trigger,
        started_at=result.started_at,
        finished_at=result.finished_at,
        duration_ms=result.duration_ms,
        request_method=req.method,
        request_url=req.url[:2000],
        # The signature, and every custom header whose value is a secret (the receiver's
        # credentials), never reach the attempt log.
        request_headers=custom_headers.redact(
            signing.redact(req.headers), delivery.endpoint.secret_header_names
        ),
        request_body=req.body.decode("utf-8", errors="replace"),
        response_status=result.status,
        response_headers=result.headers,
        response_body=result.body,
        error_class=result.error_class,
        error_message=result.error_message,
    )


def _unclaim(delivery: Delivery, status: str, next_attempt_at, now: datetime) -> None:
    delivery.status = status
    delivery.next_attempt_at = next_attempt_at
    delivery.claimed_until = None
    delivery.updated_at = now


def record(finished: list[Finished]) -> None:
    """Decide each finished delivery's next state (deliveries.policy) and store the attempts,
    the outcomes and the endpoints' failure streaks in one commit."""
    now = timezone.now()
    attempts, sent = [], []
    succeeded_endpoints: set[int] = set()
    failed_endpoints: set[int] = set()
    gone: dict[int, tuple[Endpoint, str]] = {}
    exhausted: list[Delivery] = []  # retries used up: an operational webhook each
    for item in finished:
        delivery, result = item.delivery, item.result
        if item.release_until is not None:  # over the rate limit: due again later, unsent
            _unclaim(delivery, Status.PENDING, item.release_until, now)
            continue
        if result is None:  # the endpoint was paused or disabled after it was claimed
            delivery.trigger = Trigger.SCHEDULED
            _unclaim(delivery, Status.CANCELLED, None, now)
            continue
        attempt = _attempt(item)
        # Whatever asked for this try (a test, a replay), any next one is scheduled.
        delivery.trigger = Trigger.SCHEDULED
        attempts.append(attempt)
        sent.append(delivery)
        schedule = delivery.endpoint.retry_schedule
        outcome = policy.decide(result, attempt.number, attempt.trigger, now, schedule)
        delivery.attempt_count = attempt.number
        _unclaim(delivery, outcome.status, outcome.next_attempt_at, now)
        delivery.last_attempt_at = result.started_at
        delivery.last_response_status = result.status
        delivery.last_error_class = result.error_class
        if attempt.trigger != Trigger.TEST:
            ids = succeeded_endpoints if result.succeeded else failed_endpoints
            ids.add(delivery.endpoint_id)
            if outcome.disable_reason:
                gone[delivery.endpoint_id] = (delivery.endpoint, outcome.disable_reason)
            elif outcome.status == Status.FAILED:
                exhausted.append(delivery)

    # Only endpoints that were failing when claimed need their streak cleared: skipping the
    # UPDATE for the rest saves a statement per batch. (A streak another worker starts in
    # the milliseconds since the claim is cleared by the endpoint's next success.)
    failing = {d.endpoint_id for d in sent if d.endpoint.failing_since is not None}
    recovered, failed_only = succeeded_endpoints & failing, failed_endpoints - succeeded_endpoints
    deliveries = [item.delivery for item in finished]
    if len(attempts) == 1 and len(deliveries) == 1 and not recovered and not failed_only:
        record_one(attempts[0], deliveries[0])  # a lone delivery: no health to record
    elif deliveries:
        write_records(attempts, deliveries, recovered=recovered, failed=failed_only, now=now)
    for endpoint, reason in gone.values():
        services.disable_endpoint(endpoint, reason, now=now)
    if exhausted:
        operational.deliveries_exhausted(exhausted)


def relax_commit_durability() -> None:
    """On PostgreSQL, let this transaction's COMMIT return before its WAL reaches the disk.

    Used for claims and attempt records, never for publishing. A database crash can then
    lose their last moments, never corrupt anything (the WAL keeps commit order, so a record
    never outlives its claim). That stays within at-least-once: a lost claim leaves the row
    pending and due (a worker claims it again), a lost record
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
    and row, which cost more CPU than sending the requests (docs/benchmarks.md), and
    bulk_create's per-object bookkeeping more than the insert itself.

    The parameters are prepared before the transaction begins: on SQLite it holds the
    database's only write lock, and every other writer would wait while they are built."""
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
