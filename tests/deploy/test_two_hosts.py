"""Two hosts: two separate `manage.py run_worker` processes (same queue name, as two
machines would run them) on PostgreSQL + Redis, one receiver on 127.0.0.1. One host is
killed mid-run (SIGKILL of its whole cluster); every delivery is still made, none lost, and
a duplicate only ever repeats the same `webhook-id` with the same body."""

from __future__ import annotations

import time
from collections import Counter

import pytest
from django.db import transaction
from standardwebhooks.webhooks import Webhook

from deliveries.models import Attempt, Delivery, Event
from deliveries.publishing import publish
from tests.deliveries.workers import WorkerProcess, is_postgres, wait_until

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.slow, pytest.mark.postgres]

EVENTS = 300
# Short leases so the surviving host takes over the dead host's claims within seconds. The
# messages Redis had given the dead host need no repair: they only woke it up, and the
# surviving host claims whatever is due by itself.
LEASE = {
    "HOOKHUB_DELIVERY_DEADLINE": "3",
    "HOOKHUB_CLAIM_MARGIN": "1",
    "HOOKHUB_Q_WORKERS": "1",
}


def test_two_worker_hosts_deliver_everything_even_when_one_dies(
    receiver, make_endpoint, real_queue, settings
):
    if not is_postgres() or not settings.REDIS_URL:
        pytest.skip(
            "*** SKIPPED two-host test: needs DATABASE_URL=postgres://... and REDIS_URL "
            "(run `make test-postgres`) ***"
        )
    endpoint = make_endpoint()
    hosts = {
        name: WorkerProcess(HOOKHUB_USER_AGENT=f"HookHub/{name}", **LEASE)
        for name in ("host-a", "host-b")
    }
    try:
        # Both hosts up before anything is published: on a loaded machine one host's start
        # could take longer than the other needs to deliver a third of the events.
        for host in hosts.values():
            up = wait_until(lambda h=host: "HookHub worker running" in h.output(), 60)
            assert up, host.output()[-2000:]
        start = time.monotonic()
        for batch in range(EVENTS // 50):
            with transaction.atomic():
                for number in range(50):
                    publish("order-paid", {"id": batch * 50 + number})
        assert receiver.wait_for(EVENTS // 3, timeout=60), hosts["host-a"].output()[-2000:]
        hosts["host-a"].kill()  # the host dies mid-run, whatever it was sending
        killed_after = time.monotonic() - start
        done = wait_until(
            lambda: Delivery.objects.filter(status=Delivery.Status.SUCCEEDED).count() == EVENTS,
            timeout=120,
            interval=0.5,
        )
        elapsed = time.monotonic() - start
        assert done, hosts["host-b"].output()[-3000:]
    finally:
        for host in hosts.values():
            host.stop()

    event_ids = set(Event.objects.values_list("uid", flat=True))
    received = [request.headers["webhook-id"] for request in receiver.requests]
    assert set(received) == event_ids, "every event arrived, and nothing unknown did"
    bodies: dict[str, set[bytes]] = {}
    verifier = Webhook(endpoint.secret)
    for request in receiver.requests:
        bodies.setdefault(request.headers["webhook-id"], set()).add(request.body)
        verifier.verify(request.body, request.headers)  # every request is properly signed
    assert all(len(versions) == 1 for versions in bodies.values()), "a duplicate is the same event"
    by_host = Counter(request.headers["user-agent"] for request in receiver.requests)
    assert by_host["HookHub/host-a"] > 0 and by_host["HookHub/host-b"] > 0, by_host
    assert Attempt.objects.filter(response_status=200).count() >= EVENTS
    duplicates = len(received) - len(set(received))
    print(
        f"\n{EVENTS} events over 2 hosts (host-a killed at {killed_after:.1f}s) in {elapsed:.1f}s; "
        f"requests by host {dict(by_host)}; duplicates {duplicates}"
    )
