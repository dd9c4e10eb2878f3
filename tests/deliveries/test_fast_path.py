"""The batched fast path (deliveries.engine, deliveries.transport) keeps every guarantee:
mixed outcomes in one batch are each recorded, cached secrets follow a rotation at once,
and a connection the receiver closes is never reused."""

from __future__ import annotations

from datetime import timedelta

import pytest
from standardwebhooks.webhooks import Webhook, WebhookVerificationError

from deliveries import transport
from deliveries.models import Attempt, Delivery
from subscriptions.models import Endpoint
from tests.receivers import Reply

S = Delivery.Status


@pytest.mark.django_db
def test_one_batch_records_each_delivery_its_own_outcome(receiver, make_endpoint, publish_now):
    receiver.on("/ok", Reply(200))
    receiver.on("/busy", Reply(503))
    receiver.on("/gone", Reply(410))
    ok, busy, gone = make_endpoint("/ok"), make_endpoint("/busy"), make_endpoint("/gone")
    event = publish_now("order-paid", {"id": 1})
    assert receiver.wait_for(3)
    rows = {d.endpoint_id: d for d in Delivery.objects.filter(event=event)}
    assert rows[ok.pk].status == S.SUCCEEDED and rows[ok.pk].last_response_status == 200
    assert rows[busy.pk].status == S.PENDING and rows[busy.pk].next_attempt_at is not None
    assert rows[busy.pk].last_response_status == 503 and rows[busy.pk].attempt_count == 1
    assert rows[gone.pk].status == S.FAILED and rows[gone.pk].claimed_until is None
    assert sorted(Attempt.objects.values_list("response_status", flat=True)) == [200, 410, 503]
    gone.refresh_from_db()
    busy.refresh_from_db()
    assert gone.state == Endpoint.State.DISABLED
    assert busy.failing_since is not None


@pytest.mark.django_db
def test_a_rotated_secret_signs_the_very_next_delivery(receiver, make_endpoint, publish_now):
    endpoint = make_endpoint()
    old_secret = endpoint.secret
    publish_now("order-paid", {"id": 1})
    assert receiver.wait_for(1)
    Webhook(old_secret).verify(receiver.requests[0].body, receiver.requests[0].headers)
    new_secret = endpoint.rotate_secret(grace=timedelta(0))  # the old one stops at once
    publish_now("order-paid", {"id": 2})
    assert receiver.wait_for(2)
    got = receiver.requests[1]
    assert len(got.headers["webhook-signature"].split(" ")) == 1
    Webhook(new_secret).verify(got.body, got.headers)
    with pytest.raises(WebhookVerificationError):
        Webhook(old_secret).verify(got.body, got.headers)


def test_a_connection_the_receiver_closes_is_not_reused(receiver):
    receiver.on("/close", Reply(200, headers={"Connection": "close"}))
    for _ in range(3):
        result = transport.send("POST", receiver.url("/close"), {}, b"{}")
        assert result.succeeded, result.error_message
    assert len({r.client_port for r in receiver.requests}) == 3


def _claimed(endpoint, event_type) -> Delivery:
    from deliveries import engine
    from tests.factories import DeliveryFactory, EventFactory

    delivery = DeliveryFactory(
        event=EventFactory(event_type=event_type, payload={"id": 7}), endpoint=endpoint
    )
    (claimed,) = engine.claim([delivery.pk], scheduled=False)
    return claimed


@pytest.mark.django_db
def test_one_delivery_is_recorded_whole_in_one_statement(
    receiver, make_endpoint, event_type, django_assert_max_num_queries
):
    from django.db import connection

    from deliveries import engine

    endpoint = make_endpoint()
    delivery = _claimed(endpoint, event_type)
    # PostgreSQL: attempt and outcome in one round trip; SQLite keeps its INSERT + UPDATE.
    with django_assert_max_num_queries(1 if connection.vendor == "postgresql" else 4):
        engine.deliver_now([delivery])
    got = receiver.requests[0]
    Webhook(endpoint.secret).verify(got.body, got.headers)
    delivery.refresh_from_db()
    attempt = Attempt.objects.get(delivery=delivery)
    assert delivery.status == S.SUCCEEDED and delivery.attempt_count == 1
    assert delivery.claimed_until is None and delivery.next_attempt_at is None
    assert delivery.last_response_status == 200 and delivery.last_error_class == ""
    assert delivery.last_attempt_at == attempt.started_at
    assert attempt.number == 1 and attempt.trigger == Attempt.Trigger.SCHEDULED
    assert attempt.response_status == 200 and attempt.finished_at >= attempt.started_at
    assert attempt.request_method == "POST" and attempt.request_url == endpoint.url
    assert attempt.request_body.encode() == got.body
    assert attempt.request_headers["webhook-signature"] == "[redacted]"
    assert attempt.request_headers["webhook-id"] == got.headers["webhook-id"]


@pytest.mark.django_db
def test_commit_durability_is_relaxed_for_records_unless_durable_attempts(
    receiver, make_endpoint, event_type, settings
):
    from django.db import connection

    from deliveries import engine

    if connection.vendor != "postgresql":
        pytest.skip("synchronous_commit is a PostgreSQL setting")
    endpoint = make_endpoint()

    def setting_after_one_delivery() -> str:
        # The test's transaction is still open, so a SET LOCAL made while recording shows.
        engine.deliver_now([_claimed(endpoint, event_type)])
        with connection.cursor() as cursor:
            cursor.execute("SHOW synchronous_commit")
            return cursor.fetchone()[0]

    settings.HOOKHUB_DURABLE_ATTEMPTS = True
    assert setting_after_one_delivery() == "on"
    settings.HOOKHUB_DURABLE_ATTEMPTS = False
    assert setting_after_one_delivery() == "off"
    assert Attempt.objects.filter(delivery__endpoint=endpoint, response_status=200).count() == 2


@pytest.mark.django_db
def test_a_single_delivery_still_tracks_its_endpoints_failure_streak(
    receiver, make_endpoint, event_type
):
    from deliveries import engine

    receiver.on("/flaky", Reply(503), Reply(200))
    endpoint = make_endpoint("/flaky")
    first = _claimed(endpoint, event_type)
    engine.deliver_now([first])
    first.refresh_from_db()
    endpoint.refresh_from_db()
    assert first.status == S.PENDING and first.next_attempt_at is not None
    assert endpoint.failing_since is not None
    second = _claimed(endpoint, event_type)
    engine.deliver_now([second])
    second.refresh_from_db()
    endpoint.refresh_from_db()
    assert second.status == S.SUCCEEDED
    assert endpoint.failing_since is None
