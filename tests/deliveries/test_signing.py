from __future__ import annotations

from datetime import UTC, datetime

import pytest
from standardwebhooks import Webhook

from deliveries.models import Attempt, Delivery
from deliveries.signing import REDACTED, sign


def test_sign_reproduces_the_standard_webhooks_test_vector():
    signature = sign(
        "msg_p5jXN8AQM9LWM0D4loKWxJek",
        1614265330,
        b'{"test": 2432232314}',
        ["whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"],
    )
    assert signature == "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="


def test_sign_emits_one_entry_per_secret():
    secrets = ["whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw", "whsec_" + "A" * 32]
    entries = sign("msg_x", 1, b"{}", secrets).split(" ")
    assert len(entries) == 2 and all(entry.startswith("v1,") for entry in entries)


@pytest.mark.django_db
def test_real_delivery_verifies_with_the_standardwebhooks_package(
    receiver, make_endpoint, publish_now
):
    endpoint = make_endpoint()
    event = publish_now("order-paid", {"id": 7})
    assert receiver.wait_for(1)
    got = receiver.requests[0]
    payload = Webhook(endpoint.secret).verify(got.body, got.headers)
    assert payload["type"] == "order-paid" and payload["data"] == {"id": 7}
    assert got.headers["webhook-id"] == event.uid
    assert got.headers["content-type"] == "application/json"
    assert Delivery.objects.get(event=event).status == Delivery.Status.SUCCEEDED


@pytest.mark.django_db
def test_during_rotation_both_secrets_sign_and_stored_headers_are_redacted(
    receiver, make_endpoint, publish_now
):
    endpoint = make_endpoint()
    old_secret = endpoint.secret
    new_secret = endpoint.rotate_secret()
    publish_now("order-paid", {"id": 8})
    assert receiver.wait_for(1)
    got = receiver.requests[0]
    assert len(got.headers["webhook-signature"].split(" ")) == 2
    for secret in (old_secret, new_secret):
        Webhook(secret).verify(got.body, got.headers)
    attempt = Attempt.objects.get()
    assert attempt.request_headers["webhook-signature"] == REDACTED
    assert old_secret not in str(attempt.request_headers)
    # The stored timestamp is what was signed: a UTC datetime verifies too.
    stamp = datetime.fromtimestamp(int(got.headers["webhook-timestamp"]), tz=UTC)
    assert Webhook(new_secret).sign(got.headers["webhook-id"], stamp, got.body.decode()) in (
        got.headers["webhook-signature"].split(" ")
    )
