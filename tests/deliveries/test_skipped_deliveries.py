"""Events published while an endpoint is paused or disabled by the system are kept for it as
skipped deliveries: never claimed or sent, out of every health figure, sent with their
original webhook-id by deliveries.actions.send_missed once it is enabled again, and pruned
with their events."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.conf import settings as django_settings
from django.core import mail
from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from deliveries import actions, engine, retention, stats, sweeper
from deliveries.models import Attempt, Delivery, Event
from deliveries.publishing import publish, publish_many
from subscriptions import services
from subscriptions.models import AuditEntry, Endpoint
from tests.factories import DeliveryFactory, EndpointFactory, EventFactory
from tests.receivers import Reply

S = Delivery.Status
pytestmark = pytest.mark.django_db


@pytest.fixture
def publish_many_now(django_capture_on_commit_callbacks):
    def run(type_name: str, data_list, **kwargs):
        with django_capture_on_commit_callbacks(execute=True):
            return publish_many(type_name, data_list, **kwargs)

    return run


def _poll_like_a_worker() -> None:
    """What a dispatcher does on every poll and sweep."""
    engine.deliver_now(engine.claim_due(100))
    sweeper.sweep()


def test_publishing_to_a_paused_endpoint_keeps_a_skipped_delivery_and_sends_nothing(
    receiver, make_endpoint, publish_now
):
    make_endpoint("/on")
    paused = make_endpoint("/paused", state=Endpoint.State.PAUSED)
    event = publish_now("order-paid", {"id": 1})
    assert receiver.wait_for(1, path="/on")

    held = Delivery.objects.get(endpoint=paused)
    assert (held.event_id, held.status, held.next_attempt_at) == (event.pk, S.SKIPPED, None)
    assert held.get_status_display() == "Skipped (endpoint paused)"
    _poll_like_a_worker()
    held.refresh_from_db()
    assert held.status == S.SKIPPED and held.attempt_count == 0
    assert not Attempt.objects.filter(delivery=held).exists()
    assert receiver.requests_to("/paused") == []


def test_a_system_disabled_endpoint_keeps_what_it_misses_without_a_failure_or_an_email(
    receiver, make_endpoint, publish_now
):
    since = timezone.now() - timedelta(days=1)
    off = make_endpoint("/off")
    services.disable_endpoint(off, "Gone.")
    mail.outbox.clear()
    Endpoint.objects.filter(pk=off.pk).update(failing_since=since)
    publish_now("order-paid", {"id": 1})
    publish_now("order-paid", {"id": 2})
    _poll_like_a_worker()

    assert list(Delivery.objects.filter(endpoint=off).values_list("status", flat=True)) == [
        S.SKIPPED,
        S.SKIPPED,
    ]
    off.refresh_from_db()
    assert off.state == Endpoint.State.DISABLED and off.failing_since == since
    assert receiver.requests == [] and mail.outbox == []


def test_send_missed_sends_exactly_the_skipped_ones_with_their_original_webhook_ids(
    receiver, make_endpoint, publish_now, owner
):
    endpoint = make_endpoint("/hook")
    before = publish_now("order-paid", {"id": 0})
    assert receiver.wait_for(1)
    services.pause_endpoint(endpoint, actor=owner)
    missed = [publish_now("order-paid", {"id": n}) for n in range(1, 4)]
    assert receiver.wait_for(2, timeout=0.3) is False  # nothing more while paused
    services.enable_endpoint(endpoint, actor=owner)
    receiver.clear()

    sent = actions.send_missed(endpoint, actor=owner)

    assert sent == 3
    assert receiver.wait_for(3)
    assert sorted(r.headers["webhook-id"] for r in receiver.requests) == sorted(
        e.uid for e in missed
    )
    rows = Delivery.objects.filter(event__in=missed)
    assert {(row.status, row.attempt_count, row.trigger) for row in rows} == {
        (S.SUCCEEDED, 1, "scheduled")
    }
    assert Delivery.objects.get(event=before).attempt_count == 1  # not sent again
    entry = AuditEntry.objects.get(action="endpoint.missed_sent")
    assert entry.actor == owner and entry.details == {"count": 3}
    assert entry.object_id == str(endpoint.uid)

    # A second click finds nothing left: nothing is sent twice, nothing more is audited.
    assert actions.send_missed(endpoint, actor=owner) == 0
    assert len(receiver.requests) == 3
    assert AuditEntry.objects.filter(action="endpoint.missed_sent").count() == 1


def test_send_missed_is_refused_until_the_endpoint_is_enabled(
    receiver, make_endpoint, publish_now, owner
):
    endpoint = make_endpoint(state=Endpoint.State.PAUSED)
    publish_now("order-paid", {"id": 1})
    with pytest.raises(actions.ReplayRefused, match="enable it"):
        actions.send_missed(endpoint, actor=owner)
    assert Delivery.objects.get().status == S.SKIPPED
    assert receiver.requests == []
    assert not AuditEntry.objects.filter(action="endpoint.missed_sent").exists()


def test_send_missed_since_sends_only_those_published_from_then_on(
    receiver, make_endpoint, publish_now, owner
):
    endpoint = make_endpoint(state=Endpoint.State.PAUSED)
    old, new = publish_now("order-paid", {"id": 1}), publish_now("order-paid", {"id": 2})
    since = timezone.now() - timedelta(hours=1)
    Delivery.objects.filter(event=old).update(created_at=since - timedelta(hours=1))
    services.enable_endpoint(endpoint, actor=owner)

    assert actions.send_missed(endpoint, actor=owner, since=since) == 1

    assert receiver.wait_for(1)
    assert [r.headers["webhook-id"] for r in receiver.requests] == [new.uid]
    assert Delivery.objects.get(event=old).status == S.SKIPPED
    assert AuditEntry.objects.get(action="endpoint.missed_sent").details == {
        "count": 1,
        "since": since.isoformat(),
    }


def test_send_missed_leaves_other_endpoints_and_other_statuses_alone(make_endpoint, owner):
    endpoint, other = make_endpoint("/a"), make_endpoint("/b")
    mine = DeliveryFactory(endpoint=endpoint, status=S.SKIPPED)
    theirs = DeliveryFactory(endpoint=other, status=S.SKIPPED)
    cancelled = DeliveryFactory(endpoint=endpoint, status=S.CANCELLED)
    failed = DeliveryFactory(endpoint=endpoint, status=S.FAILED, attempt_count=8)
    actions.send_missed(endpoint, actor=owner)
    assert Delivery.objects.get(pk=mine.pk).status == S.SUCCEEDED
    for row, status in [(theirs, S.SKIPPED), (cancelled, S.CANCELLED), (failed, S.FAILED)]:
        assert Delivery.objects.get(pk=row.pk).status == status


def test_publish_many_while_paused_then_send_missed(
    receiver, make_endpoint, publish_many_now, owner
):
    make_endpoint("/on")
    paused = make_endpoint("/paused", state=Endpoint.State.PAUSED)
    events = publish_many_now("order-paid", [{"id": n} for n in range(5)])
    assert [e.delivery_count for e in events] == [2] * 5
    assert receiver.wait_for(5, path="/on")
    assert Delivery.objects.filter(endpoint=paused, status=S.SKIPPED).count() == 5
    assert receiver.requests_to("/paused") == []

    services.enable_endpoint(paused, actor=owner)
    assert stats.missed_count(paused) == 5
    assert actions.send_missed(paused, actor=owner) == 5
    assert receiver.wait_for(5, path="/paused")
    assert sorted(r.headers["webhook-id"] for r in receiver.requests_to("/paused")) == sorted(
        e.uid for e in events
    )
    assert stats.missed_count(paused) == 0


@pytest.mark.parametrize("many", [False, True], ids=["publish", "publish_many"])
def test_paused_and_disabled_endpoints_cost_no_extra_query(event_type, owner, monkeypatch, many):
    """The states only change what the endpoints query selects, inside the same statements
    (on PostgreSQL one: fan_out_sql, publish_many_sql; see test_statements for its count)."""
    monkeypatch.setattr("deliveries.queue.enqueue", lambda ids: None)

    def queries_for(states) -> int:
        Endpoint.objects.all().delete()
        for state in states:
            EndpointFactory(owner=owner, event_types=[event_type], state=state)
        with CaptureQueriesContext(connection) as captured, transaction.atomic():
            if many:
                publish_many("order-paid", [{"id": 1}, {"id": 2}])
            else:
                publish("order-paid", {"id": 1})
        return len(captured)

    enabled = queries_for([Endpoint.State.ENABLED] * 4)
    mixed = queries_for([Endpoint.State.ENABLED, Endpoint.State.PAUSED, Endpoint.State.DISABLED])
    held = queries_for([Endpoint.State.PAUSED] * 3)
    assert enabled == mixed == held


def test_only_the_pending_deliveries_are_enqueued(
    make_endpoint, monkeypatch, django_capture_on_commit_callbacks
):
    enqueued: list[list[int]] = []
    monkeypatch.setattr("deliveries.queue.enqueue", lambda ids: enqueued.append(list(ids)))
    on = make_endpoint("/on")
    make_endpoint("/paused", state=Endpoint.State.PAUSED)
    make_endpoint("/off", state=Endpoint.State.DISABLED)
    with django_capture_on_commit_callbacks(execute=True):
        event = publish("order-paid", {"id": 1})
    assert event.delivery_count == 3
    assert enqueued == [[Delivery.objects.get(event=event, endpoint=on).pk]]

    enqueued.clear()
    Endpoint.objects.update(state=Endpoint.State.PAUSED)
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        assert publish("order-paid", {"id": 2}).delivery_count == 3
    assert enqueued == [] and callbacks == []  # nothing to send, no message


def test_skipped_deliveries_do_not_keep_old_events_and_are_pruned_with_them(
    make_endpoint, settings
):
    settings.HOOKHUB_ATTEMPT_RETENTION_DAYS = 30
    endpoint = make_endpoint(state=Endpoint.State.PAUSED)
    old = DeliveryFactory(endpoint=endpoint, status=S.SKIPPED)
    recent = DeliveryFactory(endpoint=endpoint, status=S.SKIPPED)
    Event.objects.filter(pk=old.event_id).update(created_at=timezone.now() - timedelta(days=31))
    still_sending = DeliveryFactory(event=EventFactory(), endpoint=endpoint, status=S.PENDING)
    Event.objects.filter(pk=still_sending.event_id).update(
        created_at=timezone.now() - timedelta(days=31)
    )

    assert retention.prune(dry_run=True).events == 1
    result = retention.prune()

    assert (result.events, result.deliveries) == (1, 1)
    assert not Event.objects.filter(pk=old.event_id).exists()
    assert not Delivery.objects.filter(pk=old.pk).exists()
    assert Delivery.objects.filter(pk__in=[recent.pk, still_sending.pk]).count() == 2
    assert stats.missed_count(endpoint) == 1


def test_a_replay_of_one_skipped_delivery_sends_it(receiver, make_endpoint, publish_now, owner):
    endpoint = make_endpoint(state=Endpoint.State.PAUSED)
    event = publish_now("order-paid", {"id": 1})
    delivery = Delivery.objects.get()
    with pytest.raises(actions.ReplayRefused):
        actions.replay(delivery, actor=owner)
    services.enable_endpoint(endpoint, actor=owner)
    actions.replay(delivery, actor=owner)
    assert receiver.wait_for(1)
    assert receiver.requests[0].headers["webhook-id"] == event.uid
    assert stats.missed_count(endpoint) == 0


def test_receiving_is_one_definition_whatever_the_state(event_type, owner):
    states = list(Endpoint.State.values)
    endpoints = [EndpointFactory(owner=owner, event_types=[event_type], state=s) for s in states]
    everything = EndpointFactory(owner=owner, all_event_types=True, state=Endpoint.State.PAUSED)
    EndpointFactory(owner=owner)  # subscribed to nothing
    assert set(Endpoint.objects.receiving(event_type)) == {*endpoints, everything}
    assert set(Endpoint.objects.subscribed_to(event_type)) == {endpoints[0]}


def test_a_skipped_delivery_is_never_retried_on_the_schedule(receiver, make_endpoint, settings):
    settings.HOOKHUB_RETRY_SCHEDULE = [0, 0]
    receiver.on("/hook", Reply(500))
    endpoint = make_endpoint(state=Endpoint.State.PAUSED)
    DeliveryFactory(endpoint=endpoint, status=S.SKIPPED, next_attempt_at=timezone.now())
    _poll_like_a_worker()
    assert Delivery.objects.get().status == S.SKIPPED and receiver.requests == []


@pytest.mark.skipif(
    django_settings.DATABASES["default"]["ENGINE"] != "django.db.backends.postgresql",
    reason="a PostgreSQL statement",
)
@pytest.mark.django_db(transaction=True)
def test_on_postgresql_publish_many_with_skipped_rows_is_still_one_statement(
    make_endpoint, monkeypatch
):
    enqueued: list[list[int]] = []
    monkeypatch.setattr("deliveries.queue.enqueue", lambda ids: enqueued.append(list(ids)))
    on = make_endpoint("/on")
    paused = make_endpoint("/paused", state=Endpoint.State.PAUSED)
    off = make_endpoint("/off", state=Endpoint.State.DISABLED)
    with CaptureQueriesContext(connection) as captured:
        events = publish_many("order-paid", [{"id": n} for n in range(3)])
    # The event type's lookup, then one statement (it commits on its own: autocommit).
    assert len(captured) == 2, captured.captured_queries
    assert [e.delivery_count for e in events] == [3, 3, 3]
    rows = Delivery.objects.filter(event__in=events)
    by_endpoint = {
        endpoint.pk: sorted(rows.filter(endpoint=endpoint).values_list("status", flat=True))
        for endpoint in (on, paused, off)
    }
    assert by_endpoint == {
        on.pk: [S.PENDING] * 3,
        paused.pk: [S.SKIPPED] * 3,
        off.pk: [S.SKIPPED] * 3,
    }
    assert not rows.filter(status=S.SKIPPED, next_attempt_at__isnull=False).exists()
    assert enqueued == [sorted(rows.filter(endpoint=on).values_list("id", flat=True))]
