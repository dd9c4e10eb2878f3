"""subscriptions.services and the model's state changes: the rules every writer shares."""

from __future__ import annotations

import pytest
from django.core import mail
from django.core.exceptions import ValidationError
from django.test import Client
from django.urls import reverse

from subscriptions import services
from subscriptions.models import AuditEntry, Endpoint, EventType
from tests.factories import EndpointFactory, EventTypeFactory, StaffFactory


@pytest.fixture
def admin_client(db) -> Client:
    client = Client()
    client.force_login(StaffFactory(username="superuser", is_superuser=True))
    return client


@pytest.mark.django_db
def test_pause_enable_and_disable_are_conditional_updates(owner):
    endpoint = EndpointFactory(owner=owner, failing_since="2020-01-01T00:00Z")
    assert endpoint.pause() is True
    assert endpoint.pause() is False  # already paused: nothing to do
    assert endpoint.disable("down") is False  # a paused endpoint stays paused
    assert endpoint.enable() is True
    endpoint.refresh_from_db()
    assert (endpoint.state, endpoint.failing_since, endpoint.disabled_at) == ("enabled", None, None)
    stale = Endpoint.objects.get(pk=endpoint.pk)
    assert endpoint.disable("Every delivery failed.") is True
    assert stale.disable("Every delivery failed.") is False  # a second worker: no-op
    endpoint.refresh_from_db()
    assert (endpoint.state, endpoint.disabled_reason) == ("disabled", "Every delivery failed.")


@pytest.mark.django_db
def test_system_disable_audits_and_emails_once(owner):
    endpoint = EndpointFactory(owner=owner)
    assert services.disable_endpoint(endpoint, "Gone (410).") is True
    assert services.disable_endpoint(Endpoint.objects.get(pk=endpoint.pk), "Gone (410).") is False
    entries = AuditEntry.objects.filter(action="endpoint.disabled_by_system")
    assert [e.details for e in entries] == [{"reason": "Gone (410)."}]
    assert len(mail.outbox) == 1 and endpoint.url in mail.outbox[0].subject


@pytest.mark.django_db
def test_enable_and_pause_are_audited_with_the_previous_state(owner):
    endpoint = EndpointFactory(owner=owner)
    assert services.pause_endpoint(endpoint, actor=owner) is True
    assert services.pause_endpoint(endpoint, actor=owner) is False
    Endpoint.objects.filter(pk=endpoint.pk).update(state=Endpoint.State.DISABLED)
    endpoint.refresh_from_db()
    assert services.enable_endpoint(endpoint, actor=owner) is True
    trail = list(AuditEntry.objects.order_by("id").values_list("action", "details"))
    assert trail == [
        ("endpoint.paused", {"previous_state": "enabled"}),
        ("endpoint.enabled", {"previous_state": "disabled"}),
    ]


@pytest.mark.django_db
def test_an_update_that_changes_nothing_writes_no_audit_entry(owner):
    endpoint = EndpointFactory(owner=owner, description="same")
    assert services.update_endpoint(endpoint, {"description": "same"}, actor=owner) == []
    assert not AuditEntry.objects.exists()


@pytest.mark.django_db
def test_nobody_but_hookhub_disables_an_endpoint(owner):
    endpoint = EndpointFactory(owner=owner)
    with pytest.raises(ValidationError):
        services.update_endpoint(endpoint, {"state": "disabled"}, actor=owner)
    endpoint.refresh_from_db()
    assert endpoint.state == "enabled"


@pytest.mark.django_db
def test_code_declared_types_cannot_be_edited_or_archived(staff):
    event_type = EventTypeFactory(name="from-code", source=EventType.Source.CODE)
    with pytest.raises(ValidationError):
        services.update_event_type(event_type, {"description": "x"}, actor=staff)
    with pytest.raises(ValidationError):
        services.set_event_type_archived(event_type, True, actor=staff)
    event_type.refresh_from_db()
    assert (event_type.description, event_type.archived, event_type.version) == (
        "Something happened.",
        False,
        1,
    )


@pytest.mark.django_db
def test_an_example_that_breaks_the_schema_is_refused_with_one_message(staff, client):
    """The dashboard form and the API report the same words: one check_event_example."""
    schema = {"type": "object", "properties": {"id": {"type": "integer"}}}
    client.force_login(staff)
    form = {
        "name": "mismatch",
        "method": "POST",
        "schema": '{"type": "object", "properties": {"id": {"type": "integer"}}}',
        "example": '{"id": "seven"}',
    }
    response = client.post(reverse("dashboard:event-type-create"), form)
    dashboard_errors = response.context["form"].errors["example"]
    from tests.service_layer.test_parity import _api

    api = _api(staff)
    body = {"name": "mismatch", "method": "POST", "schema": schema, "example": {"id": "seven"}}
    api_response = api.post("/api/v1/event-types/", body, format="json")
    assert api_response.status_code == 400
    assert api_response.json()["errors"]["example"] == list(dashboard_errors)
    assert not EventType.objects.filter(name="mismatch").exists()


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("url", "http://169.254.169.254/latest", "HookHub only sends webhooks to public"),
        ("headers", '{"Host": "evil.example"}', "“Host” is reserved: HookHub sets it"),
        ("headers", '{"X-Ok": 5}', "Headers are an object of strings"),
        ("rate_limit", "0", "greater than or equal to 1"),
    ],
)
def test_the_admin_refuses_what_the_dashboard_and_the_sender_refuse(
    admin_client, owner, field, value, message
):
    form = {
        "owner": owner.pk,
        "url": "https://hooks.example.com/admin",
        "description": "",
        "all_event_types": "on",
        "headers": "{}",
        "rate_limit": "",
        "state": "enabled",
        field: value,
    }
    response = admin_client.post(reverse("admin:subscriptions_endpoint_add"), form)
    assert response.status_code == 200  # the form again, with its error
    errors = response.context["adminform"].form.errors[field]
    assert any(message in error for error in errors), errors
    assert not Endpoint.objects.exists()
    assert not AuditEntry.objects.exists()


@pytest.mark.django_db
def test_the_admin_cannot_set_an_endpoint_disabled(admin_client, owner):
    endpoint = EndpointFactory(owner=owner, all_event_types=True)
    form = {
        "owner": owner.pk,
        "url": endpoint.url,
        "description": "",
        "all_event_types": "on",
        "headers": "{}",
        "rate_limit": "",
        "state": "disabled",
    }
    change = reverse("admin:subscriptions_endpoint_change", args=[endpoint.pk])
    response = admin_client.post(change, form)
    assert response.status_code == 200
    assert "Only HookHub disables" in str(response.context["adminform"].form.errors["state"])
    endpoint.refresh_from_db()
    assert endpoint.state == "enabled"
