"""publish() and publish_many(): the provider's calls. Validate, store, enqueue after commit.

Every endpoint that receives the event's type gets a delivery, whatever its state: pending
for an enabled one, "skipped" for a paused or system-disabled one (never sent; kept so
deliveries.actions.send_missed can send it after re-enabling, and pruned by retention with
its event). Only the pending ones are enqueued.

The events and their deliveries are written in the caller's transaction (a transactional
outbox): if the caller rolls back, nothing was published and no task exists. Fan-out is one
INSERT for all deliveries, whatever the number of endpoints; on PostgreSQL publish() writes
the event, runs the endpoints query and inserts the deliveries in one statement
(deliveries.statements). publish_many() inserts all events with one bulk INSERT and all
(event x endpoint) deliveries with one INSERT ... SELECT, so its query count does not grow
with the batch either.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from typing import Any

from django.conf import settings
from django.db import DEFAULT_DB_ALIAS, IntegrityError, connections, transaction
from django.db.backends.base.base import BaseDatabaseWrapper
from django.db.models import Case, CharField, Count, DateTimeField, Q, Value, When
from django.utils import timezone
from jsonschema.exceptions import SchemaError

from deliveries import queue, statements
from deliveries.models import Delivery, Event
from subscriptions.models import Endpoint, EventType
from subscriptions.schemas import payload_validator, unstorable_text

# How often publish_many() retries after losing an idempotency-key race to another
# publisher before the IntegrityError is the caller's.
RACE_RETRIES = 3


class PublishError(Exception):
    """Base of everything publish() and publish_many() refuse. `.message` is plain words;
    `.errors` lists {"path", "message"} pairs (path is dotted within `data`, "" for the
    whole payload). publish_many() adds "index" to each pair: the position (from 0) of the
    refused item in its list, so `path` means the same in both calls."""

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


class BatchTooLarge(PublishError):
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
    """Check `data` against the type's JSON Schema (formats included: see
    subscriptions.schemas.payload_validator) and the size limits; raise PublishError.

    A code-declared type is checked against the schema generated from its serializer, the
    one the document shows, so what is sent is what receivers were promised."""
    payload_checker(event_type)(data)


def payload_checker(event_type: EventType) -> Callable[[Any], None]:
    """validate_payload for many payloads of one type: the JSON Schema validator and the
    limits are prepared once, so a batch pays for them once rather than per event."""
    depth_limit = int(settings.HOOKHUB_MAX_PAYLOAD_DEPTH)
    size_limit = int(settings.HOOKHUB_MAX_PAYLOAD_BYTES)
    try:
        validator = payload_validator(event_type.schema or {})
    except SchemaError as exc:
        raise _broken_schema(event_type, exc) from None

    def check(data) -> None:
        if (problem := unstorable_text(data)) is not None:
            raise InvalidPayload(f"The payload {problem}.", [{"path": "", "message": problem}])
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
        if size > size_limit:
            raise PayloadTooLarge(
                f"The payload is {size} bytes; the limit is {size_limit} bytes.",
                [{"path": "", "message": f"Larger than {size_limit} bytes."}],
            )
        try:
            errors = sorted(validator.iter_errors(data), key=lambda err: list(err.absolute_path))
        except SchemaError as exc:
            raise _broken_schema(event_type, exc) from None
        if errors:
            listed = [
                {"path": ".".join(str(part) for part in err.absolute_path), "message": err.message}
                for err in errors
            ]
            where = ", ".join(item["path"] or "(whole payload)" for item in listed[:5])
            raise InvalidPayload(
                f"The payload does not match the {event_type.name!r} schema at: {where}.", listed
            )

    return check


def _broken_schema(event_type: EventType, exc: SchemaError) -> InvalidPayload:
    return InvalidPayload(
        f"The event type {event_type.name!r} has an invalid schema; ask an admin to fix it.",
        [{"path": "", "message": exc.message}],
    )


def check_batch_size(count: int) -> None:
    """Refuse a batch larger than HOOKHUB_PUBLISH_BATCH_MAX: it is one transaction, which
    holds SQLite's write lock (and its rows' locks on PostgreSQL) until every row is in."""
    limit = int(settings.HOOKHUB_PUBLISH_BATCH_MAX)
    if count > limit:
        raise BatchTooLarge(
            f"A batch may hold at most {limit} events; this one has {count}.",
            [{"path": "", "message": f"More than {limit} events."}],
        )


def publish(type_name: str, data, *, idempotency_key: str | None = None, scope: str = "") -> Event:
    """Publish one event to every endpoint subscribed to its type: sent to the enabled ones,
    kept as skipped for the paused or system-disabled ones.

    Returns the Event, with `delivery_count` set (skipped deliveries included). A key
    already used in `scope` returns the original event and creates nothing (its
    `delivery_count` is then the stored count)."""
    event_type = get_event_type(type_name)
    if idempotency_key:
        existing = _existing(scope, idempotency_key)
        if existing is not None:
            return existing
    validate_payload(event_type, data)
    event = _new_event(event_type, data, scope, idempotency_key)
    try:
        _store(event)
    except IntegrityError:
        # Two publishers raced on one key; the first one won.
        if idempotency_key and (existing := _existing(scope, idempotency_key)) is not None:
            return existing
        raise
    return event


def publish_many(
    type_name: str,
    data_list: Iterable,
    *,
    idempotency_keys: Sequence[str | None] | None = None,
    scope: str = "",
) -> list[Event]:
    """Publish events of one type, all or nothing, in one transaction.

    Every payload is checked first; if any is refused, the PublishError (the class of the
    first refused item's error) lists every refused item's errors, each with its "index",
    and nothing is stored. Returns the events in input order, each with `delivery_count`.
    `idempotency_keys`, if given, has one key (or None) per payload and works as in
    publish(): a key already used in `scope` gives back the original event, unchecked and
    unchanged, and a key repeated within the batch names the first item's event, as if
    the items were published one after the other. All new deliveries are enqueued once,
    after commit."""
    items = list(data_list)
    if idempotency_keys is None:
        keys: list[str | None] = [None] * len(items)
    else:
        keys = [key or None for key in idempotency_keys]
        if len(keys) != len(items):
            raise ValueError("idempotency_keys needs one entry (a key or None) per payload.")
    check_batch_size(len(items))
    event_type = get_event_type(type_name)
    if not items:
        return []
    keyed = any(keys)
    originals = _existing_many(scope, keys) if keyed else {}
    _check_batch(event_type, items, keys, originals)
    for attempt in range(RACE_RETRIES):
        published, fresh = _assemble(event_type, items, keys, originals, scope)
        try:
            if fresh:
                _store_many(event_type, fresh)
        except IntegrityError:
            if not keyed or attempt == RACE_RETRIES - 1:
                raise
            # Another publisher stored some of these keys first: theirs are the originals.
            originals = _existing_many(scope, keys)
            continue
        return published
    raise AssertionError("unreachable")  # pragma: no cover - the loop returns or raises


def _check_batch(
    event_type: EventType, items: list, keys: list[str | None], originals: dict[str, Event]
) -> None:
    """Check every payload that will be stored, collecting each refused item's errors, so
    a client fixes the whole batch after one answer."""
    check = payload_checker(event_type)
    seen = set(originals)
    refused: list[tuple[int, PublishError]] = []
    for index, (data, key) in enumerate(zip(items, keys, strict=True)):
        if key is not None:
            if key in seen:
                continue  # a replay: its data is ignored, as in publish()
            seen.add(key)
        try:
            check(data)
        except PublishError as error:
            refused.append((index, error))
    if not refused:
        return
    index, first = refused[0]
    message = f"Item {index} of the batch (counting from 0): {first.message}"
    if len(refused) > 1:
        message += f" {len(refused) - 1} other item(s) were refused too."
    errors = [{"index": i, **item} for i, error in refused for item in error.errors]
    raise type(first)(f"{message} Nothing was published.", errors)


def _assemble(
    event_type: EventType,
    items: list,
    keys: list[str | None],
    originals: dict[str, Event],
    scope: str,
) -> tuple[list[Event], list[Event]]:
    """The batch's events in input order, and those of them still to be stored."""
    by_key = dict(originals)
    published: list[Event] = []
    fresh: list[Event] = []
    for data, key in zip(items, keys, strict=True):
        event = by_key.get(key) if key is not None else None
        if event is None:
            event = _new_event(event_type, data, scope, key)
            fresh.append(event)
            if key is not None:
                by_key[key] = event
        published.append(event)
    return published, fresh


def _new_event(event_type: EventType, data, scope: str, key: str | None) -> Event:
    return Event(
        event_type=event_type, payload=data, idempotency_scope=scope, idempotency_key=key or None
    )


def _existing(scope: str, key: str) -> Event | None:
    return _existing_many(scope, [key]).get(key)


def _existing_many(scope: str, keys: Iterable[str | None]) -> dict[str, Event]:
    """Events already published in `scope` under these keys, by key, with their stored
    `delivery_count` (one query)."""
    wanted = {key for key in keys if key}
    if not wanted:
        return {}
    found = Event.objects.filter(idempotency_scope=scope, idempotency_key__in=wanted).annotate(
        delivery_count=Count("deliveries")
    )
    return {event.idempotency_key: event for event in found}


def _pending() -> Delivery:
    """What a new delivery to an enabled endpoint starts as: pending and due now, so any
    worker may claim it (the queued message only wakes one up sooner). Its status and due
    time are per endpoint (_subscribed); every other column is shared by all new rows."""
    return Delivery(status=Delivery.Status.PENDING, next_attempt_at=timezone.now())


def _enqueue_after_commit(db: BaseDatabaseWrapper, rows: Iterable[tuple[int, str]]) -> None:
    """Enqueue the new (delivery id, status) rows that are pending; skipped ones wait.

    Calls inside one transaction share one enqueue at its commit: a caller publishing a
    burst of 100 calls in `transaction.atomic()` sends messages for all of them together
    rather than 100 small ones. A message only wakes a worker (its ids are a hint; workers
    claim what is due), so ids of a savepoint rolled back meanwhile cost nothing."""
    ids = [pk for pk, status in rows if status == Delivery.Status.PENDING]
    if not ids:
        return
    pending = _pending_enqueue(db)
    if pending is not None:
        pending.extend(ids)
        return
    pending = list(ids)  # filled before registering: outside a transaction it runs at once

    def enqueue_all() -> None:
        enqueue_all.pending = None  # run: later publishes need a callback of their own
        queue.enqueue(sorted(pending))

    enqueue_all.pending = pending  # found again by _pending_enqueue
    transaction.on_commit(enqueue_all, using=db.alias)


def _pending_enqueue(db: BaseDatabaseWrapper) -> list[int] | None:
    """The id list of this transaction's enqueue callback, if one is registered: Django
    keeps the callbacks in `run_on_commit` until commit, and drops them on rollback."""
    if not db.in_atomic_block:
        return None
    for _savepoints, callback, *_ in reversed(db.run_on_commit):
        pending = getattr(callback, "pending", None)
        if pending is not None:
            return pending
    return None


def _store(event: Event) -> None:
    """Insert the event and one pending delivery per subscribed endpoint, all or nothing, and
    enqueue them once that is committed. Sets the event's `delivery_count`."""
    db = connections[DEFAULT_DB_ALIAS]
    if db.vendor != "postgresql":
        _store_many(event.event_type, [event])
        return
    template = _pending()
    if db.in_atomic_block and event.idempotency_key:
        # A savepoint: a lost idempotency race must not break the caller's transaction.
        with transaction.atomic(using=db.alias):
            rows = _store_in_one_statement(db, event, template)
    else:
        rows = _store_in_one_statement(db, event, template)  # a statement is its own transaction
    event.delivery_count = len(rows)
    _enqueue_after_commit(db, rows)


def _store_many(event_type: EventType, events: list[Event]) -> None:
    """Insert the events and one delivery per (event, subscribed endpoint) pair, all or
    nothing (one statement on PostgreSQL), then enqueue the pending ones once that is
    committed. Sets each event's `delivery_count`."""
    db = connections[DEFAULT_DB_ALIAS]
    template = _pending()
    if db.vendor == "postgresql":
        if db.in_atomic_block and any(event.idempotency_key for event in events):
            # A savepoint: a lost idempotency race must not break the caller's transaction
            # (without keys there is no race to lose, and no extra round trips to pay).
            with transaction.atomic(using=db.alias):
                rows = _store_many_in_one_statement(db, event_type, events, template)
        else:
            rows = _store_many_in_one_statement(db, event_type, events, template)
    else:
        rows = _store_many_sqlite(db, event_type, events, template)
    per_event = Counter(event_id for _, event_id, _ in rows)
    for event in events:
        event.delivery_count = per_event[event.pk]
    _enqueue_after_commit(db, ((delivery_id, status) for delivery_id, _, status in rows))


def _store_many_in_one_statement(db, event_type, events, template) -> list[tuple[int, int, str]]:
    """PostgreSQL: the events and their deliveries in one round trip (a statement is its own
    transaction); returns (delivery id, event id, status) rows and sets each event's pk."""
    subscribed = _subscribed(event_type, template)
    subscribed_sql, subscribed_params = subscribed.query.sql_with_params()
    sql = statements.publish_many_sql(db.alias, subscribed_sql)
    params = [*statements.publish_many_params(events, template, db), *subscribed_params]
    with statements.cursor(db) as cursor:
        cursor.execute(sql, params)
        returned = cursor.fetchall()
    by_uid = {uid: event_id for event_id, uid, delivery_id, _ in returned if delivery_id is None}
    for event in events:
        event.pk = by_uid[event.uid]
        event._state.adding, event._state.db = False, db.alias
    return [
        (delivery_id, event_id, status)
        for event_id, _, delivery_id, status in returned
        if delivery_id
    ]


def _store_many_sqlite(db, event_type, events, template) -> list[tuple[int, int, str]]:
    """SQLite: a bulk INSERT of the events, then the deliveries' INSERT ... SELECT."""
    # Read before writing: SQLite's write lock is held from the transaction's start, so the
    # subscription query runs outside it; its rows go in as one JSON parameter.
    subscribed = _subscribed(event_type, template)
    endpoints = list(subscribed.values_list("id", *statements.PER_ENDPOINT_FIELDS))
    endpoints_sql, endpoints_params = statements.endpoints_from_rows(db, endpoints)
    anyone = bool(endpoints)
    with transaction.atomic(using=db.alias):
        Event.objects.using(db.alias).bulk_create(events)
        return (
            statements.fan_out_many(db, events, template, endpoints_sql, endpoints_params)
            if anyone
            else []
        )


def _subscribed(event_type: EventType, template: Delivery):
    """The endpoints that get a delivery of an event of `event_type`: every one receiving
    the type, whatever its state (Endpoint.objects.receiving), with the status and due time
    its delivery starts with (statements.PER_ENDPOINT_FIELDS), the one rule for both: an
    enabled endpoint's is `template`'s, pending and due now; a paused or system-disabled
    endpoint's is skipped and never due, so no worker claims it. The statements embed this
    query, so a publish call costs the same round trips whatever the endpoints' states."""
    enabled = Q(state=Endpoint.State.ENABLED)
    return (
        Endpoint.objects.receiving(event_type)
        .order_by()
        .values(
            "id",
            status=Case(
                When(enabled, then=Value(str(template.status))),
                default=Value(Delivery.Status.SKIPPED.value),
                output_field=CharField(),
            ),
            next_attempt_at=Case(
                When(enabled, then=Value(template.next_attempt_at)),
                default=None,
                output_field=DateTimeField(),
            ),
        )
    )


def _store_in_one_statement(db, event: Event, template: Delivery) -> list[tuple[int, str]]:
    """PostgreSQL: the event and all its deliveries in one round trip (deliveries.statements)
    instead of BEGIN, two INSERTs, the endpoints query and COMMIT. Returns (delivery id,
    status) rows."""
    subscribed = _subscribed(event.event_type, template)
    subscribed_sql, subscribed_params = subscribed.query.sql_with_params()
    sql = statements.fan_out_sql(db.alias, subscribed_sql)
    with statements.cursor(db) as cursor:
        cursor.execute(sql, [*statements.fan_out_params(event, template, db), *subscribed_params])
        event.pk, ids, statuses = cursor.fetchone()
    event._state.adding, event._state.db = False, db.alias
    return list(zip(ids, statuses, strict=True))
