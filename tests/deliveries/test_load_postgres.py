"""The scale configuration under load: PostgreSQL + Redis, two worker processes."""

from __future__ import annotations

import time

import pytest
from django.conf import settings
from django.db import transaction

from deliveries.models import Delivery
from deliveries.publishing import publish
from tests.deliveries.workers import WorkerProcess, is_postgres, wait_until

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.slow, pytest.mark.postgres]


def test_1000_events_to_5_endpoints_with_2_workers_all_arrive_once(
    receiver, make_endpoint, real_queue
):
    if not is_postgres() or not settings.REDIS_URL:
        pytest.skip("needs DATABASE_URL=postgres://... and REDIS_URL (the scale configuration)")
    for index in range(5):
        make_endpoint(f"/e{index}")
    workers = [WorkerProcess(HOOKHUB_Q_WORKERS="2") for _ in range(2)]
    try:
        start = time.monotonic()
        for batch in range(10):
            with transaction.atomic():
                for number in range(100):
                    publish("order-paid", {"id": batch * 100 + number})
        published = time.monotonic() - start
        done = wait_until(
            lambda: Delivery.objects.filter(status=Delivery.Status.SUCCEEDED).count() == 5000,
            timeout=180,
            interval=0.5,
        )
        elapsed = time.monotonic() - start
        assert done, [w.output()[-2000:] for w in workers]
    finally:
        for worker in workers:
            worker.stop()
    ids = [(r.path, r.headers["webhook-id"]) for r in receiver.requests]
    assert len(set(ids)) == 5000  # none lost
    assert len(ids) - len(set(ids)) <= 50, "a few duplicates are allowed, not a flood"
    print(
        f"\n5000 deliveries in {elapsed:.1f}s ({5000 / elapsed:.0f}/s); publishing {published:.1f}s"
    )
