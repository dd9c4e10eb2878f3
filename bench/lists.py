"""Benchmark 5: the delivery log page and the API list with 1,000,000 attempts.

Rows are generated with set-based SQL (generate_series on PostgreSQL, a recursive CTE on
SQLite): 250,000 events, one delivery each to the owner's endpoint, four attempts per
delivery (three 500s, then a 200). Pages are fetched through Django's test Client, signed in
(the dashboard) and with a Bearer token (the API), exactly as a browser or client would.
"""

from __future__ import annotations

import base64
import time
from urllib.parse import urlencode

from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext

from bench import common

LIST_TYPE = "bench-list"
ATTEMPTS_PER_DELIVERY = 4
SMALL = 10_000
WRITE_CHUNK = 50_000  # events per INSERT ... SELECT, so no statement runs for minutes


def _series(start: int, stop: int) -> str:
    """A one-column row source `g(x)` counting start..stop inclusive.

    SQL below is built with f-strings only from ints and constants of this module."""
    if connection.vendor == "postgresql":
        return f"generate_series({int(start)}, {int(stop)}) AS g(x)"
    return (
        f"(WITH RECURSIVE s(x) AS (SELECT {int(start)} UNION ALL SELECT x + 1 FROM s "  # noqa: S608
        f"WHERE x < {int(stop)}) SELECT x FROM s) AS g"
    )


def _sql_bits() -> dict[str, str]:
    if connection.vendor == "postgresql":
        return {
            "uuid": "gen_random_uuid()",
            "stamp": "timestamptz '2026-01-01 00:00:00+00' + g.x * interval '1 second'",
        }
    return {
        "uuid": "lower(hex(randomblob(16)))",
        "stamp": "datetime('2026-01-01', '+' || g.x || ' seconds')",
    }


def generate(type_id: int, endpoint_id: int, url: str, first: int, last: int) -> None:
    """Events first..last, a delivery each to the endpoint, four attempts per delivery."""
    from deliveries.models import Delivery

    bits = _sql_bits()
    # Deliveries gained a NOT NULL `trigger` column with the in-flight engine (a Django
    # default, not a database one): fill it when the model has it.
    has_trigger = any(f.column == "trigger" for f in Delivery._meta.concrete_fields)
    trigger = (", trigger", ", 'scheduled'") if has_trigger else ("", "")
    with connection.cursor() as cursor:
        for start in range(first, last + 1, WRITE_CHUNK):
            stop = min(last, start + WRITE_CHUNK - 1)
            cursor.execute("SELECT COALESCE(MAX(id), 0) FROM deliveries_event")
            event_floor = cursor.fetchone()[0]
            cursor.execute("SELECT COALESCE(MAX(id), 0) FROM deliveries_delivery")
            delivery_floor = cursor.fetchone()[0]
            cursor.execute(
                "INSERT INTO deliveries_event (uid, payload, idempotency_scope, "  # noqa: S608 - only ints and constants are formatted in
                "idempotency_key, created_at, event_type_id) "
                f"SELECT 'msg_bench_' || g.x, '{{\"id\": 1}}', '', NULL, {bits['stamp']}, %s "
                f"FROM {_series(start, stop)}",
                [type_id],
            )
            cursor.execute(
                "INSERT INTO deliveries_delivery (uid, status, attempt_count, next_attempt_at, "  # noqa: S608 - only ints and constants are formatted in
                "claimed_until, last_attempt_at, last_response_status, last_error_class, "
                f"created_at, updated_at, endpoint_id, event_id{trigger[0]}) "
                f"SELECT {bits['uuid']}, 'succeeded', {ATTEMPTS_PER_DELIVERY}, NULL, NULL, "
                f"e.created_at, 200, '', e.created_at, e.created_at, %s, e.id{trigger[1]} "
                "FROM deliveries_event e WHERE e.id > %s ORDER BY e.id",
                [endpoint_id, event_floor],
            )
            numbers = " UNION ALL ".join(
                f"SELECT {i} AS x" for i in range(1, ATTEMPTS_PER_DELIVERY + 1)
            )
            cursor.execute(
                "INSERT INTO deliveries_attempt (number, trigger, started_at, finished_at, "  # noqa: S608 - only ints and constants are formatted in
                "duration_ms, request_method, request_url, request_headers, request_body, "
                "response_status, response_headers, response_body, error_class, "
                "error_message, delivery_id) "
                "SELECT n.x, 'scheduled', d.created_at, d.created_at, 5, 'POST', %s, '{}', "
                f"'{{\"id\": 1}}', CASE WHEN n.x = {ATTEMPTS_PER_DELIVERY} THEN 200 ELSE 500 END, "
                f"'{{}}', '', CASE WHEN n.x = {ATTEMPTS_PER_DELIVERY} THEN '' "
                "ELSE 'http-status' END, '', d.id "
                f"FROM deliveries_delivery d CROSS JOIN ({numbers}) n WHERE d.id > %s "
                "ORDER BY d.id, n.x",
                [url, delivery_floor],
            )
        # Fresh planner statistics, as autovacuum (PostgreSQL) or `ANALYZE` would give them.
        cursor.execute("ANALYZE")


def _cursor(position: int) -> str:
    """DRF CursorPagination's cursor for "rows older than `position`" (ordering -id)."""
    return base64.b64encode(urlencode({"p": str(position)}).encode("ascii")).decode("ascii")


def _time_pages(client: Client, pages: dict[str, tuple[str, dict]], reps: int) -> dict:
    """Median seconds per page. The pages take turns, request by request, so a burst of load
    from elsewhere on the machine hits all of them alike instead of one page's whole series."""
    for url, headers in pages.values():
        for _ in range(2):  # warm: template loading, first-query plans
            client.get(url, **headers)
    times: dict[str, list[float]] = {name: [] for name in pages}
    for _ in range(reps):
        for name, (url, headers) in pages.items():
            start = time.perf_counter()
            response = client.get(url, **headers)
            times[name].append(time.perf_counter() - start)
            if response.status_code != 200:
                raise RuntimeError(f"GET {url} answered {response.status_code}")
    return {name: common.median(values) for name, values in times.items()}


def _queries(client: Client, url: str, headers: dict) -> list[dict]:
    with CaptureQueriesContext(connection) as captured:
        client.get(url, **headers)
    return list(captured.captured_queries)


def _plan(sql: str) -> list[str]:
    """The database's plan for the page's slowest query, for the report."""
    explain = "EXPLAIN ANALYZE " if connection.vendor == "postgresql" else "EXPLAIN QUERY PLAN "
    with connection.cursor() as cursor:
        cursor.execute(explain + sql)
        return [str(row[-1]) for row in cursor.fetchall()]


def _measure(ctx, endpoint, token: str, client: Client, reps: int) -> dict[str, float]:
    from deliveries.models import Delivery

    ids = list(Delivery.objects.filter(endpoint=endpoint).order_by("id").values_list("id")[:51])
    deepest = ids[-1][0]
    auth = {"HTTP_AUTHORIZATION": f"Bearer {token}"}
    log = f"/endpoints/{endpoint.uid}/deliveries/"
    api = "/api/v1/deliveries/"
    pages = {
        "log_first": (log, {}),
        "log_deep": (f"{log}?before={deepest}", {}),
        "api_first": (api, auth),
        "api_deep": (f"{api}?cursor={_cursor(deepest)}", auth),
    }
    result = _time_pages(client, pages, reps)
    ctx.extras.setdefault("list_queries", {})
    for name, (url, hdrs) in pages.items():
        captured = _queries(client, url, hdrs)
        slowest = max(captured, key=lambda q: float(q["time"]))
        ctx.extras["list_queries"][name] = {
            "queries": len(captured),
            "counts": sum("COUNT(" in q["sql"].upper() for q in captured),
            "slowest_ms": round(float(slowest["time"]) * 1000, 1),
        }
        if result[name] > 0.1:  # a page slower than 100 ms: keep its plan for the report
            ctx.extras.setdefault("slow_plans", {})[name] = _plan(slowest["sql"])
    return result


def run(ctx) -> None:
    from subscriptions.models import ApiToken

    big = 100_000 if ctx.quick else 1_000_000
    reps = 5 if ctx.quick else 15
    owner = common.user("bench-list-owner")
    type_obj = common.event_type(LIST_TYPE)
    url = ctx.receiver.url("/list")
    (endpoint,) = common.endpoints(owner, type_obj, [url])
    _, token = ApiToken.issue(owner, name="bench")
    client = Client()
    client.force_login(owner)

    small_deliveries = SMALL // ATTEMPTS_PER_DELIVERY
    big_deliveries = big // ATTEMPTS_PER_DELIVERY
    start = time.perf_counter()
    generate(type_obj.pk, endpoint.pk, url, 1, small_deliveries)
    print(f"    {SMALL:,} attempts written in {time.perf_counter() - start:.1f} s", flush=True)
    small = [_measure(ctx, endpoint, token, client, reps) for _ in range(common.REPEATS)]
    start = time.perf_counter()
    generate(type_obj.pk, endpoint.pk, url, small_deliveries + 1, big_deliveries)
    took = time.perf_counter() - start
    print(f"    grown to {big:,} attempts in {took:.1f} s", flush=True)
    ctx.extras["list_generation_s"] = took
    large = [_measure(ctx, endpoint, token, client, reps) for _ in range(common.REPEATS)]
    label = f"{big:,}"

    def row(metric, pairs, base_label, fig_label):
        ctx.add(
            common.ratio_row(
                "5 lists",
                metric,
                [(b * 1000, f * 1000) for b, f in pairs],
                unit="ms",
                baseline_label=base_label,
                figure_label=fig_label,
                target="<= 1.5",
                check=lambda r: r <= 1.5,
            )
        )

    row(
        f"delivery log page, deepest / first, {label} attempts",
        [(m["log_first"], m["log_deep"]) for m in large],
        "first page",
        "deepest page",
    )
    row(
        f"API list, deepest / first, {label} attempts",
        [(m["api_first"], m["api_deep"]) for m in large],
        "first page",
        "deepest page",
    )
    row(
        f"delivery log first page, {label} / 10,000 attempts",
        [(s["log_first"], m["log_first"]) for s, m in zip(small, large, strict=True)],
        "10k attempts",
        f"{label} attempts",
    )
    row(
        f"API list first page, {label} / 10,000 attempts",
        [(s["api_first"], m["api_first"]) for s, m in zip(small, large, strict=True)],
        "10k attempts",
        f"{label} attempts",
    )
