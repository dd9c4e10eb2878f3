"""POST /api/v1/endpoints/{id}/rotate-secret/: the caller chooses how long the replaced
secret keeps signing; the answer carries the new secret and every old secret's expiry,
never an old secret itself (issue 13, item 1)."""

from __future__ import annotations

import json
from datetime import datetime, timedelta

import pytest
from django.utils import timezone
from standardwebhooks import Webhook

from deliveries import actions
from subscriptions.models import AuditEntry, Endpoint
from tests.factories import EndpointFactory

pytestmark = pytest.mark.django_db


def path(endpoint: Endpoint) -> str:
    return f"/api/v1/endpoints/{endpoint.uid}/rotate-secret/"


def close_to(text: str, expected: datetime) -> bool:
    return abs(datetime.fromisoformat(text.replace("Z", "+00:00")) - expected) < timedelta(
        minutes=1
    )


def test_rotating_twice_answers_the_new_secret_and_every_old_expiry_never_a_value(
    owner_api, owner, make_endpoint, event_type, receiver
):
    endpoint = make_endpoint()
    s0 = endpoint.secret
    first = owner_api.post(path(endpoint), {"previous_expires_in": 3600}, format="json")
    assert first.status_code == 200, first.json()
    s1 = first.json()["secret"]
    second = owner_api.post(path(endpoint), {"previous_expires_in": "7d"}, format="json")
    assert second.status_code == 200, second.json()
    body = second.json()
    s2 = body["secret"]

    now = timezone.now()
    assert set(body) == {"secret", "previous_secret_expires_at", "previous_secrets"}
    assert close_to(body["previous_secret_expires_at"], now + timedelta(days=7))
    assert [set(entry) for entry in body["previous_secrets"]] == [{"expires_at"}] * 2
    newest, oldest = (entry["expires_at"] for entry in body["previous_secrets"])
    assert close_to(newest, now + timedelta(days=7)) and close_to(oldest, now + timedelta(hours=1))
    assert s0 not in json.dumps(body) and s1 not in json.dumps(body)

    actions.send_test(endpoint, event_type, actor=owner)
    got = receiver.requests[0]
    for secret in (s0, s1, s2):
        Webhook(secret).verify(got.body, got.headers)
    entries = AuditEntry.objects.filter(action="endpoint.secret_rotated").order_by("id")
    assert close_to(entries[0].details["previous_expires_at"], now + timedelta(hours=1))
    assert entries[1].details["previous_secrets_signing"] == 2


def test_without_a_body_the_old_secret_signs_for_the_default_grace(owner_api, owner, settings):
    settings.HOOKHUB_SECRET_ROTATION_GRACE = 24 * 3600
    endpoint = EndpointFactory(owner=owner)
    old = endpoint.secret
    response = owner_api.post(path(endpoint))
    assert response.status_code == 200
    assert close_to(response.json()["previous_secret_expires_at"], timezone.now() + timedelta(1))
    endpoint.refresh_from_db()
    assert endpoint.signing_secrets() == [response.json()["secret"], old]


@pytest.mark.parametrize("value", [0, "0", "now"])
def test_zero_or_now_stops_the_old_secret_at_once(owner_api, owner, value):
    endpoint = EndpointFactory(owner=owner)
    response = owner_api.post(path(endpoint), {"previous_expires_in": value}, format="json")
    assert response.status_code == 200, response.json()
    body = response.json()
    assert body["previous_secrets"] == []
    assert close_to(body["previous_secret_expires_at"], timezone.now())
    endpoint.refresh_from_db()
    assert endpoint.signing_secrets() == [body["secret"]]


@pytest.mark.parametrize("value", [-1, "2d", 7 * 24 * 3600 + 1, True, 1.5, None, [60]])
def test_a_bad_expiry_is_a_400_naming_the_field_and_changes_nothing(owner_api, owner, value):
    endpoint = EndpointFactory(owner=owner)
    stored = endpoint.secret_encrypted
    response = owner_api.post(path(endpoint), {"previous_expires_in": value}, format="json")
    assert response.status_code == 400
    assert "previous_expires_in" in response.json()["errors"]
    endpoint.refresh_from_db()
    assert endpoint.secret_encrypted == stored
    assert not AuditEntry.objects.filter(action="endpoint.secret_rotated").exists()


def test_a_rotation_beyond_the_cap_is_a_400_with_the_reason(owner_api, owner, settings):
    settings.HOOKHUB_MAX_PREVIOUS_SECRETS = 1
    endpoint = EndpointFactory(owner=owner)
    assert owner_api.post(path(endpoint)).status_code == 200
    endpoint.refresh_from_db()
    before = endpoint.signing_secrets()
    refused = owner_api.post(path(endpoint), {"previous_expires_in": "1h"}, format="json")
    assert refused.status_code == 400
    assert "the most HookHub keeps (1)" in json.dumps(refused.json())
    endpoint.refresh_from_db()
    assert endpoint.signing_secrets() == before
    allowed = owner_api.post(path(endpoint), {"previous_expires_in": "now"}, format="json")
    assert allowed.status_code == 200
    assert len(allowed.json()["previous_secrets"]) == 1


def test_others_cannot_rotate(outsider_api, owner):
    endpoint = EndpointFactory(owner=owner)
    stored = endpoint.secret_encrypted
    assert outsider_api.post(path(endpoint)).status_code == 404
    endpoint.refresh_from_db()
    assert endpoint.secret_encrypted == stored


def test_the_document_describes_the_request_and_the_answer(owner_api):
    document = owner_api.get("/api/schema/?format=json").json()
    operation = document["paths"]["/api/v1/endpoints/{id}/rotate-secret/"]["post"]
    content = operation["requestBody"]["content"]["application/json"]["schema"]
    name = content["$ref"].rsplit("/", 1)[-1]
    field = document["components"]["schemas"][name]["properties"]["previous_expires_in"]
    assert {"type": "integer", "minimum": 0} in field["oneOf"]
    answer = document["components"]["schemas"]["Secret"]["properties"]
    assert {"secret", "previous_secret_expires_at", "previous_secrets"} <= set(answer)
