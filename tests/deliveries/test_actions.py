from __future__ import annotations

import pytest
from standardwebhooks import Webhook

from deliveries import actions
from deliveries.models import Attempt, Delivery, ReplayJob
from subscriptions.models import AuditEntry, Endpoint
from tests.factories import EndpointFactory
from tests.receivers import Reply


@pytest.mark.django_db
def test_send_test_delivers_the_example_to_one_unsubscribed_endpoint(receiver, event_type, owner):
    endpoint = EndpointFactory(owner=owner, url=receiver.url("/t"))  # subscribes to nothing
    delivery = actions.send_test(endpoint, event_type, actor=owner)
    assert delivery.status == Delivery.Status.SUCCEEDED
    assert delivery.attempts.get().trigger == Attempt.Trigger.TEST
    got = receiver.requests[0]
    assert Webhook(endpoint.secret).verify(got.body, got.headers)["data"] == {"id": 1}
    assert AuditEntry.objects.filter(action="endpoint.test_sent", actor=owner).exists()


@pytest.mark.django_db
def test_a_failed_test_does_not_retry_or_touch_the_endpoint(receiver, event_type, owner):
    receiver.on("/t", Reply(410))
    endpoint = EndpointFactory(owner=owner, url=receiver.url("/t"), state="disabled")
    delivery = actions.send_test(endpoint, event_type, actor=owner, data={"id": 5})
    assert delivery.status == Delivery.Status.FAILED and delivery.next_attempt_at is None
    endpoint.refresh_from_db()
    assert endpoint.state == Endpoint.State.DISABLED and endpoint.failing_since is None


@pytest.mark.django_db
def test_replay_reuses_webhook_id_and_is_audited(
    receiver, make_endpoint, publish_now, owner, settings
):
    settings.HOOKHUB_RETRY_SCHEDULE = [0]
    receiver.on("/hook", Reply(500), Reply(200))
    make_endpoint()
    event = publish_now("order-paid", {"id": 1})
    delivery = Delivery.objects.get()
    assert delivery.status == Delivery.Status.FAILED
    replayed = actions.replay(delivery, actor=owner)
    assert replayed.status == Delivery.Status.SUCCEEDED
    assert [a.trigger for a in replayed.attempts.order_by("number")] == ["scheduled", "replay"]
    assert {r.headers["webhook-id"] for r in receiver.requests} == {event.uid}
    assert AuditEntry.objects.filter(action="delivery.replayed", actor=owner).exists()


@pytest.mark.django_db
def test_replay_is_refused_for_a_disabled_endpoint(receiver, make_endpoint, publish_now, owner):
    endpoint = make_endpoint()
    publish_now("order-paid", {"id": 1})
    Endpoint.objects.filter(pk=endpoint.pk).update(state=Endpoint.State.DISABLED)
    with pytest.raises(actions.ReplayRefused) as caught:
        actions.replay(Delivery.objects.get(), actor=owner)
    assert "enable it" in caught.value.message
    assert len(receiver.requests) == 1


@pytest.mark.django_db
def test_bulk_replay_replays_each_and_counts_skips(
    receiver, make_endpoint, publish_now, staff, settings
):
    settings.HOOKHUB_RETRY_SCHEDULE = [0]
    receiver.on("/a", Reply(500), Reply(200))
    make_endpoint("/a")
    paused = make_endpoint("/b")
    publish_now("order-paid", {"id": 1})
    Endpoint.objects.filter(pk=paused.pk).update(state=Endpoint.State.PAUSED)
    job = actions.start_bulk_replay(
        Delivery.objects.all(), actor=staff, filters={"status": "failed"}
    )
    job.refresh_from_db()
    assert (job.status, job.total, job.done, job.skipped) == (ReplayJob.Status.FINISHED, 2, 1, 1)
    assert len(receiver.requests_to("/a")) == 2
    assert AuditEntry.objects.filter(action="delivery.bulk_replay_started").exists()
