"""Benchmarks that run HookHub's code in this process: the hot path (2) and fan-out (3)."""

from __future__ import annotations

import time

from django.db import transaction
from django.utils import timezone

from bench import common

HOT_TYPE = "bench-hot"
FANOUT_TYPE = "bench-fanout"
HOT_ENDPOINTS = 50


def _make_deliveries(type_obj, endpoint_rows, per_endpoint: int) -> list[int]:
    """per_endpoint events x the endpoints, bulk-inserted as claimed ("sending") rows."""
    from deliveries.models import Delivery, Event

    events = Event.objects.bulk_create(
        [Event(event_type=type_obj, payload=common.payload(i)) for i in range(per_endpoint)]
    )
    if any(e.pk is None for e in events):
        events = list(Event.objects.filter(event_type=type_obj).order_by("-id")[:per_endpoint])
    now = timezone.now()
    rows = Delivery.objects.bulk_create(
        [
            Delivery(event=e, endpoint=ep, status=Delivery.Status.SENDING, claimed_until=now)
            for e in events
            for ep in endpoint_rows
        ]
    )
    ids = [row.pk for row in rows]
    if None in ids:
        ids = list(
            Delivery.objects.filter(event__in=events).order_by("id").values_list("id", flat=True)
        )
    return ids


class _StagedSender:
    """The in-flight engine's stages for one delivery at a time: build and sign
    (`engine.build_requests`), send on one kept-alive `transport.Client`, record
    (`engine.record`). All on this thread, the send on an event loop run here: the row
    measures what the stages cost per delivery. The dispatcher's thread hand-offs, which
    hundreds of deliveries in flight share, are in the pipeline and W1-W5 rows."""

    def __init__(self) -> None:
        import asyncio

        from deliveries import transport

        self.loop = asyncio.new_event_loop()
        self.client = transport.Client()

    def _run(self, coro):
        return self.loop.run_until_complete(coro)

    def process(self, deliveries: list) -> None:
        from deliveries import engine

        for request in engine.build_requests(deliveries):
            result = self._run(
                self.client.send(request.method, request.url, request.headers, request.body)
            )
            engine.record([engine.Finished(request.delivery, request, result)])

    def close(self) -> None:
        self._run(self.client.close())
        self.loop.close()


def _processor():
    """`engine.process` where it exists (the threaded engine), else the staged sender."""
    from deliveries import engine

    if hasattr(engine, "process"):
        return engine.process, lambda: None
    sender = _StagedSender()
    return sender.process, sender.close


def hot_path(ctx) -> None:
    """HookHub's build-sign-send-record for one delivery at a time (engine.process on one
    claimed delivery, or the in-flight engine's stages, _StagedSender: signed request,
    kept-alive send, attempt row, delivery update, endpoint health) against the raw signed
    Session loop."""
    n = 200 if ctx.quick else 1000
    owner = common.user("bench-hot-owner")
    type_obj = common.event_type(HOT_TYPE)
    rows = common.endpoints(
        owner, type_obj, [ctx.receiver.url(f"/hot/{i}") for i in range(HOT_ENDPOINTS)]
    )
    runs = []
    process, close = _processor()
    try:
        for _ in range(common.REPEATS):
            runs.append(_hot_round(ctx, process, type_obj, rows, n))
    finally:
        close()
    ctx.add(
        common.ratio_row(
            "2 hot path",
            f"one delivery at a time, {n} in a loop",
            runs,
            unit="req/s",
            baseline_label="serial requests.Session",
            figure_label="build-sign-send-record",
            target=">= 0.7",
            check=lambda r: r >= 0.7,
        )
    )


def _hot_round(ctx, process, type_obj, rows, n: int) -> tuple[float, float]:
    from deliveries.models import Attempt, Delivery

    ids = _make_deliveries(type_obj, rows, n // HOT_ENDPOINTS)
    deliveries = list(
        Delivery.objects.filter(id__in=ids)
        .select_related("event__event_type", "endpoint")
        .order_by("id")
    )
    baseline = common.raw_rate(ctx.receiver.url("/raw"), n)
    ctx.receiver.reset()
    process(deliveries[:1])  # warm the session and the pool
    start = time.perf_counter()
    for delivery in deliveries[1:]:
        process([delivery])
    figure = (len(deliveries) - 1) / (time.perf_counter() - start)
    recorded = Attempt.objects.filter(delivery_id__in=ids, response_status=200).count()
    if recorded != len(deliveries) or ctx.receiver.count() != len(deliveries):
        raise RuntimeError(f"Hot path: {recorded} attempts for {len(deliveries)} deliveries")
    print(f"    raw {baseline:.0f}/s, hot path {figure:.0f}/s", flush=True)
    return baseline, figure


def fan_out(ctx) -> None:
    """publish() of one event to 1,000 endpoints vs one bulk_create of 1,000 plain rows."""
    from deliveries.models import Delivery, Event
    from deliveries.publishing import publish

    count = 1000
    owner = common.user("bench-fanout-owner")
    type_obj = common.event_type(FANOUT_TYPE)
    # Nobody listens at these URLs: no worker runs during this benchmark, and the rows are
    # deleted (and the queue purged) before any worker starts.
    rows = common.endpoints(
        owner, type_obj, [f"http://127.0.0.1:9/fanout/{i}" for i in range(count)]
    )
    runs = []
    try:
        for i in range(common.REPEATS + 1):  # the first round warms caches and is dropped
            event = Event.objects.create(event_type=type_obj, payload=common.payload(i))
            start = time.perf_counter()
            with transaction.atomic():
                Delivery.objects.bulk_create(
                    [Delivery(event=event, endpoint=ep, next_attempt_at=None) for ep in rows]
                )
            baseline = time.perf_counter() - start
            start = time.perf_counter()
            published = publish(FANOUT_TYPE, common.payload(i))
            figure = time.perf_counter() - start
            if published.delivery_count != count:
                raise RuntimeError(f"Fan-out made {published.delivery_count} deliveries")
            if i:
                runs.append((baseline * 1000, figure * 1000))
                print(
                    f"    bulk_create {baseline * 1000:.1f} ms, publish {figure * 1000:.1f} ms",
                    flush=True,
                )
    finally:
        Event.objects.filter(event_type=type_obj).delete()
        _purge_queue()
    ctx.add(
        common.ratio_row(
            "3 fan-out",
            "publish to 1,000 endpoints (time)",
            runs,
            unit="ms",
            baseline_label="bulk_create 1,000 rows",
            figure_label="publish() incl. enqueue",
            target="<= 3.0",
            check=lambda r: r <= 3.0,
        )
    )


def _purge_queue() -> None:
    from bench.workloads import purge_queue

    purge_queue()  # deliveries.queue.broker, or deliveries.tasks.broker before the move
