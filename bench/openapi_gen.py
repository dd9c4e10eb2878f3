"""Benchmark 7: generating the OpenAPI document with 500 event types vs 5, and the cache.

Runs first, on a catalogue of admin-declared types only (each with a stored JSON Schema and
an example): whatever types existed are archived for the measurement and restored after.
"""

from __future__ import annotations

import time

from django.test import Client

from bench import common

SCHEMA_URL = "/api/schema/?format=json"


def _time(client: Client, *, cached: bool, reps: int) -> float:
    from hookhub.api.docs import clear_cache

    times = []
    for _ in range(reps):
        if not cached:
            clear_cache()
        start = time.perf_counter()
        response = client.get(SCHEMA_URL)
        times.append(time.perf_counter() - start)
        if response.status_code != 200:
            raise RuntimeError(f"/api/schema/ answered {response.status_code}")
    return common.median(times)


def _webhook_count(client: Client) -> int:
    return len(client.get(SCHEMA_URL).json().get("webhooks") or {})


def _make_types(first: int, last: int) -> None:
    from subscriptions.models import EventType

    EventType.objects.bulk_create(
        [
            EventType(
                name=f"bench-oa-{i:04d}",
                description=f"Benchmark event type {i}.",
                schema={
                    "type": "object",
                    "properties": {
                        "id": {"type": "integer"},
                        "amount": {"type": "number"},
                        "customer": {
                            "type": "object",
                            "properties": {"email": {"type": "string", "format": "email"}},
                        },
                    },
                    "required": ["id"],
                },
                example={"id": i, "amount": 9.5, "customer": {"email": "a@example.com"}},
                source=EventType.Source.ADMIN,
            )
            for i in range(first, last + 1)
        ]
    )


def run(ctx) -> None:
    from subscriptions.models import EventType

    reps = 3 if ctx.quick else 5
    staff = common.user("bench-openapi-staff", staff=True)
    client = Client()
    client.force_login(staff)
    hidden = list(EventType.objects.filter(archived=False).values_list("id", flat=True))
    EventType.objects.filter(id__in=hidden).update(archived=True)
    try:
        _make_types(1, 5)
        small = []
        for _ in range(common.REPEATS):
            small.append(_time(client, cached=False, reps=reps))
        if _webhook_count(client) != 5:
            raise RuntimeError("OpenAPI: expected 5 webhooks")
        _make_types(6, 500)
        large, cached = [], []
        for _ in range(common.REPEATS):
            large.append(_time(client, cached=False, reps=reps))
            _time(client, cached=True, reps=1)  # fill the cache
            cached.append(_time(client, cached=True, reps=reps * 4))
        if _webhook_count(client) != 500:
            raise RuntimeError("OpenAPI: expected 500 webhooks")
    finally:
        EventType.objects.filter(name__startswith="bench-oa-").delete()
        EventType.objects.filter(id__in=hidden).update(archived=False)
        from hookhub.api.docs import clear_cache

        clear_cache()
    ctx.add(
        common.ratio_row(
            "7 openapi",
            "generation, 500 / 5 event types",
            [(s * 1000, b * 1000) for s, b in zip(small, large, strict=True)],
            unit="ms",
            baseline_label="5 types, uncached",
            figure_label="500 types, uncached",
            target="<= 10",
            check=lambda r: r <= 10,
        )
    )
    ctx.add(
        common.ratio_row(
            "7 openapi",
            "cached request / generation, 500 event types",
            [(b * 1000, c * 1000) for b, c in zip(large, cached, strict=True)],
            unit="ms",
            baseline_label="500 types, uncached",
            figure_label="500 types, cached",
            target="cached (< 1)",
            check=lambda r: r < 1,
        )
    )
