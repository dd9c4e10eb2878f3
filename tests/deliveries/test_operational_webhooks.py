"""Operational webhooks: HookHub's own events (deliveries/webhooks.py) reach the provider's
staff endpoints that chose them, signed and through the normal pipeline, never a
subscriber's; they are listed in the OpenAPI document marked operational."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest
from django.core import mail
from django.urls import reverse
from django.utils import timezone
from standardwebhooks.webhooks import Webhook

from deliveries import actions, failure_warnings, operational
from deliveries.models import Delivery, Event
from subscriptions import services
from subscriptions.models import Endpoint, EventType
from tests.api.conftest import bearer_client
from tests.factories import EndpointFactory
from tests.receivers import Reply

pytestmark = pytest.mark.django_db


@pytest.fixture
def ops(receiver, staff):
    """A staff endpoint on /ops subscribed to every operational event type."""
    types = list(EventType.objects.filter(operational=True))
    assert {t.name for t in types} == {
        operational.DISABLED,
        operational.FAILING,
        operational.ENABLED,
        operational.EXHAUSTED,
        operational.REPLAY_FINISHED,
    }
    return EndpointFactory(owner=staff, url=receiver.url("/ops"), event_types=types)


def ops_events(receiver, ops) -> list[dict]:
    """What the staff endpoint received, each signature checked with its secret."""
    verifier = Webhook(ops.secret)
    return [verifier.verify(r.body, r.headers) for r in receiver.requests_to("/ops")]


def test_a_disabled_endpoint_is_reported_to_the_staff_endpoint(
    receiver, make_endpoint, publish_now, ops, owner
):
    receiver.on("/gone", Reply(410))
    gone = make_endpoint("/gone")
    publish_now("order-paid", {"id": 1})
    gone.refresh_from_db()
    assert gone.state == Endpoint.State.DISABLED
    assert receiver.wait_for(1, path="/ops")
    (event,) = ops_events(receiver, ops)
    assert event["type"] == operational.DISABLED
    assert event["data"]["endpoint_id"] == str(gone.uid)
    assert event["data"]["owner"] == owner.username
    assert "410" in event["data"]["reason"]


def test_subscribers_never_receive_operational_events(
    receiver, make_endpoint, publish_now, ops, owner
):
    everything = EndpointFactory(owner=owner, url=receiver.url("/all"), all_event_types=True)
    receiver.on("/gone", Reply(410))
    make_endpoint("/gone")
    publish_now("order-paid", {"id": 1})
    types = set(
        Delivery.objects.filter(endpoint=everything).values_list(
            "event__event_type__name", flat=True
        )
    )
    assert types == {"order-paid"}  # the provider's event, not HookHub's report about it


def test_a_subscriber_cannot_choose_an_operational_type(owner, owner_client, ops):
    response = bearer_client(owner).post(
        "/api/v1/endpoints/",
        {"url": "https://hooks.example.com/in", "event_types": [operational.DISABLED]},
        format="json",
    )
    assert response.status_code == 400
    assert "only for staff endpoints" in json.dumps(response.json())
    assert not Endpoint.objects.filter(owner=owner).exists()
    form = owner_client.get(reverse("dashboard:endpoint-create")).context["form"]
    offered = {t.name for t in form.fields["event_types"].queryset}
    assert offered and not offered & {operational.DISABLED, operational.EXHAUSTED}


def test_enabling_again_and_exhausted_retries_are_reported(
    receiver, make_endpoint, publish_now, ops, owner, settings, django_capture_on_commit_callbacks
):
    settings.HOOKHUB_RETRY_SCHEDULE = [0]  # one try: a 500 uses up the retries
    receiver.on("/hook", Reply(500))
    endpoint = make_endpoint()
    publish_now("order-paid", {"id": 7})
    assert Delivery.objects.get(endpoint=endpoint).status == Delivery.Status.FAILED
    endpoint.disable("test", now=timezone.now())
    with django_capture_on_commit_callbacks(execute=True):  # its report is sent on commit
        services.enable_endpoint(endpoint, actor=owner)
    assert receiver.wait_for(2, path="/ops")
    by_type = {e["type"]: e["data"] for e in ops_events(receiver, ops)}
    exhausted = by_type[operational.EXHAUSTED]
    assert exhausted["event_type"] == "order-paid" and exhausted["attempts"] == 1
    assert exhausted["last_error"] == "HTTP 500"
    enabled = by_type[operational.ENABLED]
    assert enabled["previous_state"] == "disabled" and enabled["enabled_by"] == owner.username


def test_a_failure_warning_is_reported_with_its_stage(
    receiver, ops, owner, settings, django_capture_on_commit_callbacks
):
    settings.HOOKHUB_WARN_AFTER = [3600]
    failing = EndpointFactory(owner=owner, url="https://failing.example.com/hook")
    Endpoint.objects.filter(pk=failing.pk).update(failing_since=timezone.now() - timedelta(hours=2))
    with django_capture_on_commit_callbacks(execute=True):
        assert failure_warnings.warn_failing_endpoints() == 1
    assert len(mail.outbox) == 1
    assert receiver.wait_for(1, path="/ops")
    (event,) = ops_events(receiver, ops)
    assert event["type"] == operational.FAILING and event["data"]["stage"] == 1


def test_a_finished_bulk_replay_is_reported(
    receiver, make_endpoint, staff, ops, settings, publish_now, django_capture_on_commit_callbacks
):
    settings.HOOKHUB_RETRY_SCHEDULE = [0]
    receiver.on("/hook", Reply(500), Reply(200))
    endpoint = make_endpoint()
    from django.test import TestCase

    from deliveries.publishing import publish

    with TestCase.captureOnCommitCallbacks(execute=True):
        publish("order-paid", {"id": 1})
    with TestCase.captureOnCommitCallbacks(execute=True):
        job = actions.start_bulk_replay(
            Delivery.objects.filter(endpoint=endpoint), actor=staff, filters={}
        )
    job.refresh_from_db()
    assert job.status == job.Status.FINISHED
    events = {e["type"]: e["data"] for e in ops_events(receiver, ops)}
    assert events[operational.REPLAY_FINISHED]["job_id"] == str(job.uid)
    assert events[operational.REPLAY_FINISHED]["done"] == 1


def test_nothing_is_stored_when_no_endpoint_wants_operational_events(
    receiver, make_endpoint, publish_now
):
    receiver.on("/gone", Reply(410))
    make_endpoint("/gone")
    publish_now("order-paid", {"id": 1})
    assert list(Event.objects.values_list("event_type__name", flat=True)) == ["order-paid"]


def test_an_operational_endpoint_failing_does_not_report_itself(
    receiver, publish_now, ops, settings, make_endpoint
):
    settings.HOOKHUB_RETRY_SCHEDULE = [0]
    receiver.on("/ops", Reply(500))  # the operational receiver is down
    receiver.on("/hook", Reply(500))
    make_endpoint()
    publish_now("order-paid", {"id": 1})  # exhausted -> one report, which fails too
    reports = Event.objects.filter(event_type__operational=True)
    assert reports.count() == 1  # no report about the failed report


def test_the_document_marks_operational_webhooks(client, owner):
    client.force_login(owner)
    document = json.loads(client.get("/api/schema/", {"format": "json"}).content)
    operation = document["webhooks"][operational.DISABLED]["post"]
    assert operation["x-hookhub-operational"] is True
    assert operation["tags"] == ["operational webhooks"]
    assert "x-hookhub-operational" not in document["webhooks"]["new-subscription"]["post"]
