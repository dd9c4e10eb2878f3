"""A delivery HookHub cannot build (a secret it cannot decrypt) fails alone, as an attempt."""

from __future__ import annotations

import pytest

from deliveries.models import Attempt, Delivery
from subscriptions.models import Endpoint


@pytest.mark.django_db
def test_an_undecryptable_secret_fails_its_delivery_only(receiver, make_endpoint, publish_now):
    healthy = make_endpoint("/healthy")
    broken = make_endpoint("/broken")
    Endpoint.objects.filter(pk=broken.pk).update(secret_encrypted="not-a-fernet-token")
    publish_now("order-paid", {"id": 1})
    assert [r.path for r in receiver.requests] == ["/healthy"]
    assert Delivery.objects.get(endpoint=healthy).status == Delivery.Status.SUCCEEDED
    failed = Delivery.objects.get(endpoint=broken)
    assert failed.status == Delivery.Status.PENDING  # retried on the schedule
    attempt = failed.attempts.get()
    assert attempt.error_class == Attempt.ErrorClass.INTERNAL
    assert "could not build the request" in attempt.error_message
