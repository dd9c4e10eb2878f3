"""Signing secrets: encrypted at rest, rotatable encryption key, never in dumps, attempt
records, audit entries or logs; API tokens stored hashed."""

from __future__ import annotations

import io
import logging

import pytest
from django.core.exceptions import ImproperlyConfigured
from django.core.management import call_command
from django.db import connection
from django.test import override_settings

from deliveries.models import Attempt
from subscriptions.models import ApiToken, AuditEntry, Endpoint
from tests.factories import EndpointFactory

pytestmark = pytest.mark.django_db

OLD_KEY = "old-encryption-key-2025"
NEW_KEY = "new-encryption-key-2026"


def rotate(*args: str) -> str:
    out = io.StringIO()
    call_command("rotate_encryption_key", *args, stdout=out)
    return out.getvalue()


def plaintexts() -> dict[int, list[str]]:
    return {endpoint.pk: endpoint.signing_secrets() for endpoint in Endpoint.objects.all()}


def test_encryption_key_rotation_keeps_every_secret_and_drops_the_old_key(owner):
    with override_settings(HOOKHUB_ENCRYPTION_KEYS=[OLD_KEY]):
        endpoints = EndpointFactory.create_batch(5, owner=owner)
        endpoints[0].rotate_secret()  # one with a previous secret in its grace period
        before = plaintexts()
        assert len(before[endpoints[0].pk]) == 2

    with override_settings(HOOKHUB_ENCRYPTION_KEYS=[NEW_KEY]):
        with pytest.raises(ImproperlyConfigured, match="lacks the key"):
            _ = Endpoint.objects.get(pk=endpoints[1].pk).secret

    with override_settings(HOOKHUB_ENCRYPTION_KEYS=[NEW_KEY, OLD_KEY]):
        # During the rotation both keys decrypt: the service keeps signing.
        assert plaintexts() == before
        stored = list(Endpoint.objects.values_list("secret_encrypted", flat=True))
        assert "would re-encrypt 5 endpoints" in rotate("--dry-run")
        assert list(Endpoint.objects.values_list("secret_encrypted", flat=True)) == stored
        assert "re-encrypted 5 endpoints; 0 already" in rotate("--batch-size", "2")
        assert "re-encrypted 0 endpoints; 5 already" in rotate()  # idempotent

    with override_settings(HOOKHUB_ENCRYPTION_KEYS=[NEW_KEY]):
        assert plaintexts() == before


def test_rotation_refuses_secrets_under_a_key_it_does_not_have(owner):
    with override_settings(HOOKHUB_ENCRYPTION_KEYS=[OLD_KEY]):
        EndpointFactory(owner=owner)
    with override_settings(HOOKHUB_ENCRYPTION_KEYS=[NEW_KEY]):
        with pytest.raises(Exception, match="add the old key after the new one"):
            rotate()


def everything_stored() -> str:
    """Every table, twice: as `dumpdata` prints it and as raw SELECT * rows."""
    dump = io.StringIO()
    call_command("dumpdata", stdout=dump)
    raw = []
    with connection.cursor() as cursor:
        for table in connection.introspection.table_names():
            cursor.execute(f"SELECT * FROM {connection.ops.quote_name(table)}")  # noqa: S608
            raw.extend(repr(row) for row in cursor.fetchall())
    return dump.getvalue() + "\n".join(raw)


def test_database_dump_holds_no_signing_secret_and_no_api_token(owner, staff):
    endpoint = EndpointFactory(owner=owner)
    endpoint.rotate_secret()
    secrets_now = endpoint.signing_secrets()
    _, token = ApiToken.issue(owner)
    stored = everything_stored()
    assert "subscriptions.endpoint" in stored  # the dump did include the endpoints
    assert "whsec_" not in stored
    for secret in secrets_now:
        assert secret.removeprefix("whsec_") not in stored
    assert token not in stored
    assert ApiToken.hash_key(token) in stored  # only the hash is kept


def test_delivery_records_audit_and_logs_hold_no_secret(
    make_endpoint, receiver, publish_now, caplog
):
    """A real delivery to a receiver on 127.0.0.1, with the secret rotated (two signatures):
    the receiver gets the signatures; HookHub's own rows and logs keep none of them."""
    endpoint = make_endpoint()
    endpoint.rotate_secret()
    secrets_now = endpoint.signing_secrets()
    caplog.set_level(logging.DEBUG)
    publish_now("order-paid", {"id": 7})
    assert receiver.wait_for(1, timeout=10)
    signature = receiver.requests[0].headers["webhook-signature"]
    assert signature.count("v1,") == 2

    attempt = Attempt.objects.get()
    assert attempt.response_status == 200
    assert "webhook-signature" in {name.lower() for name in attempt.request_headers}
    stored = everything_stored()
    logs = "\n".join(record.getMessage() for record in caplog.records)
    audit = repr(list(AuditEntry.objects.values()))
    for haystack in (stored, logs, audit):
        assert "whsec_" not in haystack
        for secret in secrets_now:
            assert secret.removeprefix("whsec_") not in haystack
        for part in signature.split():
            assert part.removeprefix("v1,") not in haystack


def test_creating_revealing_and_rotating_secrets_leaves_them_out_of_the_audit_log(owner, receiver):
    from django.test import Client
    from django.urls import reverse

    _, key = ApiToken.issue(owner)
    api = Client(HTTP_AUTHORIZATION=f"Bearer {key}")
    created = api.post(
        "/api/v1/endpoints/",
        {"url": receiver.url("/hook"), "event_types": []},
        content_type="application/json",
    )
    assert created.status_code == 201, created.content
    shown = [created.json()["secret"]]
    uid = created.json()["id"]
    rotated = api.post(f"/api/v1/endpoints/{uid}/rotate-secret/")
    assert rotated.status_code == 200, rotated.content
    shown.append(rotated.json()["secret"])
    page = Client()
    page.force_login(owner)
    revealed = page.post(reverse("dashboard:secret-reveal", kwargs={"uid": uid}))
    assert revealed.status_code == 200
    page.post(reverse("dashboard:secret-rotate", kwargs={"uid": uid}))
    shown.extend(Endpoint.objects.get(uid=uid).signing_secrets())

    actions = set(AuditEntry.objects.values_list("action", flat=True))
    assert {"endpoint.created", "endpoint.secret_rotated", "endpoint.secret_revealed"} <= actions
    audit = repr(list(AuditEntry.objects.values()))
    assert "whsec_" not in audit
    for secret in shown:
        assert secret.removeprefix("whsec_") not in audit
