"""Endpoints over the API: owner-scoped, validated, audited; secrets shown only when made."""

from __future__ import annotations

import uuid

import pytest

from subscriptions.models import AuditEntry, Endpoint
from tests.factories import EndpointFactory, EventTypeFactory

pytestmark = pytest.mark.django_db


def test_create_returns_the_secret_once_and_audits(owner_api, owner):
    response = owner_api.post(
        "/api/v1/endpoints/",
        {
            "url": "https://hooks.example.com/in",
            "description": "billing",
            "event_types": ["new-subscription"],
            "headers": {"X-Team": "billing"},
        },
        format="json",
    )
    assert response.status_code == 201, response.content
    body = response.json()
    endpoint = Endpoint.objects.get(uid=body["id"])
    assert endpoint.owner == owner
    assert body["secret"] == endpoint.secret and body["secret"].startswith("whsec_")
    assert body["event_types"] == ["new-subscription"]
    assert body["state"] == "enabled" and body["owner"] == owner.username
    assert "secret" not in owner_api.get(f"/api/v1/endpoints/{endpoint.uid}/").json()
    assert AuditEntry.objects.filter(action="endpoint.created", object_id=str(endpoint.uid))


def test_rotate_returns_a_new_secret_and_keeps_the_old_one_signing(owner_api, owner):
    endpoint = EndpointFactory(owner=owner)
    old = endpoint.secret
    response = owner_api.post(f"/api/v1/endpoints/{endpoint.uid}/rotate-secret/")
    assert response.status_code == 200
    endpoint.refresh_from_db()
    assert response.json()["secret"] == endpoint.secret != old
    assert endpoint.signing_secrets() == [endpoint.secret, old]
    assert AuditEntry.objects.filter(action="endpoint.secret_rotated").count() == 1
    # The audit log never holds the secret.
    assert old not in str(AuditEntry.objects.values_list("details", flat=True))


def test_owner_edits_and_deletes_their_endpoint(owner_api, owner):
    endpoint = EndpointFactory(owner=owner)
    response = owner_api.patch(
        f"/api/v1/endpoints/{endpoint.uid}/",
        {"state": "paused", "all_event_types": True},
        format="json",
    )
    assert response.status_code == 200
    endpoint.refresh_from_db()
    assert endpoint.state == "paused" and endpoint.all_event_types
    assert owner_api.delete(f"/api/v1/endpoints/{endpoint.uid}/").status_code == 204
    assert not Endpoint.objects.filter(pk=endpoint.pk).exists()
    actions = set(AuditEntry.objects.values_list("action", flat=True))
    assert {"endpoint.updated", "endpoint.deleted"} <= actions


def test_re_enabling_a_system_disabled_endpoint_clears_the_failure_window(owner_api, owner):
    endpoint = EndpointFactory(owner=owner, state="disabled", disabled_reason="failing 5 days")
    response = owner_api.patch(
        f"/api/v1/endpoints/{endpoint.uid}/", {"state": "enabled"}, format="json"
    )
    assert response.status_code == 200
    endpoint.refresh_from_db()
    assert endpoint.state == "enabled" and endpoint.disabled_reason == ""
    assert endpoint.failing_since is None


OPERATIONS = [
    ("get", "/api/v1/endpoints/{id}/", None),
    ("patch", "/api/v1/endpoints/{id}/", {"description": "mine now"}),
    ("delete", "/api/v1/endpoints/{id}/", None),
    ("post", "/api/v1/endpoints/{id}/rotate-secret/", None),
    ("post", "/api/v1/endpoints/{id}/test/", {"event_type": "new-subscription"}),
]


@pytest.mark.parametrize(("method", "path", "data"), OPERATIONS)
def test_another_users_endpoint_is_404_on_every_method(outsider_api, owner, method, path, data):
    endpoint = EndpointFactory(owner=owner, description="theirs")
    secret = endpoint.secret_encrypted
    response = getattr(outsider_api, method)(path.format(id=endpoint.uid), data, format="json")
    assert response.status_code == 404
    assert response.json()["code"] == "not_found"
    endpoint.refresh_from_db()
    assert endpoint.description == "theirs" and endpoint.secret_encrypted == secret
    assert not endpoint.deliveries.exists()


def test_list_shows_only_own_endpoints_and_staff_see_all(owner_api, staff_api, owner, outsider):
    mine = EndpointFactory(owner=owner)
    theirs = EndpointFactory(owner=outsider)
    listed = {item["id"] for item in owner_api.get("/api/v1/endpoints/").json()["results"]}
    assert listed == {str(mine.uid)}
    everyone = {item["id"] for item in staff_api.get("/api/v1/endpoints/").json()["results"]}
    assert {str(mine.uid), str(theirs.uid)} <= everyone
    assert staff_api.get(f"/api/v1/endpoints/{theirs.uid}/").status_code == 200


def test_unknown_endpoint_id_is_404(owner_api):
    assert owner_api.get(f"/api/v1/endpoints/{uuid.uuid4()}/").status_code == 404
    assert owner_api.get("/api/v1/endpoints/not-a-uuid/").status_code == 404


@pytest.mark.parametrize(
    ("data", "field"),
    [
        ({"url": "ftp://hooks.example.com/in"}, "url"),
        ({"url": "http://127.0.0.1/in"}, "url"),  # loopback; not allowlisted in this test
        ({"url": "http://169.254.169.254/latest/meta-data"}, "url"),
        ({"url": "not a url"}, "url"),
        ({"url": ""}, "url"),
        ({"event_types": ["no-such-type"]}, "event_types"),
        ({"headers": {"webhook-signature": "forged"}}, "headers"),
        ({"headers": {"Bad Name": "x"}}, "headers"),
        ({"headers": {"X-Ok": "line\r\nbreak"}}, "headers"),
        ({"headers": ["not", "a", "dict"]}, "headers"),
        ({"state": "disabled"}, "state"),
        ({"state": "sleeping"}, "state"),
        ({"rate_limit": 0}, "rate_limit"),
    ],
)
def test_bad_endpoint_input_is_400_with_field_errors_and_nothing_saved(
    owner_api, owner, settings, data, field
):
    settings.HOOKHUB_ALLOWED_CIDRS = []
    existing = EndpointFactory(owner=owner, url="https://kept.example.com/in")
    before = Endpoint.objects.count()

    created = owner_api.post(
        "/api/v1/endpoints/", {"url": "https://ok.example.com/in", **data}, format="json"
    )
    assert created.status_code == 400
    assert field in created.json()["errors"], created.json()
    assert Endpoint.objects.count() == before

    patched = owner_api.patch(f"/api/v1/endpoints/{existing.uid}/", data, format="json")
    assert patched.status_code == 400
    assert field in patched.json()["errors"]
    existing.refresh_from_db()
    assert existing.url == "https://kept.example.com/in" and existing.headers == {}
    assert existing.state == "enabled"
    assert not AuditEntry.objects.filter(action__startswith="endpoint.").exists()


def test_archived_event_types_cannot_be_chosen(owner_api):
    EventTypeFactory(name="old-news", archived=True)
    response = owner_api.post(
        "/api/v1/endpoints/",
        {"url": "https://hooks.example.com/in", "event_types": ["old-news"]},
        format="json",
    )
    assert response.status_code == 400
    assert "event_types" in response.json()["errors"]


def test_list_is_cursor_paginated(owner_api, owner):
    for _ in range(3):
        EndpointFactory(owner=owner)
    first = owner_api.get("/api/v1/endpoints/", {"page_size": 2}).json()
    assert len(first["results"]) == 2 and first["next"]
    second = owner_api.get(first["next"]).json()
    assert len(second["results"]) == 1 and second["next"] is None
    ids = {item["id"] for item in first["results"] + second["results"]}
    assert len(ids) == 3
