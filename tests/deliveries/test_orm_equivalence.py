"""The hand-written claim and record (deliveries.statements via deliveries.engine) leave the
database exactly as the plain-ORM versions in tests/deliveries/orm_reference.py do."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.db import transaction
from django.utils import timezone

from deliveries import engine, publishing
from deliveries.models import Attempt, Delivery
from deliveries.transport import TransportResult
from subscriptions.models import Endpoint
from tests.deliveries import orm_reference
from tests.factories import DeliveryFactory, EndpointFactory, EventFactory, EventTypeFactory

S = Delivery.Status
NOW = timezone.now().replace(microsecond=0)


class _Rollback(Exception):
    pass


def _after(change) -> tuple:
    """The database after `change()`, then rolled back (so both versions start equal)."""
    seen = None
    try:
        with transaction.atomic():
            returned = change()
            seen = (
                returned,
                list(
                    Delivery.objects.order_by("id").values(
                        "id",
                        "status",
                        "trigger",
                        "attempt_count",
                        "next_attempt_at",
                        "claimed_until",
                        "last_response_status",
                        "last_error_class",
                    )
                ),
                list(
                    Attempt.objects.order_by("delivery_id", "number").values(
                        "delivery_id",
                        "number",
                        "trigger",
                        "response_status",
                        "error_class",
                        # Not request_headers: webhook-timestamp is the wall clock's second
                        # at signing, which two runs may straddle.
                        "request_body",
                    )
                ),
                list(
                    Endpoint.objects.order_by("id").values(
                        "id", "state", "failing_since", "disabled_reason"
                    )
                ),
            )
            raise _Rollback
    except _Rollback:
        pass
    return seen


@pytest.fixture
def frozen(monkeypatch, settings):
    settings.HOOKHUB_RETRY_JITTER = 0.0
    monkeypatch.setattr(timezone, "now", lambda: NOW)


@pytest.fixture
def backlog(db, event_type, owner):
    """Due rows of three endpoints at distinct times, one not due, one already sending, one
    skipped (its endpoint was paused when it was published: never claimed)."""
    endpoints = [EndpointFactory(owner=owner, event_types=[event_type]) for _ in range(3)]
    made = []
    for n in range(24):
        made.append(
            DeliveryFactory(
                event=EventFactory(event_type=event_type, payload={"id": n}),
                endpoint=endpoints[n % 3 if n < 18 else 0],
                status=S.PENDING,
                next_attempt_at=NOW - timedelta(seconds=100 - n),
            )
        )
    DeliveryFactory(
        endpoint=endpoints[1], status=S.PENDING, next_attempt_at=NOW + timedelta(hours=1)
    )
    DeliveryFactory(endpoint=endpoints[2], status=S.SENDING, claimed_until=NOW)
    DeliveryFactory(endpoint=endpoints[0], status=S.SKIPPED, next_attempt_at=NOW)
    return endpoints


@pytest.mark.parametrize(
    ("limit", "busy_of", "cap", "scan"),
    [
        (100, {}, 10, 400),  # everything due, capped per endpoint
        (5, {}, 10, 400),  # the oldest five
        (100, {0: 9, 1: 2}, 10, 400),  # what is already in flight counts
        (100, {0: 10}, 10, 400),  # a saturated endpoint is left out of the window
        (100, {}, 3, 8),  # the scan window bounds what is ranked
    ],
)
def test_the_claim_takes_the_rows_the_orm_reference_takes(
    backlog, frozen, settings, limit, busy_of, cap, scan
):
    settings.HOOKHUB_ENDPOINT_MAX_IN_FLIGHT = cap
    settings.HOOKHUB_CLAIM_SCAN_FACTOR = 1
    busy = {backlog[index].pk: used for index, used in busy_of.items()}
    lease = engine.lease_until(NOW)

    def hand_written():
        settings.HOOKHUB_CLAIM_SCAN_FACTOR = max(1, scan // limit)
        return [d.pk for d in engine.claim_due(limit, busy)]

    def reference():
        wide = max(scan // limit, 1) * limit
        picked = orm_reference.claim_due(limit, busy, cap=cap, scan=wide, now=NOW, lease=lease)
        return [d.pk for d in picked]

    ours, theirs = _after(hand_written), _after(reference)
    assert ours[0], "the scenario claims something"
    assert ours == theirs


def _result(status: int | None, error: str = "", **extra) -> TransportResult:
    return TransportResult(
        started_at=NOW,
        finished_at=NOW,
        duration_ms=12,
        status=status,
        error_class=error,
        error_message=f"answered {status}" if error else "",
        **extra,
    )


def test_the_record_writes_what_the_orm_reference_writes(backlog, frozen, settings):
    settings.HOOKHUB_DISABLE_AFTER = 60
    failing, recovering, gone = backlog
    Endpoint.objects.filter(pk=failing.pk).update(failing_since=NOW - timedelta(hours=1))
    Endpoint.objects.filter(pk=recovering.pk).update(failing_since=NOW - timedelta(hours=1))
    Delivery.objects.filter(endpoint=gone, status=S.PENDING).update(trigger="replay")

    def finish(record):
        claimed = engine.claim_due(100, {})
        requests = {r.delivery.pk: r for r in engine.build_requests(claimed)}
        items = []
        for n, delivery in enumerate(claimed):
            request = requests[delivery.pk]
            if delivery.endpoint_id == failing.pk:
                outcome = (
                    engine.Finished(delivery, release_until=NOW + timedelta(seconds=3))
                    if n % 2
                    else engine.Finished(delivery, request, _result(500, "http-status"))
                )
            elif delivery.endpoint_id == recovering.pk:
                outcome = engine.Finished(delivery, request, _result(200))
            elif n == 2:
                outcome = engine.Finished(delivery)  # cancelled: the endpoint was paused
            else:
                outcome = engine.Finished(delivery, request, _result(410, "http-status"))
            items.append(outcome)
        record(items)
        return len(items)

    ours = _after(lambda: finish(engine.record))
    theirs = _after(lambda: finish(orm_reference.record))
    assert ours[0] > 0
    assert ours == theirs
    # The scenario exercised every branch: a retry, a release, a success, a cancel, a 410.
    statuses = {row["status"] for row in ours[1]}
    assert {S.PENDING, S.SUCCEEDED, S.FAILED, S.CANCELLED} <= statuses
    assert {row["state"] for row in ours[3]} >= {Endpoint.State.DISABLED}


FAN_OUT_COLUMNS = (
    "endpoint_id",
    "status",
    "trigger",
    "attempt_count",
    "next_attempt_at",
    "claimed_until",
    "last_attempt_at",
    "last_response_status",
    "last_error_class",
    "created_at",
    "updated_at",
)


def _fanned_out(publish) -> tuple:
    """What `publish()` (-> events, enqueued delivery ids) stored, rolled back afterwards.
    Rows are keyed by the event's position in the batch, not by ids: PostgreSQL's sequences
    do not roll back, so the second run's ids are new."""
    seen = None
    try:
        with transaction.atomic():
            events, enqueued = publish()
            position = {event.pk: n for n, event in enumerate(events)}
            rows = Delivery.objects.order_by("event_id", "endpoint_id")
            deliveries = [
                (position[row.pop("event_id")], row)
                for row in rows.values("id", "event_id", *FAN_OUT_COLUMNS)
            ]
            by_id = {row.pop("id"): (n, row["endpoint_id"]) for n, row in deliveries}
            seen = (
                [event.payload for event in events],
                deliveries,
                sorted(by_id[pk] for pk in enqueued),
            )
            raise _Rollback
    except _Rollback:
        pass
    return seen


@pytest.mark.parametrize("payloads", [[{"id": 1}], [{"id": n} for n in range(4)]])
def test_the_fan_out_stores_what_the_orm_reference_stores(
    db, event_type, owner, frozen, monkeypatch, django_capture_on_commit_callbacks, payloads
):
    # One payload goes through publish() (on PostgreSQL fan_out_sql), more through
    # publish_many() (publish_many_sql; on SQLite both take fan_out_many).
    for state in [*Endpoint.State.values, Endpoint.State.ENABLED]:
        EndpointFactory(owner=owner, event_types=[event_type], state=state)
    EndpointFactory(owner=owner, all_event_types=True, state=Endpoint.State.PAUSED)
    EndpointFactory(owner=owner, event_types=[EventTypeFactory()])  # another type only

    def hand_written():
        enqueued: list[int] = []
        monkeypatch.setattr("deliveries.queue.enqueue", lambda ids: enqueued.extend(ids))
        with django_capture_on_commit_callbacks(execute=True):
            if len(payloads) == 1:
                events = [publishing.publish(event_type.name, payloads[0])]
            else:
                events = publishing.publish_many(event_type.name, payloads)
        assert [e.delivery_count for e in events] == [5] * len(payloads)
        return events, enqueued

    ours = _fanned_out(hand_written)
    theirs = _fanned_out(lambda: orm_reference.publish_many(event_type, payloads))
    assert ours == theirs
    statuses = [row["status"] for _, row in ours[1]]
    assert statuses.count(S.SKIPPED) == 3 * len(payloads) and len(ours[2]) == 2 * len(payloads)
