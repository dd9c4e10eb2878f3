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
