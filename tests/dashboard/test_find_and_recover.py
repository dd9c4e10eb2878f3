"""Issue 13, item 11: find a delivery by its `webhook-id` or its delivery id, and a
subscriber's "recover": replay one endpoint's failed deliveries since a time, with a dry-run
count first and a progress page only they (and staff) can see."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from deliveries.models import Attempt, Delivery, ReplayJob
from subscriptions.models import AuditEntry
from tests.factories import DeliveryFactory, EndpointFactory
from tests.receivers import Reply

pytestmark = pytest.mark.django_db


@pytest.fixture
def one_try(settings):
    settings.HOOKHUB_RETRY_SCHEDULE = [0]


def _since(delta: timedelta) -> str:
    return (timezone.now() - delta).strftime("%Y-%m-%dT%H:%M")


def test_the_log_finds_a_delivery_by_webhook_id_or_delivery_id(
    owner_client, receiver, make_endpoint, publish_now
):
    receiver.on("/hook", Reply(200))
    endpoint = make_endpoint()
    events = [publish_now("order-paid", {"id": n}) for n in range(3)]
    webhook_id = receiver.requests[1].headers["webhook-id"]
    assert webhook_id == events[1].uid
    wanted = Delivery.objects.get(event=events[1])
    url = reverse("dashboard:delivery-log", args=[endpoint.uid])

    def rows(value: str) -> list[int]:
        response = owner_client.get(url, {"id": value})
        assert response.status_code == 200
        return [d.pk for d in response.context["page"].rows]

    assert rows(webhook_id) == [wanted.pk]
    assert rows(f"  {webhook_id} ") == [wanted.pk]  # pasted with spaces
    assert rows(str(wanted.uid)) == [wanted.pk]
    assert rows(str(wanted.uid).upper()) == [wanted.pk]
    assert rows("msg_NOPE") == []
    assert (
        "No deliveries match these filters" in owner_client.get(url, {"id": "x"}).content.decode()
    )


def test_finding_by_id_never_reaches_another_subscribers_delivery(owner_client, owner, outsider):
    theirs = DeliveryFactory(endpoint=EndpointFactory(owner=outsider))
    mine = EndpointFactory(owner=owner)
    url = reverse("dashboard:delivery-log", args=[mine.uid])
    for value in (str(theirs.uid), theirs.event.uid):
        assert owner_client.get(url, {"id": value}).context["page"].rows == []


def test_staff_find_a_failure_by_webhook_id_across_subscribers(
    staff_client, receiver, publish_now, one_try, event_type
):
    receiver.on("/a", Reply(500))
    receiver.on("/b", Reply(500))
    ann = EndpointFactory(url=receiver.url("/a"), event_types=[event_type])
    EndpointFactory(url=receiver.url("/b"), event_types=[event_type])
    first = publish_now("order-paid", {"id": 1})
    publish_now("order-paid", {"id": 2})
    url = reverse("dashboard:review-failures")
    by_event = staff_client.get(url, {"id": first.uid}).context["page"].rows
    assert {d.event_id for d in by_event} == {first.pk} and len(by_event) == 2
    anns = Delivery.objects.get(event=first, endpoint=ann)
    assert [d.pk for d in staff_client.get(url, {"id": str(anns.uid)}).context["page"].rows] == [
        anns.pk
    ]


@pytest.fixture
def three_failures(receiver, make_endpoint, publish_now, one_try):
    """Three failed deliveries to the owner's endpoint, the first published three days ago;
    the receiver answers 200 from the fourth request on."""
    receiver.on("/hook", Reply(500), Reply(500), Reply(500), Reply(200, body=b"recovered"))
    endpoint = make_endpoint()
    events = [publish_now("order-paid", {"id": n}) for n in range(3)]
    deliveries = [Delivery.objects.get(event=event) for event in events]
    assert all(d.status == Delivery.Status.FAILED for d in deliveries)
    Delivery.objects.filter(pk=deliveries[0].pk).update(
        created_at=timezone.now() - timedelta(days=3)
    )
    return endpoint, deliveries


def test_recover_shows_a_dry_run_count_then_replays_failures_since_the_time(
    owner_client, owner, receiver, three_failures
):
    endpoint, (old, recent, newest) = three_failures
    url = reverse("dashboard:recover", args=[endpoint.uid])
    log = owner_client.get(reverse("dashboard:delivery-log", args=[endpoint.uid]))
    assert url in log.content.decode()

    form = owner_client.get(url)
    assert form.status_code == 200 and form.context["count"] is None
    since = _since(timedelta(days=1))
    dry = owner_client.get(url, {"since": since})
    assert dry.status_code == 200 and dry.context["count"] == 2
    assert 'id="dry-run-count">2<' in dry.content.decode()
    assert not ReplayJob.objects.exists() and len(receiver.requests) == 3  # nothing sent

    response = owner_client.post(url, {"since": since}, follow=True)
    job = ReplayJob.objects.get()
    assert response.redirect_chain[-1] == (reverse("dashboard:recover-job", args=[job.uid]), 302)
    assert response.status_code == 200
    assert job.created_by == owner and job.total == 2 and job.done == 2 and job.skipped == 0
    assert job.status == ReplayJob.Status.FINISHED
    assert job.filters["endpoint"] == str(endpoint.uid) and job.filters["status"] == "failed"
    body = response.content.decode()
    assert "2</strong> replayed" in body and endpoint.get_absolute_url() in body
    assert 'http-equiv="refresh"' not in body  # finished

    # Exactly the two recent ones went out again, each with its own webhook-id.
    replayed = receiver.requests[3:]
    assert sorted(r.headers["webhook-id"] for r in replayed) == sorted(
        [recent.event.uid, newest.event.uid]
    )
    for delivery in (recent, newest):
        delivery.refresh_from_db()
        assert delivery.status == Delivery.Status.SUCCEEDED
        assert delivery.attempts.order_by("number").last().trigger == Attempt.Trigger.REPLAY
    old.refresh_from_db()
    assert old.status == Delivery.Status.FAILED and old.attempt_count == 1
    assert AuditEntry.objects.filter(action="delivery.bulk_replay_started", actor=owner).exists()


def test_recover_refuses_a_time_in_the_future_and_a_paused_endpoint(
    owner_client, receiver, three_failures
):
    endpoint, _ = three_failures
    url = reverse("dashboard:recover", args=[endpoint.uid])
    future = (timezone.now() + timedelta(days=1)).strftime("%Y-%m-%dT%H:%M")
    refused = owner_client.post(url, {"since": future})
    assert refused.status_code == 400 and "Pick a time in the past" in refused.content.decode()
    assert owner_client.post(url, {}).status_code == 400

    owner_client.post(reverse("dashboard:endpoint-pause", args=[endpoint.uid]))
    dry = owner_client.get(url, {"since": _since(timedelta(days=7))})
    assert dry.context["count"] == 3 and 'id="recover-disabled"' in dry.content.decode()
    assert "Replay 3" not in dry.content.decode()
    response = owner_client.post(url, {"since": _since(timedelta(days=7))}, follow=True)
    assert any("Enable the endpoint" in str(m) for m in response.context["messages"])
    assert not ReplayJob.objects.exists() and len(receiver.requests) == 3


def test_a_replay_job_page_shows_only_to_who_started_it_and_staff(
    client, owner, outsider, staff, three_failures
):
    endpoint, _ = three_failures
    client.force_login(owner)
    client.post(
        reverse("dashboard:recover", args=[endpoint.uid]),
        {"since": _since(timedelta(days=7))},
    )
    job = ReplayJob.objects.get()
    url = reverse("dashboard:recover-job", args=[job.uid])
    assert client.get(url).status_code == 200
    # The staff-only page stays staff-only.
    assert client.get(reverse("dashboard:replay-job", args=[job.uid])).status_code == 403
    client.force_login(outsider)
    assert client.get(url).status_code == 404
    assert client.post(reverse("dashboard:recover", args=[endpoint.uid])).status_code == 404
    staffs_job = ReplayJob.objects.create(created_by=staff)
    client.force_login(owner)
    assert client.get(reverse("dashboard:recover-job", args=[staffs_job.uid])).status_code == 404
    client.force_login(staff)
    assert client.get(url).status_code == 200
