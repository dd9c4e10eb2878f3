"""The hand-written hot-path statements (deliveries.statements) do what the ORM did: a claim
returns the same rows the ORM would read, ready to send without another query; publish()
stores the event and its deliveries all or nothing; and on PostgreSQL each is one statement,
prepared after its first use."""

from __future__ import annotations

import contextlib
import threading
from datetime import timedelta

import psycopg
import pytest
from django.conf import settings as django_settings
from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from deliveries import engine, publishing, statements
from deliveries.models import Delivery, Event
from subscriptions.models import Endpoint
from tests.factories import DeliveryFactory, EndpointFactory, EventFactory

S = Delivery.Status
on_postgres = pytest.mark.skipif(
    django_settings.DATABASES["default"]["ENGINE"] != "django.db.backends.postgresql",
    reason="a PostgreSQL statement",
)


def _pending(event_type, endpoint, *, due=True) -> Delivery:
    return DeliveryFactory(
        event=EventFactory(event_type=event_type, payload={"id": 7, "name": "Zoë"}),
        endpoint=endpoint,
        status=S.PENDING,
        next_attempt_at=timezone.now() - timedelta(seconds=1 if due else -3600),
    )


@pytest.mark.django_db
def test_a_claim_returns_rows_ready_to_send_as_the_orm_would_read_them(make_endpoint, event_type):
    endpoint = make_endpoint(headers={"X-Tenant": "acme"})
    first, second = _pending(event_type, endpoint), _pending(event_type, endpoint)
    before = timezone.now()
    with CaptureQueriesContext(connection) as captured:
        claimed = engine.claim([second.pk, first.pk], scheduled=True)
        # Everything sending reads is already loaded: no query below.
        seen = [(d.event.event_type.name, d.endpoint.url, d.event.payload) for d in claimed]
    assert len(captured) == (1 if connection.vendor == "postgresql" else 4), (
        captured.captured_queries
    )
    assert [d.pk for d in claimed] == [first.pk, second.pk]
    assert seen == [("order-paid", endpoint.url, {"id": 7, "name": "Zoë"})] * 2
    for got in claimed:
        stored = Delivery.objects.select_related("event__event_type", "endpoint").get(pk=got.pk)
        assert stored.status == S.SENDING and stored.claimed_until > before
        for model_pair in (
            (got, stored),
            (got.event, stored.event),
            (got.endpoint, stored.endpoint),
        ):
            fresh, orm = model_pair
            for field in type(orm)._meta.concrete_fields:
                assert getattr(fresh, field.attname) == getattr(orm, field.attname), field.name
        assert got.event.event_type.method == stored.event.event_type.method
        assert set(got.event.event_type.get_deferred_fields()) == set(statements.UNSENT_TYPE_FIELDS)
        assert got.endpoint.signing_secrets() == stored.endpoint.signing_secrets()


@pytest.mark.django_db
def test_a_claim_by_ids_takes_only_pending_rows_and_due_ones_when_scheduled(
    make_endpoint, event_type
):
    endpoint = make_endpoint()
    due = _pending(event_type, endpoint)
    not_due = _pending(event_type, endpoint, due=False)
    done = _pending(event_type, endpoint)
    Delivery.objects.filter(pk=done.pk).update(status=S.SUCCEEDED)
    ids = [due.pk, not_due.pk, done.pk]
    assert [d.pk for d in engine.claim(ids, scheduled=True)] == [due.pk]
    assert engine.claim(ids, scheduled=True) == []  # already taken
    # Sync mode's test or replay message ignores the schedule, never the status.
    assert [d.pk for d in engine.claim(ids, scheduled=False)] == [not_due.pk]
    assert dict(Delivery.objects.filter(pk__in=ids).values_list("pk", "status")) == {
        due.pk: S.SENDING,
        not_due.pk: S.SENDING,
        done.pk: S.SUCCEEDED,
    }


@contextlib.contextmanager
def held_by_another_worker(ids: list[int]):
    """Row locks on `ids` held by another connection (a worker mid-claim) while inside."""
    dsn = connection.get_connection_params()
    locked, release = threading.Event(), threading.Event()

    def other_worker() -> None:
        with psycopg.connect(**{k: v for k, v in dsn.items() if k != "cursor_factory"}) as other:
            other.execute("SELECT 1 FROM deliveries_delivery WHERE id = ANY(%s) FOR UPDATE", [ids])
            locked.set()
            release.wait(10)

    thread = threading.Thread(target=other_worker)
    thread.start()
    try:
        assert locked.wait(10)
        yield
    finally:
        release.set()
        thread.join(10)


@on_postgres
@pytest.mark.django_db(transaction=True)
def test_a_claim_skips_rows_another_worker_holds_instead_of_waiting(make_endpoint, event_type):
    endpoint = make_endpoint()
    held, free = _pending(event_type, endpoint), _pending(event_type, endpoint)
    with held_by_another_worker([held.pk]):
        claimed = engine.claim([held.pk, free.pk], scheduled=True)
        assert [d.pk for d in claimed] == [free.pk]
    assert Delivery.objects.get(pk=held.pk).status == S.PENDING


@on_postgres
@pytest.mark.django_db(transaction=True)
def test_a_bulk_claim_looks_past_the_window_another_worker_is_claiming(
    make_endpoint, event_type, settings
):
    settings.HOOKHUB_CLAIM_SCAN_FACTOR = 1
    endpoints = [make_endpoint(f"/{n}") for n in range(6)]
    rows = [_pending(event_type, endpoint) for endpoint in endpoints]
    Delivery.objects.filter(pk__in=[r.pk for r in rows[:3]]).update(
        next_attempt_at=timezone.now() - timedelta(seconds=60)
    )
    with held_by_another_worker([r.pk for r in rows[:3]]):  # mid-claim on the oldest three
        # Its window of 3 skips the held three and takes the next three, not nothing.
        assert sorted(d.pk for d in engine.claim_due(3)) == sorted(r.pk for r in rows[3:])


@on_postgres
@pytest.mark.django_db(transaction=True)
def test_publish_stores_the_event_and_its_deliveries_in_one_statement(
    make_endpoint, event_type, owner, monkeypatch
):
    subscribed = [make_endpoint("/a"), make_endpoint("/b")]
    everything = EndpointFactory(owner=owner, all_event_types=True)
    paused = make_endpoint("/paused", state=Endpoint.State.PAUSED)
    EndpointFactory(owner=owner)  # subscribed to nothing
    enqueued = []
    monkeypatch.setattr("deliveries.queue.enqueue", lambda ids: enqueued.append(ids))
    with CaptureQueriesContext(connection) as captured:
        event = publishing.publish("order-paid", {"id": 1})
    # The event type's lookup, then one statement; it commits on its own (autocommit).
    assert len(captured) == 2, captured.captured_queries
    assert "INSERT" in captured.captured_queries[1]["sql"]
    stored = Event.objects.get(pk=event.pk)
    assert (stored.uid, stored.payload, stored.created_at) == (
        event.uid,
        {"id": 1},
        event.created_at,
    )
    # The paused endpoint's delivery is kept, skipped and never due, and not enqueued.
    held = Delivery.objects.get(event=event, endpoint=paused)
    assert (held.status, held.next_attempt_at) == (S.SKIPPED, None)
    rows = list(Delivery.objects.filter(event=event).exclude(pk=held.pk).order_by("id"))
    assert event.delivery_count == 4
    assert {row.endpoint_id for row in rows} == {e.pk for e in [*subscribed, everything]}
    assert len({row.uid for row in rows}) == 3 and all(row.uid.version == 4 for row in rows)
    (ids,) = enqueued
    assert ids == [row.pk for row in rows]
    for row in rows:
        assert row.status == S.PENDING and row.attempt_count == 0
        assert row.claimed_until is None and row.next_attempt_at <= timezone.now()
        assert abs(row.updated_at - row.created_at) < timedelta(seconds=1)
        assert row.last_error_class == "" and row.last_attempt_at is None


@pytest.mark.django_db(transaction=True)
def test_publish_to_no_endpoint_still_stores_the_event(event_type):
    event = publishing.publish("order-paid", {"id": 2})
    assert event.delivery_count == 0 and not event._state.adding
    assert Event.objects.filter(pk=event.pk, uid=event.uid).exists()
    assert not Delivery.objects.exists()


@pytest.mark.django_db(transaction=True)
def test_a_lost_idempotency_race_leaves_the_callers_transaction_usable(
    make_endpoint, event_type, monkeypatch
):
    make_endpoint()
    with transaction.atomic():
        first = publishing.publish("order-paid", {"id": 1}, idempotency_key="k-1")
        # The second publisher checked before the first one's row existed.
        real = publishing._existing
        calls = []
        monkeypatch.setattr(
            publishing, "_existing", lambda *a: calls.append(a) or (real(*a) if calls[1:] else None)
        )
        again = publishing.publish("order-paid", {"id": 1}, idempotency_key="k-1")
        assert again.pk == first.pk and again.delivery_count == 1
        assert Event.objects.count() == 1  # the transaction still works
    assert Delivery.objects.count() == 1


@on_postgres
@pytest.mark.django_db
def test_recording_is_prepared_after_its_first_use(make_endpoint, event_type):
    endpoint = make_endpoint()

    def record_one_delivery() -> None:
        delivery = _pending(event_type, endpoint)
        (claimed,) = engine.claim([delivery.pk], scheduled=True)
        engine.deliver_now([claimed])

    def prepared() -> list[str]:
        with connection.cursor() as cursor:
            cursor.execute("SELECT statement FROM pg_prepared_statements")
            return [row[0] for row in cursor.fetchall()]

    assert connection.connection.prepare_threshold == 1
    record_one_delivery()
    record_one_delivery()
    statements_prepared = prepared()
    assert any("deliveries_attempt" in sql for sql in statements_prepared)
    assert any("FOR UPDATE SKIP LOCKED" in sql for sql in statements_prepared)
    assert Delivery.objects.filter(endpoint=endpoint, status=S.SUCCEEDED).count() == 2
