"""Attempts stored before header values counted as secrets are redacted by migration
deliveries 0008 with the engine's rule; other headers and already-redacted rows stay as
they were."""

from __future__ import annotations

import importlib

import pytest
from django.apps import apps
from django.utils import timezone

from deliveries.models import Attempt
from subscriptions.headers import REDACTED
from tests.factories import DeliveryFactory, EndpointFactory

pytestmark = pytest.mark.django_db

migration = importlib.import_module("deliveries.migrations.0008_redact_stored_attempt_headers")


def stored_attempt(delivery, headers: dict) -> Attempt:
    now = timezone.now()
    return Attempt.objects.create(
        delivery=delivery,
        number=1,
        started_at=now,
        finished_at=now,
        duration_ms=5,
        request_url=delivery.endpoint.url,
        request_body="{}",
        request_headers=headers,
        response_status=200,
    )


def test_clear_credentials_in_old_attempts_are_redacted(owner):
    endpoint = EndpointFactory(owner=owner, secret_header_names=["X-Tenant"])
    delivery = DeliveryFactory(endpoint=endpoint)
    old = stored_attempt(
        delivery,
        {
            "Authorization": "Bearer sk_live_1",
            "X-Api-Key": "key-2",
            "X-Tenant": "acme-secret",
            "X-Team": "billing",
            "webhook-signature": REDACTED,
        },
    )
    clean = stored_attempt(delivery, {"X-Team": "billing", "Authorization": REDACTED})
    migration.redact_stored_headers(apps, None)
    old.refresh_from_db()
    clean.refresh_from_db()
    assert old.request_headers == {
        "Authorization": REDACTED,
        "X-Api-Key": REDACTED,
        "X-Tenant": REDACTED,  # marked secret by the endpoint's owner
        "X-Team": "billing",
        "webhook-signature": REDACTED,
    }
    assert clean.request_headers == {"X-Team": "billing", "Authorization": REDACTED}


def test_it_walks_every_batch(owner, monkeypatch):
    monkeypatch.setattr(migration, "BATCH", 2)
    delivery = DeliveryFactory(endpoint=EndpointFactory(owner=owner))
    rows = [stored_attempt(delivery, {"Cookie": f"session={n}"}) for n in range(5)]
    migration.redact_stored_headers(apps, None)
    assert [Attempt.objects.get(pk=row.pk).request_headers for row in rows] == [
        {"Cookie": REDACTED}
    ] * 5
