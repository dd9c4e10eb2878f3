"""Hand-written SQL for the statements HookHub runs per delivery: claim, record, fan-out.

The ORM is used everywhere else. Here it cost more than the database did. Profiled on
PostgreSQL, one delivery at a time: compiling the claim's queryset (filter, select_related,
defer) took longer than running its five round trips, and publish() paid the same tax on
each of its six statements. So these few statements are written once per process from the
models' `_meta` (a renamed field breaks them loudly, not silently), and each does its work
in one round trip where the database allows it:

- claim: UPDATE ... RETURNING inside a CTE whose SELECT joins the event, its type and the
  endpoint, so the rows come back claimed and ready to send (PostgreSQL); SQLite, whose
  writers are serialised anyway, runs the UPDATE ... RETURNING and then the joined SELECT.
- record one: the attempt INSERT and the delivery UPDATE as data-modifying CTEs.
- fan-out: the event INSERT and every delivery INSERT ... SELECT in one statement.

On PostgreSQL they are sent with server-side binding, so psycopg prepares them after their
first use (HOOKHUB_PG_PREPARED_STATEMENTS): a prepared record skips parsing and planning,
~90 of its ~210 microseconds. Every statement still runs through Django's cursor wrapper,
so query logging, error translation and `execute_wrappers` see it like any other query.
"""

from __future__ import annotations

import json
import weakref
from collections.abc import Iterable, Sequence
from datetime import datetime
from functools import cache

import psycopg
from django.db import connections, models
from django.db.backends.base.base import BaseDatabaseWrapper

from deliveries.models import Attempt, Delivery, Event
from subscriptions.models import Endpoint, EventType

# Sending needs the event type's name and method, not its JSON Schema, example and
# description (decoding them for every claimed row was a visible share of a claim).
UNSENT_TYPE_FIELDS = frozenset({"schema", "example", "description"})

# Why a relaxed commit is safe for claims and records: see engine.relax_commit_durability.
# set_config(..., true) is SET LOCAL as an expression, so it fits in one prepared statement.
RELAXED_COMMIT = "set_config('synchronous_commit', 'off', true)"


def cursor(db: BaseDatabaseWrapper):
    """A cursor for these statements: on PostgreSQL bound server-side (so psycopg can
    prepare them), wrapped by Django like any cursor; elsewhere Django's own cursor."""
    if db.vendor != "postgresql":
        return db.cursor()

    db.close_if_health_check_failed()
    db.ensure_connection()
    db.validate_thread_sharing()
    raw = psycopg.Cursor(db.connection)
    return db.make_debug_cursor(raw) if db.queries_logged else db.make_cursor(raw)


def _q(db: BaseDatabaseWrapper, name: str) -> str:
    return db.ops.quote_name(name)


def _prep(field: models.Field, value, db: BaseDatabaseWrapper):
    return field.get_db_prep_save(value, db)


# --- Reading claimed rows back as linked model instances -------------------------------------


class _Part:
    """One model's columns in a joined SELECT, and how to make the instance back."""

    def __init__(self, model: type[models.Model], alias: str, skip: frozenset = frozenset()):
        self.model = model
        self.alias = alias
        self.fields = [f for f in model._meta.concrete_fields if f.attname not in skip]
        self.attnames = [f.attname for f in self.fields]

    def columns(self, db: BaseDatabaseWrapper) -> list[str]:
        return [f"{self.alias}.{_q(db, f.column)}" for f in self.fields]

    def converters(self, db: BaseDatabaseWrapper) -> list[tuple]:
        # What the ORM's compiler applies to each column: the backend's, then the field's
        # (e.g. SQLite's text timestamps to aware datetimes, JSON text to Python values).
        return [
            (
                tuple(db.ops.get_db_converters(f.get_col(self.alias)))
                + tuple(f.get_db_converters(db)),
                f.get_col(self.alias),
            )
            for f in self.fields
        ]


CLAIM_PARTS = (
    _Part(Delivery, "d"),
    _Part(Event, "ev"),
    _Part(EventType, "et", skip=UNSENT_TYPE_FIELDS),
    _Part(Endpoint, "ep"),
)


def _joined_from(db: BaseDatabaseWrapper, deliveries: str) -> str:
    """FROM clause joining `deliveries` (a table or CTE, aliased d) to what sending needs."""
    return (
        f"FROM {deliveries} d "
        f"JOIN {_q(db, Event._meta.db_table)} ev ON ev.{_q(db, 'id')} = d.{_q(db, 'event_id')} "
        f"JOIN {_q(db, EventType._meta.db_table)} et "
        f"ON et.{_q(db, 'id')} = ev.{_q(db, 'event_type_id')} "
        f"JOIN {_q(db, Endpoint._meta.db_table)} ep "
        f"ON ep.{_q(db, 'id')} = d.{_q(db, 'endpoint_id')}"
    )


def _select_list(db: BaseDatabaseWrapper) -> str:
    return ", ".join(column for part in CLAIM_PARTS for column in part.columns(db))


# Per connection object (each thread has its own): backend converters are bound methods of
# that connection's `ops`.
_converters_by_connection: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()


def _converters(db: BaseDatabaseWrapper) -> list[list[tuple]]:
    found = _converters_by_connection.get(db)
    if found is None:
        found = _converters_by_connection[db] = [part.converters(db) for part in CLAIM_PARTS]
    return found


def deliveries_from_rows(db: BaseDatabaseWrapper, rows: Iterable[Sequence]) -> list[Delivery]:
    """Delivery instances with their event (and its type) and endpoint attached, as
    select_related would leave them; the type's unsent fields are deferred."""
    converters = _converters(db)
    event_field = Delivery._meta.get_field("event")
    endpoint_field = Delivery._meta.get_field("endpoint")
    type_field = Event._meta.get_field("event_type")
    out = []
    for row in rows:
        instances = []
        start = 0
        for part, part_converters in zip(CLAIM_PARTS, converters, strict=True):
            values = list(row[start : start + len(part.fields)])
            start += len(part.fields)
            for i, (funcs, expression) in enumerate(part_converters):
                for func in funcs:
                    values[i] = func(values[i], expression, db)
            instances.append(part.model.from_db(db.alias, part.attnames, values))
        delivery, event, event_type, endpoint = instances
        type_field.set_cached_value(event, event_type)
        event_field.set_cached_value(delivery, event)
        endpoint_field.set_cached_value(delivery, endpoint)
        out.append(delivery)
    return out


# --- Claim ------------------------------------------------------------------------------------


def _claim_conditions(db: BaseDatabaseWrapper, *, scheduled: bool) -> str:
    conditions = [f"{_q(db, 'status')} = %s"]
    if scheduled:
        conditions.append(f"{_q(db, 'next_attempt_at')} <= %s")
    return " AND ".join(conditions)


@cache
def claim_sql(db_alias: str, *, scheduled: bool, durable: bool, count: int = 0) -> str:
    """The claim statement. PostgreSQL: one statement that claims (skipping rows another
    worker holds) and returns the joined rows, with a relaxed commit unless `durable`.
    SQLite: the UPDATE ... RETURNING id for `count` ids (its writers are serialised, so
    there is nothing to skip). Params: claim_params, with the ids after the SET values."""

    db = connections[db_alias]
    table = _q(db, Delivery._meta.db_table)
    conditions = _claim_conditions(db, scheduled=scheduled)
    assignments = (
        f"{_q(db, 'status')} = %s, {_q(db, 'claimed_until')} = %s, {_q(db, 'updated_at')} = %s"
    )
    if db.vendor == "postgresql":
        returning = ", ".join(_q(db, f.column) for f in CLAIM_PARTS[0].fields)
        relax = "" if durable else f", {RELAXED_COMMIT}"
        # Only the models' own table and column names are formatted in; values are params.
        return (
            f"WITH won AS (UPDATE {table} SET {assignments} WHERE {_q(db, 'id')} IN ("  # noqa: S608
            f"SELECT {_q(db, 'id')} FROM {table} WHERE {_q(db, 'id')} = ANY(%s) "
            f"AND {conditions} ORDER BY {_q(db, 'id')} FOR UPDATE SKIP LOCKED) "
            f"RETURNING {returning}) "
            f"SELECT {_select_list(db)}{relax} {_joined_from(db, 'won')} ORDER BY d.{_q(db, 'id')}"
        )
    marks = ", ".join(["%s"] * count)
    return (
        f"UPDATE {table} SET {assignments} WHERE {_q(db, 'id')} IN ({marks}) "  # noqa: S608
        f"AND {conditions} RETURNING {_q(db, 'id')}"
    )


@cache
def fetch_claimed_sql(db_alias: str, count: int) -> str:

    db = connections[db_alias]
    marks = ", ".join(["%s"] * count)
    return (
        f"SELECT {_select_list(db)} {_joined_from(db, _q(db, Delivery._meta.db_table))} "  # noqa: S608
        f"WHERE d.{_q(db, 'id')} IN ({marks}) ORDER BY d.{_q(db, 'id')}"
    )


def claim_params(
    db: BaseDatabaseWrapper,
    *,
    scheduled: bool,
    now: datetime,
    lease: datetime,
) -> tuple[list, list]:
    """(SET params, WHERE params after the ids) for claim_sql."""
    field = Delivery._meta.get_field
    assign = [
        _prep(field("status"), Delivery.Status.SENDING, db),
        _prep(field("claimed_until"), lease, db),
        _prep(field("updated_at"), now, db),
    ]
    where = [_prep(field("status"), Delivery.Status.PENDING, db)]
    if scheduled:
        where.append(_prep(field("next_attempt_at"), now, db))
    return assign, where


def _busy_table(db: BaseDatabaseWrapper) -> str:
    """The worker's in-flight count per endpoint, passed as one JSON object parameter
    ({"<endpoint id>": count}) so the statement's text does not depend on how many."""
    if db.vendor == "postgresql":
        return "SELECT key::bigint AS endpoint_id, value::int AS used FROM json_each_text(%s::json)"
    return (
        "SELECT CAST(key AS INTEGER) AS endpoint_id, CAST(value AS INTEGER) AS used "
        "FROM json_each(%s)"
    )


@cache
def claim_due_sql(db_alias: str, *, durable: bool) -> str:
    """Claim up to N due pending deliveries, oldest due first, at most `cap` per endpoint
    counting what this worker already has in flight for it, skipping rows another worker
    holds (PostgreSQL). Returns the claimed rows joined (PostgreSQL) or their ids (SQLite,
    whose writers are serialised, then fetch_claimed_sql).

    Only the oldest `scan` due rows are ranked, so the statement's cost does not grow with the
    backlog; endpoints already at their cap are left out of that window, so a backlog of one
    slow endpoint does not hide everyone else's due rows. On PostgreSQL the window itself
    skips rows another worker's claim holds, so two workers claiming at once take two
    different windows instead of one getting nothing. Params: claim_due_params."""

    db = connections[db_alias]
    table = _q(db, Delivery._meta.db_table)
    status, due_at, endpoint = _q(db, "status"), _q(db, "next_attempt_at"), _q(db, "endpoint_id")
    pk = _q(db, "id")
    lock = " FOR UPDATE SKIP LOCKED" if db.vendor == "postgresql" else ""
    # Only the models' own table and column names are formatted in; values are params.
    won = (
        f"UPDATE {table} SET {status} = %s, {_q(db, 'claimed_until')} = %s, "  # noqa: S608
        f"{_q(db, 'updated_at')} = %s WHERE {pk} IN (SELECT {pk} FROM {table} "
        f"WHERE {pk} IN (SELECT {pk} FROM pick) AND {status} = %s{lock})"
    )
    # Only the models' own table and column names are formatted in; values are params.
    ctes = (
        f"WITH busy AS ({_busy_table(db)}), "  # noqa: S608
        f"due AS (SELECT {pk}, {endpoint}, {due_at} FROM {table} "
        f"WHERE {status} = %s AND {due_at} <= %s "
        f"AND {endpoint} NOT IN (SELECT endpoint_id FROM busy WHERE used >= %s) "
        f"ORDER BY {due_at} LIMIT %s{lock}), "
        f"ranked AS (SELECT due.{pk}, due.{due_at}, ROW_NUMBER() OVER ("
        f"PARTITION BY due.{endpoint} ORDER BY due.{due_at}, due.{pk}) "
        f"+ COALESCE(busy.used, 0) AS place "
        f"FROM due LEFT JOIN busy ON busy.endpoint_id = due.{endpoint}), "
        f"pick AS (SELECT {pk} FROM ranked WHERE place <= %s "
        f"ORDER BY {due_at}, {pk} LIMIT %s)"
    )
    if db.vendor == "postgresql":
        returning = ", ".join(_q(db, f.column) for f in CLAIM_PARTS[0].fields)
        relax = "" if durable else f", {RELAXED_COMMIT}"
        return (
            f"{ctes}, won AS ({won} RETURNING {returning}) "
            f"SELECT {_select_list(db)}{relax} {_joined_from(db, 'won')} ORDER BY d.{pk}"
        )
    return f"{ctes} {won} RETURNING {pk}"


def claim_due_params(
    db: BaseDatabaseWrapper,
    *,
    now: datetime,
    lease: datetime,
    limit: int,
    cap: int,
    busy: dict[int, int],
    scan: int,
) -> list:
    field = Delivery._meta.get_field
    pending = _prep(field("status"), Delivery.Status.PENDING, db)
    return [
        json.dumps({str(endpoint_id): used for endpoint_id, used in busy.items() if used}),
        pending,
        _prep(field("next_attempt_at"), now, db),
        cap,
        scan,
        cap,
        limit,
        _prep(field("status"), Delivery.Status.SENDING, db),
        _prep(field("claimed_until"), lease, db),
        _prep(field("updated_at"), now, db),
        pending,
    ]


# --- Record -----------------------------------------------------------------------------------

OUTCOME_FIELDS = (
    "status",
    "trigger",
    "attempt_count",
    "next_attempt_at",
    "claimed_until",
    "last_attempt_at",
    "last_response_status",
    "last_error_class",
    "updated_at",
)


@cache
def attempt_fields() -> tuple[models.Field, ...]:
    return tuple(field for field in Attempt._meta.concrete_fields if not field.primary_key)


@cache
def outcome_fields() -> tuple[models.Field, ...]:
    return tuple(Delivery._meta.get_field(name) for name in OUTCOME_FIELDS)


# Field types whose Python values (int, str, aware datetime, None) psycopg adapts by itself.
# Django's preparation of them (a typed psycopg wrapper per int, a zone check per datetime)
# was a visible share of recording a delivery. JSON fields still go through Django, which
# owns their encoder.
_NATIVE_ON_POSTGRES = frozenset(
    {
        "BigIntegerField",
        "CharField",
        "DateTimeField",
        "ForeignKey",
        "IntegerField",
        "PositiveIntegerField",
        "PositiveSmallIntegerField",
        "SmallIntegerField",
        "TextField",
    }
)


@cache
def _preparers(fields: tuple[models.Field, ...], vendor: str) -> tuple[tuple, ...]:
    return tuple(
        (
            field.attname,
            None
            if vendor == "postgresql" and field.get_internal_type() in _NATIVE_ON_POSTGRES
            else field.get_db_prep_save,
        )
        for field in fields
    )


def _values(instance: models.Model, fields: tuple[models.Field, ...], db) -> list:
    # Runs for every delivery. `db` is the connection itself: a field's preparation reads
    # db.ops and db.features, and through the `connection` proxy each read is a thread-local
    # lookup.
    return [
        getattr(instance, attname) if prep is None else prep(getattr(instance, attname), db)
        for attname, prep in _preparers(fields, db.vendor)
    ]


def attempt_params(row: Attempt, db: BaseDatabaseWrapper) -> list:
    return _values(row, attempt_fields(), db)


def outcome_params(delivery: Delivery, db: BaseDatabaseWrapper) -> list:
    return [*_values(delivery, outcome_fields(), db), delivery.pk]


def _attempt_insert(db: BaseDatabaseWrapper) -> str:
    fields = attempt_fields()
    columns = ", ".join(_q(db, field.column) for field in fields)
    marks = ", ".join(["%s"] * len(fields))
    return f"INSERT INTO {_q(db, Attempt._meta.db_table)} ({columns}) VALUES ({marks})"  # noqa: S608


def _outcome_update(db: BaseDatabaseWrapper) -> str:
    meta = Delivery._meta
    assignments = ", ".join(f"{_q(db, f.column)} = %s" for f in outcome_fields())
    return f"UPDATE {_q(db, meta.db_table)} SET {assignments} WHERE {_q(db, meta.pk.column)} = %s"  # noqa: S608


@cache
def insert_attempt_sql(db_alias: str) -> str:

    return _attempt_insert(connections[db_alias])


@cache
def update_outcome_sql(db_alias: str) -> str:

    return _outcome_update(connections[db_alias])


@cache
def record_one_sql(db_alias: str, *, durable: bool) -> str:
    """PostgreSQL: one attempt and its delivery's outcome in one statement. A statement is
    its own transaction (or joins the caller's), so both rows commit together or not at all.
    Params: attempt_params + outcome_params."""

    db = connections[db_alias]
    tail = "1" if durable else RELAXED_COMMIT
    return (
        f"WITH {_q(db, 'attempt')} AS ({_attempt_insert(db)}), "
        f"{_q(db, 'outcome')} AS ({_outcome_update(db)}) SELECT {tail}"
    )


# --- Fan-out ----------------------------------------------------------------------------------

# Delivery columns whose first value depends on the endpoint's state (pending and due for an
# enabled endpoint, skipped and never due for a paused or disabled one): the endpoints query
# selects them under these names beside the endpoint's `id` (deliveries.publishing._subscribed).
PER_ENDPOINT_FIELDS = ("status", "next_attempt_at")


def _insert_values(model_fields: list[models.Field], instance: models.Model, db) -> list:
    # pre_save(add=True) is what an ORM insert calls: it fills auto_now(_add) timestamps.
    return [_prep(f, f.pre_save(instance, True), db) for f in model_fields]


@cache
def fan_out_sql(db_alias: str, subscribed_sql: str) -> str:
    """PostgreSQL: the event and one delivery per subscribed endpoint, in one statement.
    Returns one row: (event id, [delivery ids], [their statuses]). `subscribed_sql` is the
    endpoints query, compiled by the ORM from deliveries.publishing._subscribed (one
    definition of "receives this type", one of the status a new delivery gets)."""

    db = connections[db_alias]
    event_fields = [f for f in Event._meta.concrete_fields if not f.primary_key]
    event_columns = ", ".join(_q(db, f.column) for f in event_fields)
    event_marks = ", ".join(["%s"] * len(event_fields))
    shared = _fan_out_shared_fields()
    delivery_columns = _fan_out_columns(db)
    # Each shared value is cast to its column's type: in INSERT ... SELECT, PostgreSQL
    # cannot infer a bare parameter's type from the target column.
    shared_values = ", ".join(f"CAST(%s AS {f.cast_db_type(db)})" for f in shared)
    pk, status = _q(db, "id"), _q(db, "status")
    return (
        f"WITH ev AS (INSERT INTO {_q(db, Event._meta.db_table)} ({event_columns}) "  # noqa: S608
        f"VALUES ({event_marks}) RETURNING {pk}), "
        f"made AS (INSERT INTO {_q(db, Delivery._meta.db_table)} ({delivery_columns}) "
        f"SELECT gen_random_uuid(), ev.{pk}, {_per_endpoint_values(db)}, {shared_values} "
        f"FROM ev CROSS JOIN ({subscribed_sql}) sub ORDER BY sub.{pk} "
        f"RETURNING {pk}, {status}) "
        f"SELECT ev.{pk}, ARRAY(SELECT {pk} FROM made ORDER BY {pk}), "
        f"ARRAY(SELECT {status} FROM made ORDER BY {pk}) FROM ev"
    )


def _fan_out_columns(db: BaseDatabaseWrapper) -> str:
    """The deliveries' INSERT column list: uid, event, endpoint, the per-endpoint columns
    (_per_endpoint_values), then the shared ones."""
    per_endpoint = [Delivery._meta.get_field(name).column for name in PER_ENDPOINT_FIELDS]
    columns = ["uid", "event_id", "endpoint_id", *per_endpoint]
    columns += [f.column for f in _fan_out_shared_fields()]
    return ", ".join(_q(db, column) for column in columns)


def _per_endpoint_values(db: BaseDatabaseWrapper) -> str:
    """The endpoints query's (`sub`) id and per-endpoint columns, in _fan_out_columns' order."""
    return ", ".join(f"sub.{_q(db, name)}" for name in ("id", *PER_ENDPOINT_FIELDS))


def _fan_out_shared_fields() -> list[models.Field]:
    """Delivery columns every delivery of one event starts with the same value in (all but
    the id, uid, the two foreign keys and PER_ENDPOINT_FIELDS)."""
    per_row = {"id", "uid", "event_id", "endpoint_id", *PER_ENDPOINT_FIELDS}
    return [f for f in Delivery._meta.concrete_fields if f.attname not in per_row]


def fan_out_params(event: Event, template: Delivery, db: BaseDatabaseWrapper) -> list:
    event_fields = [f for f in Event._meta.concrete_fields if not f.primary_key]
    return _insert_values(event_fields, event, db) + _insert_values(
        _fan_out_shared_fields(), template, db
    )


def fan_out_many(
    db: BaseDatabaseWrapper,
    events: list[Event],
    template: Delivery,
    endpoints_sql: str,
    endpoints_params: list,
) -> list[tuple[int, int, str]]:
    """One delivery per (stored event, endpoint of `endpoints_sql`) pair, with the endpoint's
    PER_ENDPOINT_FIELDS and the rest like `template`, in one statement whatever the number
    of pairs. Returns (delivery id, event id, status) rows."""
    shared = _fan_out_shared_fields()
    event_ids = [event.pk for event in events]
    ids_param = event_ids if db.vendor == "postgresql" else json.dumps(event_ids)
    params = [*_insert_values(shared, template, db), ids_param, *endpoints_params]
    with cursor(db) as cur:
        cur.execute(fan_out_many_sql(db.alias, endpoints_sql), params)
        return [tuple(row) for row in cur.fetchall()]


# SQLite has no UUID function: 16 random bytes as the 32 hex digits Django stores a UUIDField
# in, with the version (4) and variant bits set as uuid.uuid4() would.
_SQLITE_UUID4 = (
    "lower(hex(randomblob(6)) || '4' || substr(hex(randomblob(2)), 2) || "
    "substr('89ab', 1 + (random() & 3), 1) || substr(hex(randomblob(2)), 2) || "
    "hex(randomblob(6)))"
)


def endpoints_from_rows(db: BaseDatabaseWrapper, rows: Iterable[Sequence]) -> tuple[str, list]:
    """SQLite: fan_out_many's endpoints query as one JSON parameter, from rows of (id,
    *PER_ENDPOINT_FIELDS values) read before the write transaction (which holds SQLite's
    only write lock from its start). The text is the same for any number of rows."""
    fields = [Delivery._meta.get_field(name) for name in PER_ENDPOINT_FIELDS]
    data = [
        [pk, *(_prep(field, value, db) for field, value in zip(fields, values, strict=True))]
        for pk, *values in rows
    ]
    columns = ", ".join(
        f"json_extract(value, '$[{i}]') AS {_q(db, name)}"
        for i, name in enumerate(("id", *PER_ENDPOINT_FIELDS))
    )
    return f"SELECT {columns} FROM json_each(%s)", [json.dumps(data)]  # noqa: S608 - fixed names


@cache
def fan_out_many_sql(db_alias: str, endpoints_sql: str) -> str:
    """INSERT ... SELECT of the deliveries for the event ids (one array parameter) crossed
    with the endpoints `endpoints_sql` selects (`id` and PER_ENDPOINT_FIELDS), ordered so
    each event's deliveries get consecutive ids (publish_many)."""

    db = connections[db_alias]
    q = db.ops.quote_name
    postgres = db.vendor == "postgresql"
    shared = _fan_out_shared_fields()
    columns = _fan_out_columns(db)
    if postgres:
        # In INSERT ... SELECT, PostgreSQL cannot infer a bare parameter's type from the
        # target column, so each is cast to it.
        values = ", ".join(f"CAST(%s AS {f.cast_db_type(db)})" for f in shared)
        uid = "gen_random_uuid()"
        event_ids = f"unnest(CAST(%s AS {Event._meta.pk.cast_db_type(db)}[])) AS ev(id)"
    else:
        values = ", ".join("%s" for _ in shared)
        uid = _SQLITE_UUID4
        event_ids = "(SELECT value AS id FROM json_each(%s)) AS ev"
    return (
        f"INSERT INTO {q(Delivery._meta.db_table)} ({columns}) "  # noqa: S608
        f"SELECT {uid}, ev.id, {_per_endpoint_values(db)}, {values} "
        f"FROM {event_ids} CROSS JOIN ({endpoints_sql}) AS sub "
        f"ORDER BY ev.id, sub.{q('id')} "
        f"RETURNING {q('id')}, {q('event_id')}, {q('status')}"
    )


@cache
def publish_many_sql(db_alias: str, subscribed_sql: str) -> str:
    """PostgreSQL: N events and one delivery per (event, subscribed endpoint) in one
    statement, so a batch costs one round trip and one commit, not BEGIN, two INSERTs and
    COMMIT. The events' columns arrive as one array parameter each (unnest keeps the text
    independent of N). Returns (event id, event uid, NULL, NULL) for each event and
    (event id, NULL, delivery id, delivery status) for each delivery. Params:
    publish_many_params, then the subscription query's (deliveries.publishing._subscribed,
    as in fan_out_sql)."""

    db = connections[db_alias]
    fields = _event_insert_fields()
    columns = ", ".join(_q(db, f.column) for f in fields)
    arrays = ", ".join(f"CAST(%s AS {f.cast_db_type(db)}[])" for f in fields)
    shared = _fan_out_shared_fields()
    delivery_columns = _fan_out_columns(db)
    shared_values = ", ".join(f"CAST(%s AS {f.cast_db_type(db)})" for f in shared)
    pk, uid, status = _q(db, "id"), _q(db, "uid"), _q(db, "status")
    return (
        f"WITH ev AS (INSERT INTO {_q(db, Event._meta.db_table)} ({columns}) "  # noqa: S608
        f"SELECT * FROM unnest({arrays}) RETURNING {pk}, {uid}), "
        f"made AS (INSERT INTO {_q(db, Delivery._meta.db_table)} ({delivery_columns}) "
        f"SELECT gen_random_uuid(), ev.{pk}, {_per_endpoint_values(db)}, {shared_values} "
        f"FROM ev CROSS JOIN ({subscribed_sql}) sub ORDER BY ev.{pk}, sub.{pk} "
        f"RETURNING {pk}, {_q(db, 'event_id')}, {status}) "
        f"SELECT ev.{pk}, ev.{uid}, NULL::bigint, NULL FROM ev "
        f"UNION ALL SELECT made.{_q(db, 'event_id')}, NULL, made.{pk}, made.{status} FROM made"
    )


def _event_insert_fields() -> list[models.Field]:
    return [f for f in Event._meta.concrete_fields if not f.primary_key]


def publish_many_params(events: list[Event], template: Delivery, db) -> list:
    """One array per event column, in publish_many_sql's order, then the shared delivery
    values."""
    fields = _event_insert_fields()
    rows = [_insert_values(fields, event, db) for event in events]
    return [[row[i] for row in rows] for i in range(len(fields))] + _insert_values(
        _fan_out_shared_fields(), template, db
    )
