"""Rotating an endpoint's signing secret from the dashboard: a confirmation page that asks
when the old secret stops signing, the new secret shown in the POST's answer, and every
secret inside its promised grace period still signing (issue 13, item 1)."""

from __future__ import annotations

import importlib
from datetime import datetime, timedelta

import pytest
from django.conf import settings as django_settings
from django.db import connection
from django.db.migrations.executor import MigrationExecutor
from django.urls import reverse
from django.utils import timezone
from standardwebhooks import Webhook
from standardwebhooks.webhooks import WebhookVerificationError

from deliveries import actions
from subscriptions import secrets, services
from subscriptions.models import AuditEntry, Endpoint
from tests.factories import EndpointFactory

migration = importlib.import_module("subscriptions.migrations.0003_endpoint_previous_secrets")


def rotate_url(endpoint: Endpoint) -> str:
    return reverse("dashboard:secret-rotate", args=[endpoint.uid])


def rotate(client, endpoint: Endpoint, choice: str) -> str:
    """Confirm a rotation on the page; the new secret, from the POST's own answer."""
    response = client.post(rotate_url(endpoint), {"previous_expires": choice})
    assert response.status_code == 200, response.content.decode()
    assert "no-store" in response["Cache-Control"]
    secret = response.context["revealed_secret"]
    assert secret.startswith("whsec_") and secret in response.content.decode()
    return secret


def received_signature(receiver, endpoint: Endpoint, event_type, owner):
    receiver.clear()
    delivery = actions.send_test(endpoint, event_type, actor=owner)
    assert delivery.status == "succeeded"
    return receiver.requests[0]


@pytest.mark.django_db
def test_rotating_twice_keeps_every_promised_secret_signing(
    owner_client, owner, make_endpoint, event_type, receiver
):
    endpoint = make_endpoint()
    revealed = owner_client.post(reverse("dashboard:secret-reveal", args=[endpoint.uid]))
    s0 = revealed.context["revealed_secret"]
    s1 = rotate(owner_client, endpoint, "24h")
    s2 = rotate(owner_client, endpoint, "7d")
    assert len({s0, s1, s2}) == 3

    endpoint.refresh_from_db()
    assert endpoint.secret == s2
    got = received_signature(receiver, endpoint, event_type, owner)
    assert len(got.headers["webhook-signature"].split(" ")) == 3
    for secret in (s0, s1, s2):
        assert Webhook(secret).verify(got.body, got.headers)["type"] == "order-paid"

    # Each old secret has its own expiry, the one chosen when it was replaced.
    now = timezone.now()
    s1_until, s0_until = endpoint.previous_secret_expiries()
    assert abs(s1_until - (now + timedelta(days=7))) < timedelta(minutes=1)
    assert abs(s0_until - (now + timedelta(hours=24))) < timedelta(minutes=1)
    assert AuditEntry.objects.filter(action="endpoint.secret_rotated").count() == 2


@pytest.mark.django_db
def test_the_endpoint_page_lists_the_secrets_still_signing_and_until_when(owner_client, owner):
    endpoint = EndpointFactory(owner=owner)
    rotate(owner_client, endpoint, "1h")
    rotate(owner_client, endpoint, "24h")
    endpoint.refresh_from_db()
    page = owner_client.get(endpoint.get_absolute_url()).content.decode()
    assert "2 previous secrets also sign requests" in page
    for until in endpoint.previous_secret_expiries():
        assert until.strftime("%Y-%m-%d %H:%M") in page
    for secret in endpoint.signing_secrets():
        assert secret not in page
    assert f'href="{rotate_url(endpoint)}"' in page


@pytest.mark.django_db
def test_now_drops_the_old_secret_at_once(owner_client, owner, make_endpoint, event_type, receiver):
    endpoint = make_endpoint()
    s0 = endpoint.secret
    response = owner_client.post(rotate_url(endpoint), {"previous_expires": "now"})
    s1 = response.context["revealed_secret"]
    assert "The old one no longer signs." in response.content.decode()
    endpoint.refresh_from_db()
    assert endpoint.signing_secrets() == [s1] and endpoint.previous_secrets == []

    got = received_signature(receiver, endpoint, event_type, owner)
    assert len(got.headers["webhook-signature"].split(" ")) == 1
    Webhook(s1).verify(got.body, got.headers)
    with pytest.raises(WebhookVerificationError):
        Webhook(s0).verify(got.body, got.headers)
    entry = AuditEntry.objects.get(action="endpoint.secret_rotated")
    assert datetime.fromisoformat(entry.details["previous_expires_at"]) <= timezone.now()


@pytest.mark.django_db
def test_the_confirmation_page_asks_when_the_old_secret_stops_and_changes_nothing(
    owner_client, owner
):
    endpoint = EndpointFactory(owner=owner)
    stored = endpoint.secret_encrypted
    response = owner_client.get(rotate_url(endpoint))
    assert response.status_code == 200
    assert "no-store" in response["Cache-Control"]
    body = response.content.decode()
    assert "Rotate the signing secret?" in body
    choices = [value for value, _ in response.context["form"].fields["previous_expires"].choices]
    assert choices == ["now", "1h", "24h", "7d"]
    assert 'value="24h" ' in body and "checked" in body.split('value="24h"')[1].split(">")[0]
    endpoint.refresh_from_db()
    assert endpoint.secret_encrypted == stored and endpoint.previous_secrets == []
    assert endpoint.secret not in body
    assert not AuditEntry.objects.filter(action="endpoint.secret_rotated").exists()


@pytest.mark.django_db
def test_an_unknown_choice_is_refused_on_the_form(owner_client, owner):
    endpoint = EndpointFactory(owner=owner)
    stored = endpoint.secret_encrypted
    response = owner_client.post(rotate_url(endpoint), {"previous_expires": "forever"})
    assert response.status_code == 200 and "revealed_secret" not in response.context
    assert response.context["form"].errors["previous_expires"]
    endpoint.refresh_from_db()
    assert endpoint.secret_encrypted == stored


@pytest.mark.django_db
def test_a_rotation_beyond_the_cap_is_refused_with_a_clear_message(owner_client, owner, settings):
    settings.HOOKHUB_MAX_PREVIOUS_SECRETS = 2
    endpoint = EndpointFactory(owner=owner)
    rotate(owner_client, endpoint, "24h")
    rotate(owner_client, endpoint, "24h")
    endpoint.refresh_from_db()
    before = endpoint.signing_secrets()

    refused = owner_client.post(rotate_url(endpoint), {"previous_expires": "1h"})
    assert refused.status_code == 200 and "revealed_secret" not in refused.context
    body = refused.content.decode()
    assert "already has 2 old secrets still signing, the most HookHub keeps (2)" in body
    assert "expiring now" in body
    endpoint.refresh_from_db()
    assert endpoint.signing_secrets() == before
    assert AuditEntry.objects.filter(action="endpoint.secret_rotated").count() == 2

    # Letting the current secret go at once adds no old secret, so it is allowed.
    s3 = rotate(owner_client, endpoint, "now")
    endpoint.refresh_from_db()
    assert endpoint.signing_secrets() == [s3, *before[1:]]


@pytest.mark.django_db
def test_expired_old_secrets_are_dropped_when_rotating(owner):
    endpoint = EndpointFactory(owner=owner)
    past = timezone.now() - timedelta(minutes=1)
    expired = {
        "encrypted": secrets.encrypt(secrets.generate_secret()),
        "expires_at": past.isoformat(),
    }
    Endpoint.objects.filter(pk=endpoint.pk).update(previous_secrets=[expired])
    endpoint.refresh_from_db()
    assert endpoint.signing_secrets() == [endpoint.secret]
    s0 = endpoint.secret
    s1 = services.rotate_secret(endpoint, actor=owner, grace=timedelta(hours=1))
    endpoint.refresh_from_db()
    assert endpoint.signing_secrets() == [s1, s0]
    assert expired["encrypted"] not in [e["encrypted"] for e in endpoint.previous_secrets]


@pytest.mark.django_db
def test_a_post_without_a_choice_uses_the_default_grace(owner_client, owner, settings):
    settings.HOOKHUB_SECRET_ROTATION_GRACE = 3600
    endpoint = EndpointFactory(owner=owner)
    owner_client.post(rotate_url(endpoint))
    endpoint.refresh_from_db()
    (until,) = endpoint.previous_secret_expiries()
    assert abs(until - (timezone.now() + timedelta(hours=1))) < timedelta(minutes=1)


@pytest.mark.django_db
def test_others_cannot_see_or_confirm_a_rotation(client, outsider, owner):
    endpoint = EndpointFactory(owner=owner)
    stored = endpoint.secret_encrypted
    client.force_login(outsider)
    assert client.get(rotate_url(endpoint)).status_code == 404
    assert client.post(rotate_url(endpoint), {"previous_expires": "now"}).status_code == 404
    endpoint.refresh_from_db()
    assert endpoint.secret_encrypted == stored


# --- the data migration --------------------------------------------------------------------
def test_the_migration_function_keeps_a_previous_secret_still_signing_and_drops_expired():
    now = timezone.now()
    later, earlier = now + timedelta(hours=3), now - timedelta(seconds=1)
    assert migration.previous_secrets_from_single("tok", later, now) == [
        {"encrypted": "tok", "expires_at": later.isoformat()}
    ]
    assert migration.previous_secrets_from_single("tok", earlier, now) == []
    assert migration.previous_secrets_from_single("", later, now) == []
    entries = [
        {"encrypted": "new", "expires_at": earlier.isoformat()},
        {"encrypted": "old", "expires_at": later.isoformat()},
    ]
    assert migration.single_from_previous_secrets(entries, now) == ("old", later)
    assert migration.single_from_previous_secrets([], now) == ("", None)


BEFORE = [("subscriptions", "0002_endpoint_field_validators")]
AFTER = [("subscriptions", "0003_endpoint_previous_secrets")]


@pytest.mark.django_db(transaction=True)
def test_the_migration_moves_stored_previous_secrets_into_the_list_and_back():
    executor = MigrationExecutor(connection)
    try:
        executor.migrate(BEFORE)
        old = executor.loader.project_state(BEFORE).apps
        user_model = old.get_model(django_settings.AUTH_USER_MODEL)
        OldEndpoint = old.get_model("subscriptions", "Endpoint")
        owner = user_model.objects.create(username="migrated")
        now = timezone.now()
        s0, s1 = secrets.generate_secret(), secrets.generate_secret()

        def old_endpoint(**fields):
            return OldEndpoint.objects.create(
                owner=owner,
                url="https://example.com/hook",
                secret_encrypted=secrets.encrypt(s1),
                **fields,
            ).pk

        live = old_endpoint(
            previous_secret_encrypted=secrets.encrypt(s0),
            previous_secret_expires_at=now + timedelta(hours=2),
        )
        expired = old_endpoint(
            previous_secret_encrypted=secrets.encrypt(s0),
            previous_secret_expires_at=now - timedelta(hours=2),
        )
        never_rotated = old_endpoint()

        executor = MigrationExecutor(connection)
        executor.migrate(AFTER)
        new = executor.loader.project_state(AFTER).apps.get_model("subscriptions", "Endpoint")
        rows = dict(new.objects.values_list("pk", "previous_secrets"))
        (entry,) = rows[live]
        assert secrets.decrypt(entry["encrypted"]) == s0
        assert abs(
            datetime.fromisoformat(entry["expires_at"]) - (now + timedelta(hours=2))
        ) < timedelta(seconds=1)
        assert rows[expired] == [] and rows[never_rotated] == []
        # The model reads the migrated row: both secrets sign.
        row = new.objects.get(pk=live)
        migrated = Endpoint(
            secret_encrypted=row.secret_encrypted, previous_secrets=row.previous_secrets
        )
        assert migrated.signing_secrets() == [s1, s0]

        executor = MigrationExecutor(connection)
        executor.migrate(BEFORE)
        back = executor.loader.project_state(BEFORE).apps.get_model("subscriptions", "Endpoint")
        restored = back.objects.get(pk=live)
        assert secrets.decrypt(restored.previous_secret_encrypted) == s0
        assert back.objects.get(pk=expired).previous_secret_encrypted == ""
    finally:
        executor = MigrationExecutor(connection)
        executor.migrate(executor.loader.graph.leaf_nodes())
