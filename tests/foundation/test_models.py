import pytest
from django.db import IntegrityError, transaction

from deliveries.models import Delivery, Event
from subscriptions.models import ApiToken, AuditEntry, Endpoint
from subscriptions.secrets import decrypt
from tests.factories import DeliveryFactory, EndpointFactory, EventFactory, EventTypeFactory

pytestmark = pytest.mark.django_db


def test_new_endpoint_gets_an_encrypted_whsec_secret_and_public_uuid():
    endpoint = EndpointFactory()
    assert endpoint.secret.startswith("whsec_")
    assert "whsec_" not in endpoint.secret_encrypted
    assert decrypt(endpoint.secret_encrypted) == endpoint.secret
    assert endpoint.uid is not None
    assert endpoint.state == Endpoint.State.ENABLED


def test_rotating_a_secret_keeps_the_old_one_signing_during_grace():
    endpoint = EndpointFactory()
    old = endpoint.secret
    new = endpoint.rotate_secret()
    endpoint.refresh_from_db()
    assert endpoint.secret == new != old
    assert endpoint.signing_secrets() == [new, old]


def test_event_gets_a_msg_id_and_ids_sort_by_creation():
    first, second = EventFactory(), EventFactory()
    assert first.uid.startswith("msg_") and len(first.uid) == 28
    assert first.uid < second.uid or first.uid[:14] == second.uid[:14]


def test_idempotency_key_is_unique_within_its_scope_only():
    event_type = EventTypeFactory()
    Event.objects.create(event_type=event_type, payload={}, idempotency_key="k1")
    Event.objects.create(
        event_type=event_type, payload={}, idempotency_key="k1", idempotency_scope="user:7"
    )
    Event.objects.create(event_type=event_type, payload={}, idempotency_key=None)
    Event.objects.create(event_type=event_type, payload={}, idempotency_key=None)
    with pytest.raises(IntegrityError), transaction.atomic():
        Event.objects.create(event_type=event_type, payload={}, idempotency_key="k1")


def test_one_delivery_per_event_and_endpoint():
    delivery = DeliveryFactory()
    assert delivery.status == Delivery.Status.PENDING
    assert delivery.attempt_count == 0
    with pytest.raises(IntegrityError), transaction.atomic():
        Delivery.objects.create(event=delivery.event, endpoint=delivery.endpoint)


def test_subscribed_to_finds_explicit_and_all_type_endpoints_but_not_paused():
    event_type, other = EventTypeFactory(), EventTypeFactory()
    explicit = EndpointFactory(event_types=[event_type])
    everything = EndpointFactory(all_event_types=True)
    EndpointFactory(event_types=[other])
    EndpointFactory(event_types=[event_type], state=Endpoint.State.PAUSED)
    assert set(Endpoint.objects.subscribed_to(event_type)) == {explicit, everything}


def test_api_tokens_are_stored_hashed():
    endpoint = EndpointFactory()
    token, key = ApiToken.issue(endpoint.owner)
    assert key.startswith("hh_")
    assert token.key_hash == ApiToken.hash_key(key)
    assert key not in token.key_hash


def test_audit_log_is_append_only():
    from subscriptions.audit import record

    endpoint = EndpointFactory()
    entry = record(endpoint.owner, "endpoint.created", endpoint, url=endpoint.url)
    assert entry.actor_label == endpoint.owner.username
    assert entry.object_id == str(endpoint.uid)
    with pytest.raises(TypeError):
        entry.save()
    with pytest.raises(TypeError):
        entry.delete()
    with pytest.raises(TypeError):
        AuditEntry.objects.all().delete()
    with pytest.raises(TypeError):
        AuditEntry.objects.update(action="tampered")
    assert AuditEntry.objects.get().action == "endpoint.created"


def test_deleting_a_user_keeps_their_audit_entries():
    from subscriptions.audit import record

    endpoint = EndpointFactory()
    record(endpoint.owner, "endpoint.created", endpoint)
    endpoint.owner.delete()
    entry = AuditEntry.objects.get()
    assert entry.actor is None
    assert entry.actor_label.startswith("user")
