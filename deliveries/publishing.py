"""publish(): the provider's one call. Validate, store, and enqueue only after commit.

The Event and its Deliveries are written in the caller's transaction (a transactional
outbox): if the caller rolls back, nothing was published and no task exists. Fan-out is one
INSERT for all deliveries, whatever the number of endpoints; on PostgreSQL the event, the
endpoints query and the deliveries are one statement (deliveries.statements).
"""

from __future__ import annotations

import json
from datetime import timedelta

from django.conf import settings
from django.db import DEFAULT_DB_ALIAS, IntegrityError, connections, transaction
from django.utils import timezone
from jsonschema import Draft202012Validator
from jsonschema.exceptions import SchemaError

from deliveries import queue, statements
from deliveries.models import Delivery, Event
from subscriptions.models import Endpoint, EventType


class PublishError(Exception):
    """Base of everything publish() refuses. `.message` is plain words; `.errors` lists
    {"path", "message"} pairs (path is dotted, "" for the whole payload)."""

    def __init__(self, message: str, errors: list[dict] | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.errors = errors or []


class UnknownEventType(PublishError):
    pass


class InvalidPayload(PublishError):
    pass


class PayloadTooLarge(PublishError):
    pass


def get_event_type(type_name: str) -> EventType:
    event_type = EventType.objects.filter(name=type_name).first()
    if event_type is None:
        raise UnknownEventType(
            f"There is no event type named {type_name!r}.",
            [{"path": "type", "message": "Unknown event type."}],
        )
    if event_type.archived:
        raise UnknownEventType(
            f"The event type {type_name!r} is archived and can no longer be published.",
            [{"path": "type", "message": "Archived event type."}],
        )
    return event_type


def nesting_depth(data, *, stop_after: int) -> int:
    """How deeply lists and dicts nest in `data` (a scalar is 0), counted without recursion
    so a hostile payload cannot exhaust the stack; stops counting past `stop_after`."""
    deepest, stack = 0, [(data, 1)]
    while stack:
        value, depth = stack.pop()
        if isinstance(value, dict | list):
            deepest = max(deepest, depth)
            if depth > stop_after:
                return depth
            children = value.values() if isinstance(value, dict) else value
            stack.extend((child, depth + 1) for child in children)
    return deepest


def validate_payload(event_type: EventType, data) -> None:
    """Check `data` against the type's JSON Schema and the size limit; raise PublishError."""
    depth_limit = int(settings.HOOKHUB_MAX_PAYLOAD_DEPTH)
    if nesting_depth(data, stop_after=depth_limit) > depth_limit:
        raise InvalidPayload(
            f"The payload is nested deeper than {depth_limit} levels.",
            [{"path": "", "message": f"Nested deeper than {depth_limit} levels."}],
        )
    try:
        size = len(json.dumps(data, separators=(",", ":"), ensure_ascii=False).encode())
    except (TypeError, ValueError) as exc:
        raise InvalidPayload(
            "The payload is not JSON-serialisable.", [{"path": "", "message": str(exc)}]
        ) from None
    limit = int(settings.HOOKHUB_MAX_PAYLOAD_BYTES)
    if size > limit:
        raise PayloadTooLarge(
            f"The payload is {size} bytes; the limit is {limit} bytes.",
            [{"path": "", "message": f"Larger than {limit} bytes."}],
        )
    schema = event_type.schema or {}
    try:
        validator = Draft202012Validator(schema)
        errors = sorted(validator.iter_errors(data), key=lambda err: list(err.absolute_path))
    except SchemaError as exc:
        raise InvalidPayload(
            f"The event type {event_type.name!r} has an invalid schema; ask an admin to fix it.",
            [{"path": "", "message": exc.message}],
        ) from None
    if errors:
        listed = [
            {"path": ".".join(str(part) for part in err.absolute_path), "message": err.message}
            for err in errors
        ]
        where = ", ".join(item["path"] or "(whole payload)" for item in listed[:5])
        raise InvalidPayload(
            f"The payload does not match the {event_type.name!r} schema at: {where}.", listed
        )


def publish(type_name: str, data, *, idempotency_key: str | None = None, scope: str = "") -> Event:
    """Publish one event to every enabled endpoint subscribed to its type.

    Returns the Event, with `delivery_count` set. A key already used in `scope` returns the
    original event and creates nothing (its `delivery_count` is then the stored count)."""
    event_type = get_event_type(type_name)
    if idempotency_key:
        existing = _existing(scope, idempotency_key)
        if existing is not None:
            return existing
    validate_payload(event_type, data)
    event = Event(
        event_type=event_type,
        payload=data,
        idempotency_scope=scope,
        idempotency_key=idempotency_key or None,
    )
    try:
        ids = _store(event)
    except IntegrityError:
        # Two publishers raced on one key; the first one won.
        if idempotency_key and (existing := _existing(scope, idempotency_key)) is not None:
            return existing
        raise
    event.delivery_count = len(ids)
    return event


def _existing(scope: str, key: str) -> Event | None:
    event = Event.objects.filter(idempotency_scope=scope, idempotency_key=key).first()
    if event is not None:
        event.delivery_count = event.deliveries.count()
    return event


def _store(event: Event) -> list[int]:
    """Insert the event and one pending delivery per subscribed endpoint, all or nothing, and
    enqueue them once that is committed. Returns the delivery ids."""
    db = connections[DEFAULT_DB_ALIAS]
    now = timezone.now()
    # Stamped as queued (see deliveries.engine): the sweeper leaves them alone unless the
    # enqueue is lost, in which case it re-enqueues them when the token lapses.
    token = now + timedelta(seconds=float(settings.HOOKHUB_REQUEUE_AFTER))
    template = Delivery(status=Delivery.Status.PENDING, next_attempt_at=now, claimed_until=token)
    if db.vendor != "postgresql":
        # Read before writing: SQLite's write lock is held from the transaction's start, so
        # the subscription query runs outside it.
        endpoint_ids = list(_subscribed(event).values_list("id", flat=True))
        with transaction.atomic(using=db.alias):
            event.save(force_insert=True)
            ids = _fan_out_rows(event, template, endpoint_ids)
    elif db.in_atomic_block:
        # A savepoint: a lost idempotency race must not break the caller's transaction.
        with transaction.atomic(using=db.alias):
            ids = _store_in_one_statement(db, event, template)
    else:
        ids = _store_in_one_statement(db, event, template)  # a statement is its own transaction
    if ids:
        transaction.on_commit(lambda: queue.enqueue(ids, token), using=db.alias)
    return ids


def _subscribed(event: Event):
    return Endpoint.objects.subscribed_to(event.event_type).order_by().values("id")


def _store_in_one_statement(db, event: Event, template: Delivery) -> list[int]:
    """PostgreSQL: the event and all its deliveries in one round trip (deliveries.statements)
    instead of BEGIN, two INSERTs, the endpoints query and COMMIT."""
    subscribed_sql, subscribed_params = _subscribed(event).query.sql_with_params()
    sql = statements.fan_out_sql(db.alias, subscribed_sql)
    with statements.cursor(db) as cursor:
        cursor.execute(sql, [*statements.fan_out_params(event, template, db), *subscribed_params])
        event.pk, ids = cursor.fetchone()
    event._state.adding, event._state.db = False, db.alias
    return list(ids)


def _fan_out_rows(event: Event, template: Delivery, endpoint_ids: list[int]) -> list[int]:
    if not endpoint_ids:
        return []
    rows = Delivery.objects.bulk_create(
        [
            Delivery(
                event=event,
                endpoint_id=endpoint_id,
                status=template.status,
                next_attempt_at=template.next_attempt_at,
                claimed_until=template.claimed_until,
            )
            for endpoint_id in endpoint_ids
        ]
    )
    ids = [row.pk for row in rows]
    if None in ids:  # backends that can't return ids from a bulk insert
        ids = list(event.deliveries.values_list("id", flat=True))
    return ids
