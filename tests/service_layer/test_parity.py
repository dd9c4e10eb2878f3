"""The same change made through the dashboard, the REST API and the Django admin leaves the
same rows and the same audit entries: all three go through subscriptions.services."""

from __future__ import annotations

import pytest
from django.test import Client
from django.urls import reverse
from rest_framework.test import APIClient

from subscriptions.models import ApiToken, AuditEntry, Endpoint, EventType
from tests.factories import EventTypeFactory, StaffFactory

URL = "https://hooks.example.com/parity"


def _api(user) -> APIClient:
    _, key = ApiToken.issue(user, name="parity")
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {key}")
    return client


def _browser(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def _endpoint_row(endpoint: Endpoint) -> dict:
    endpoint.refresh_from_db()
    return {
        "url": endpoint.url,
        "description": endpoint.description,
        "all_event_types": endpoint.all_event_types,
        "event_types": sorted(endpoint.event_types.values_list("name", flat=True)),
        "headers": endpoint.headers,
        "state": endpoint.state,
        "disabled_reason": endpoint.disabled_reason,
        "paused": endpoint.disabled_at is not None,
    }


def _audit_trail(since: int) -> list[tuple]:
    entries = AuditEntry.objects.filter(id__gt=since).order_by("id")
    return [(e.action, e.object_type, e.details) for e in entries]


def _last_audit_id() -> int:
    return AuditEntry.objects.order_by("-id").values_list("id", flat=True).first() or 0


# --- endpoints: create, edit, pause, resume, rotate, delete --------------------------------
def _endpoint_via_dashboard(user, a: EventType, b: EventType) -> list[dict]:
    client = _browser(user)
    response = client.post(
        reverse("dashboard:endpoint-create"),
        {"url": URL, "description": "first", "event_types": [a.pk], "headers_text": "X-Team: a"},
    )
    assert response.status_code == 302
    endpoint = Endpoint.objects.get(url=URL)
    rows = [_endpoint_row(endpoint)]
    edit = reverse("dashboard:endpoint-edit", args=[endpoint.uid])
    form = {"url": URL, "description": "second", "event_types": [a.pk, b.pk]}
    assert client.post(edit, {**form, "headers_text": "X-Team: b"}).status_code == 302
    rows.append(_endpoint_row(endpoint))
    client.post(reverse("dashboard:endpoint-pause", args=[endpoint.uid]))
    rows.append(_endpoint_row(endpoint))
    client.post(reverse("dashboard:endpoint-resume", args=[endpoint.uid]))
    rows.append(_endpoint_row(endpoint))
    client.post(reverse("dashboard:secret-rotate", args=[endpoint.uid]))
    client.post(reverse("dashboard:endpoint-delete", args=[endpoint.uid]))
    assert not Endpoint.objects.filter(pk=endpoint.pk).exists()
    return rows


def _endpoint_via_api(user, a: EventType, b: EventType) -> list[dict]:
    api = _api(user)
    body = {"url": URL, "description": "first", "event_types": [a.name], "headers": {"X-Team": "a"}}
    response = api.post("/api/v1/endpoints/", body, format="json")
    assert response.status_code == 201, response.json()
    endpoint = Endpoint.objects.get(url=URL)
    path = f"/api/v1/endpoints/{endpoint.uid}/"
    rows = [_endpoint_row(endpoint)]
    change = {"description": "second", "event_types": [a.name, b.name], "headers": {"X-Team": "b"}}
    assert api.patch(path, change, format="json").status_code == 200
    rows.append(_endpoint_row(endpoint))
    assert api.patch(path, {"state": "paused"}, format="json").status_code == 200
    rows.append(_endpoint_row(endpoint))
    assert api.patch(path, {"state": "enabled"}, format="json").status_code == 200
    rows.append(_endpoint_row(endpoint))
    assert api.post(f"{path}rotate-secret/").status_code == 200
    assert api.delete(path).status_code == 204
    return rows


def _admin_form(endpoint_owner, a_types, description, header, state="enabled") -> dict:
    return {
        "owner": endpoint_owner.pk,
        "url": URL,
        "description": description,
        "event_types": [t.pk for t in a_types],
        "headers": f'{{"X-Team": "{header}"}}',
        "rate_limit": "",
        "state": state,
    }


def _endpoint_via_admin(user, a: EventType, b: EventType) -> list[dict]:
    staff = StaffFactory(username="admin-user", is_superuser=True)
    client = _browser(staff)
    response = client.post(
        reverse("admin:subscriptions_endpoint_add"), _admin_form(user, [a], "first", "a")
    )
    assert response.status_code == 302, response.context["adminform"].form.errors
    endpoint = Endpoint.objects.get(url=URL)
    change = reverse("admin:subscriptions_endpoint_change", args=[endpoint.pk])
    rows = [_endpoint_row(endpoint)]
    assert client.post(change, _admin_form(user, [a, b], "second", "b")).status_code == 302
    rows.append(_endpoint_row(endpoint))
    client.post(change, _admin_form(user, [a, b], "second", "b", state="paused"))
    rows.append(_endpoint_row(endpoint))
    client.post(change, _admin_form(user, [a, b], "second", "b", state="enabled"))
    rows.append(_endpoint_row(endpoint))
    # The admin never rotates (secrets stay on the dashboard); the service is what it would call.
    from subscriptions import services

    services.rotate_secret(endpoint, actor=staff)
    delete = reverse("admin:subscriptions_endpoint_delete", args=[endpoint.pk])
    assert client.post(delete, {"post": "yes"}).status_code == 302
    assert not Endpoint.objects.filter(pk=endpoint.pk).exists()
    return rows


@pytest.mark.django_db
def test_endpoint_changes_leave_identical_rows_and_audit_entries_on_every_path(owner):
    a, b = EventTypeFactory(name="order-paid"), EventTypeFactory(name="order-refunded")
    results = {}
    for name, path in [
        ("dashboard", _endpoint_via_dashboard),
        ("api", _endpoint_via_api),
        ("admin", _endpoint_via_admin),
    ]:
        since = _last_audit_id()
        rows = path(owner, a, b)
        trail = _audit_trail(since)
        for _action, _type, details in trail:
            details.pop("previous_expires_at", None)  # a timestamp: differs by run time
        results[name] = (rows, trail)
    assert results["dashboard"] == results["api"] == results["admin"]
    rows, trail = results["dashboard"]
    assert [row["state"] for row in rows] == ["enabled", "enabled", "paused", "enabled"]
    assert rows[1]["event_types"] == ["order-paid", "order-refunded"]
    assert rows[1]["headers"] == {"X-Team": "b"}
    assert [action for action, _, _ in trail] == [
        "endpoint.created",
        "endpoint.updated",
        "endpoint.paused",
        "endpoint.enabled",
        "endpoint.secret_rotated",
        "endpoint.deleted",
    ]
    assert trail[1][2] == {"changed": ["description", "event_types", "headers"]}
    assert trail[2][2] == {"previous_state": "enabled"}
    assert trail[5][2] == {"url": URL}


# --- event types: create, edit, archive -----------------------------------------------------
def _type_row(name: str) -> dict:
    row = EventType.objects.get(name=name)
    return {
        "description": row.description,
        "schema": row.schema,
        "example": row.example,
        "version": row.version,
        "archived": row.archived,
        "source": row.source,
    }


def _type_via_dashboard(staff, name: str) -> list[dict]:
    client = _browser(staff)
    form = {"name": name, "description": "first", "method": "POST", "schema": "", "example": ""}
    assert client.post(reverse("dashboard:event-type-create"), form).status_code == 302
    rows = [_type_row(name)]
    edit = reverse("dashboard:event-type-edit", args=[name])
    assert client.post(edit, {**form, "description": "second"}).status_code == 302
    rows.append(_type_row(name))
    client.post(reverse("dashboard:event-type-archive", args=[name]))
    rows.append(_type_row(name))
    return rows


def _type_via_api(staff, name: str) -> list[dict]:
    api = _api(staff)
    body = {"name": name, "description": "first", "method": "POST"}
    assert api.post("/api/v1/event-types/", body, format="json").status_code == 201
    rows = [_type_row(name)]
    path = f"/api/v1/event-types/{name}/"
    assert api.patch(path, {"description": "second"}, format="json").status_code == 200
    rows.append(_type_row(name))
    assert api.patch(path, {"archived": True}, format="json").status_code == 200
    rows.append(_type_row(name))
    return rows


def _type_via_admin(staff, name: str) -> list[dict]:
    client = _browser(StaffFactory(username="type-admin", is_superuser=True))
    form = {"name": name, "description": "first", "method": "POST", "schema": "", "example": ""}
    response = client.post(reverse("admin:subscriptions_eventtype_add"), form)
    assert response.status_code == 302, response.context["adminform"].form.errors
    rows = [_type_row(name)]
    pk = EventType.objects.get(name=name).pk
    change = reverse("admin:subscriptions_eventtype_change", args=[pk])
    assert client.post(change, {**form, "description": "second"}).status_code == 302
    rows.append(_type_row(name))
    changelist = reverse("admin:subscriptions_eventtype_changelist")
    client.post(changelist, {"action": "archive", "_selected_action": [pk]})
    rows.append(_type_row(name))
    return rows


@pytest.mark.django_db
def test_event_type_changes_leave_identical_rows_and_audit_entries_on_every_path(staff):
    results = {}
    for name, path in [
        ("dashboard", _type_via_dashboard),
        ("api", _type_via_api),
        ("admin", _type_via_admin),
    ]:
        since = _last_audit_id()
        rows = path(staff, f"parity-{name}")
        trail = [(action, kind, details) for action, kind, details in _audit_trail(since)]
        results[name] = (rows, trail)
    assert results["dashboard"] == results["api"] == results["admin"]
    rows, trail = results["api"]
    assert rows[0]["schema"] == {"type": "object"}  # one default, whoever creates the type
    assert [row["version"] for row in rows] == [1, 2, 2]
    assert rows[2]["archived"] is True
    assert trail == [
        ("event_type.created", "eventtype", {}),
        ("event_type.updated", "eventtype", {"changed": ["description"], "version": 2}),
        ("event_type.archived", "eventtype", {}),
    ]
