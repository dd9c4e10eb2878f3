"""Every previous signing secret (Endpoint.previous_secrets) is treated like the current one:
re-encrypted by rotate_encryption_key, never shown by the Django admin, and dropped from the
engine's cache of decrypted secrets once it expires (issue 13, item 1)."""

from __future__ import annotations

import io
from datetime import timedelta

import pytest
from django.core.management import call_command
from django.test import override_settings
from django.urls import reverse
from django.utils import timezone

from deliveries import engine
from subscriptions import secrets, services
from subscriptions.models import Endpoint
from tests.factories import EndpointFactory

pytestmark = pytest.mark.django_db

OLD_KEY = "old-encryption-key-2025"
NEW_KEY = "new-encryption-key-2026"


def test_key_rotation_reencrypts_every_previous_secret_and_drops_expired_ones(owner):
    with override_settings(HOOKHUB_ENCRYPTION_KEYS=[OLD_KEY]):
        endpoint = EndpointFactory(owner=owner)
        services.rotate_secret(endpoint, actor=owner, grace=timedelta(hours=1))
        services.rotate_secret(endpoint, actor=owner, grace=timedelta(days=7))
        expired = {
            "encrypted": secrets.encrypt(secrets.generate_secret()),
            "expires_at": (timezone.now() - timedelta(minutes=5)).isoformat(),
        }
        endpoint.refresh_from_db()
        Endpoint.objects.filter(pk=endpoint.pk).update(
            previous_secrets=[*endpoint.previous_secrets, expired]
        )
        endpoint.refresh_from_db()
        before = endpoint.signing_secrets()
        assert len(before) == 3

    with override_settings(HOOKHUB_ENCRYPTION_KEYS=[NEW_KEY, OLD_KEY]):
        out = io.StringIO()
        call_command("rotate_encryption_key", stdout=out)
        assert "re-encrypted 1 endpoints" in out.getvalue()
        endpoint.refresh_from_db()
        assert len(endpoint.previous_secrets) == 2  # the expired one is gone
        assert all(secrets.is_current(e["encrypted"]) for e in endpoint.previous_secrets)
        again = io.StringIO()
        call_command("rotate_encryption_key", stdout=again)
        assert "re-encrypted 0 endpoints; 1 already" in again.getvalue()

    with override_settings(HOOKHUB_ENCRYPTION_KEYS=[NEW_KEY]):
        endpoint.refresh_from_db()
        assert endpoint.signing_secrets() == before


def test_key_rotation_names_a_previous_secret_under_a_missing_key(owner):
    with override_settings(HOOKHUB_ENCRYPTION_KEYS=[OLD_KEY]):
        endpoint = EndpointFactory(owner=owner)
        services.rotate_secret(endpoint, actor=owner)
    with override_settings(HOOKHUB_ENCRYPTION_KEYS=[NEW_KEY]):
        with pytest.raises(Exception, match="add the old key after the new one"):
            call_command("rotate_encryption_key", stdout=io.StringIO())


def test_the_engine_cache_stops_signing_with_a_secret_once_it_expires(owner):
    endpoint = EndpointFactory(owner=owner)
    old = endpoint.secret
    new = services.rotate_secret(endpoint, actor=owner, grace=timedelta(hours=1))
    endpoint.refresh_from_db()
    now = timezone.now()
    assert engine.signing_secrets(endpoint, now) == [new, old]
    assert engine.signing_secrets(endpoint, now + timedelta(hours=2)) == [new]
    # A second rotation changes the key: the cache never answers with the old list.
    newer = services.rotate_secret(endpoint, actor=owner, grace=timedelta(hours=1))
    endpoint.refresh_from_db()
    assert engine.signing_secrets(endpoint, timezone.now()) == [newer, new, old]


def test_the_admin_shows_when_old_secrets_expire_never_the_secrets(client, owner, staff):
    staff.is_superuser = True
    staff.save()
    client.force_login(staff)
    endpoint = EndpointFactory(owner=owner)
    services.rotate_secret(endpoint, actor=owner)
    endpoint.refresh_from_db()
    page = client.get(reverse("admin:subscriptions_endpoint_change", args=[endpoint.pk]))
    body = page.content.decode()
    assert page.status_code == 200
    (until,) = endpoint.previous_secret_expiries()
    assert until.strftime("%Y-%m-%d %H:%M") in body
    for secret in endpoint.signing_secrets():
        assert secret not in body
    for token in endpoint.signing_tokens():
        assert token not in body
