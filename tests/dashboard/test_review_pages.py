"""Staff pages: overview, failures, bulk replay, re-enable, event types, audit log."""

from __future__ import annotations

import pytest
from django.urls import reverse
from django.utils import timezone

from deliveries.models import Delivery, ReplayJob
from subscriptions.models import AuditEntry, Endpoint, EventType
from tests.factories import DeliveryFactory, EndpointFactory, EventTypeFactory, UserFactory
from tests.receivers import Reply

pytestmark = pytest.mark.django_db


@pytest.fixture
def failures(receiver, settings, publish_now):
    """Two owners' endpoints on a receiver that fails once, then recovers; one try each."""
    settings.HOOKHUB_RETRY_SCHEDULE = [0]
    receiver.on("/a", Reply(500), Reply(200))
    receiver.on("/b", Reply(503), Reply(200))
    paid = EventTypeFactory(name="order-paid", example={"id": 1})
    ann, bob = UserFactory(username="ann"), UserFactory(username="bob")
    EndpointFactory(owner=ann, url=receiver.url("/a"), event_types=[paid])
    EndpointFactory(owner=bob, url=receiver.url("/b"), event_types=[paid])
    publish_now("order-paid", {"id": 1})
    assert Delivery.objects.filter(status=Delivery.Status.FAILED).count() == 2
    return {"ann": ann, "bob": bob}


def test_overview_shows_chart_queue_depth_oldest_due_and_disabled_endpoints(staff_client):
    endpoint = EndpointFactory(url="https://down.example.com/hook")
    Endpoint.objects.filter(pk=endpoint.pk).update(
        state=Endpoint.State.DISABLED,
        disabled_reason="Failing since Monday",
        disabled_at=timezone.now(),
    )
    due = DeliveryFactory(next_attempt_at=timezone.now() - timezone.timedelta(minutes=3))
    DeliveryFactory(next_attempt_at=timezone.now() + timezone.timedelta(hours=1))
    response = staff_client.get(reverse("dashboard:review-overview"))
    body = response.content.decode()
    assert response.status_code == 200
    assert response.context["queue_depth"] == 2
    assert response.context["oldest_due"] == due
    assert '<svg class="chart"' in body
    assert "down.example.com" in body and "Failing since Monday" in body


def test_failures_list_filters_by_owner_endpoint_type_and_error(staff_client, failures):
    url = reverse("dashboard:review-failures")
    everything = staff_client.get(url).context["page"].rows
    assert len(everything) == 2
    anns = staff_client.get(url, {"owner": "ann"}).context["page"].rows
    assert [d.endpoint.owner.username for d in anns] == ["ann"]
    by_endpoint = staff_client.get(url, {"endpoint": str(anns[0].endpoint.uid)})
    assert [d.pk for d in by_endpoint.context["page"].rows] == [anns[0].pk]
    assert len(staff_client.get(url, {"event_type": "order-paid"}).context["page"].rows) == 2
    assert staff_client.get(url, {"error_class": "timeout"}).context["page"].rows == []
    unknown = staff_client.get(url, {"owner": "nobody"})
    assert "No user named" in unknown.content.decode()


def test_bulk_replay_shows_a_dry_run_count_then_replays_that_set_with_progress(
    staff_client, failures, receiver
):
    dry = staff_client.get(reverse("dashboard:bulk-replay"), {"owner": "bob"})
    assert dry.status_code == 200 and dry.context["count"] == 1
    assert not ReplayJob.objects.exists()  # a dry run changes nothing
    response = staff_client.post(reverse("dashboard:bulk-replay"), {"owner": "bob"}, follow=True)
    job = ReplayJob.objects.get()
    assert response.redirect_chain[-1][0] == reverse("dashboard:replay-job", args=[job.uid])
    assert job.total == 1 and job.done == 1 and job.status == ReplayJob.Status.FINISHED
    assert job.filters == {"owner": "bob"}
    assert len(receiver.requests_to("/b")) == 2 and len(receiver.requests_to("/a")) == 1
    bobs = Delivery.objects.get(endpoint__owner=failures["bob"])
    assert bobs.status == Delivery.Status.SUCCEEDED
    assert "1</strong> replayed" in response.content.decode()
    assert AuditEntry.objects.filter(action="delivery.bulk_replay_started").exists()


def test_replay_job_page_refreshes_while_running(staff_client, staff):
    job = ReplayJob.objects.create(created_by=staff, total=10, done=4)
    body = staff_client.get(reverse("dashboard:replay-job", args=[job.uid])).content.decode()
    assert 'http-equiv="refresh"' in body and "40%" in body


def test_staff_replays_one_failure_from_the_list(staff_client, failures, receiver):
    delivery = Delivery.objects.get(endpoint__owner=failures["ann"])
    staff_client.post(reverse("dashboard:delivery-replay", args=[delivery.uid]))
    delivery.refresh_from_db()
    assert delivery.status == Delivery.Status.SUCCEEDED


def test_staff_reenables_a_system_disabled_endpoint(staff_client):
    endpoint = EndpointFactory()
    Endpoint.objects.filter(pk=endpoint.pk).update(
        state=Endpoint.State.DISABLED, disabled_reason="410", failing_since=timezone.now()
    )
    response = staff_client.post(
        reverse("dashboard:endpoint-enable", args=[endpoint.uid]), follow=True
    )
    endpoint.refresh_from_db()
    assert endpoint.state == Endpoint.State.ENABLED and endpoint.failing_since is None
    assert response.redirect_chain[-1][0] == reverse("dashboard:review-overview")
    assert AuditEntry.objects.filter(action="endpoint.enabled").exists()


GOOD_SCHEMA = '{"type": "object", "properties": {"n": {"type": "integer"}}, "required": ["n"]}'


def test_create_event_type_validates_the_schema_before_saving(staff_client):
    url = reverse("dashboard:event-type-create")
    broken = staff_client.post(
        url, {"name": "thing-done", "method": "POST", "schema": '{"type": 123}', "example": ""}
    )
    assert broken.status_code == 200 and not EventType.objects.filter(name="thing-done").exists()
    assert broken.context["form"].errors["schema"]
    assert "{&quot;type&quot;: 123}" in broken.content.decode()  # input kept
    not_json = staff_client.post(url, {"name": "thing-done", "method": "POST", "schema": "{"})
    assert "Not valid JSON" in not_json.context["form"].errors["schema"][0]
    mismatch = staff_client.post(
        url,
        {"name": "thing-done", "method": "POST", "schema": GOOD_SCHEMA, "example": '{"n": "x"}'},
    )
    assert "does not match the schema" in mismatch.context["form"].errors["example"][0]
    ok = staff_client.post(
        url, {"name": "thing-done", "method": "POST", "schema": GOOD_SCHEMA, "example": '{"n": 1}'}
    )
    assert ok.status_code == 302
    created = EventType.objects.get(name="thing-done")
    assert created.source == EventType.Source.ADMIN and created.example == {"n": 1}
    assert AuditEntry.objects.filter(action="event_type.created").exists()


def test_edit_event_type_bumps_version_and_archive_toggles(staff_client):
    event_type = EventTypeFactory(name="thing-done")
    url = reverse("dashboard:event-type-edit", args=["thing-done"])
    assert staff_client.get(url).status_code == 200
    staff_client.post(
        url, {"description": "new words", "method": "POST", "schema": GOOD_SCHEMA, "example": ""}
    )
    event_type.refresh_from_db()
    assert event_type.description == "new words" and event_type.version == 2
    staff_client.post(reverse("dashboard:event-type-archive", args=["thing-done"]))
    event_type.refresh_from_db()
    assert event_type.archived
    staff_client.post(reverse("dashboard:event-type-archive", args=["thing-done"]))
    event_type.refresh_from_db()
    assert not event_type.archived


def test_code_declared_types_are_read_only(staff_client):
    code = EventType.objects.get(name="new-subscription")
    url = reverse("dashboard:event-type-edit", args=[code.name])
    page = staff_client.get(url)
    assert "read-only" in page.content.decode() and "form" not in page.context
    staff_client.post(url, {"description": "hijacked", "method": "PUT", "schema": "{}"})
    staff_client.post(reverse("dashboard:event-type-archive", args=[code.name]))
    code.refresh_from_db()
    assert code.description != "hijacked" and code.method == "POST" and not code.archived


def test_audit_log_lists_entries_newest_first_with_filters(staff_client, staff, settings):
    settings.HOOKHUB_PAGE_SIZE = 2
    endpoint = EndpointFactory()
    for action in ("endpoint.created", "endpoint.paused", "endpoint.enabled"):
        AuditEntry.objects.create(
            actor=staff,
            actor_label=staff.username,
            action=action,
            object_type="endpoint",
            object_id=str(endpoint.uid),
        )
    first = staff_client.get(reverse("dashboard:audit-log"))
    assert [e.action for e in first.context["entries"]] == ["endpoint.enabled", "endpoint.paused"]
    older = staff_client.get(
        reverse("dashboard:audit-log"), {"before": first.context["next_before"]}
    )
    assert [e.action for e in older.context["entries"]] == ["endpoint.created"]
    paused = staff_client.get(reverse("dashboard:audit-log"), {"action": "endpoint.paused"})
    assert [e.action for e in paused.context["entries"]] == ["endpoint.paused"]


def test_django_admin_lists_every_model_and_keeps_history_read_only(staff_client, staff):
    from django.apps import apps
    from django.contrib import admin

    staff.is_superuser = True
    staff.save()
    ours = [
        m for m in apps.get_models() if m._meta.app_label in {"subscriptions", "deliveries", "demo"}
    ]
    assert all(admin.site.is_registered(model) for model in ours)
    for name in ("deliveries_attempt", "deliveries_event", "subscriptions_auditentry"):
        assert staff_client.get(reverse(f"admin:{name}_changelist")).status_code == 200
        assert staff_client.get(reverse(f"admin:{name}_add")).status_code == 403
