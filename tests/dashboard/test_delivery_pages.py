"""The delivery log, attempt detail and replay, for subscribers."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from deliveries.models import Attempt, Delivery
from subscriptions.models import AuditEntry
from tests.factories import DeliveryFactory, EndpointFactory, EventFactory, EventTypeFactory
from tests.receivers import Reply

pytestmark = pytest.mark.django_db


@pytest.fixture
def one_try(settings):
    """Deliveries fail for good after a single attempt, so tests get failed rows for real."""
    settings.HOOKHUB_RETRY_SCHEDULE = [0]


@pytest.fixture
def failed_delivery(publish_now):
    def make(owner, receiver, path="/hook", status=500):
        receiver.on(path, Reply(status, body=b"receiver broke"), Reply(200, body=b"fixed"))
        event_type = EventTypeFactory(name="order-paid", example={"id": 1})
        endpoint = EndpointFactory(owner=owner, url=receiver.url(path), event_types=[event_type])
        publish_now("order-paid", {"id": 1})
        delivery = Delivery.objects.get(endpoint=endpoint)
        assert delivery.status == Delivery.Status.FAILED
        return delivery

    return make


def test_attempt_detail_shows_request_response_duration_and_plain_error(
    owner_client, owner, receiver, one_try, failed_delivery
):
    delivery = failed_delivery(owner, receiver)
    response = owner_client.get(reverse("dashboard:delivery-detail", args=[delivery.uid]))
    body = response.content.decode()
    assert response.status_code == 200
    assert "HTTP 500" in body and "receiver broke" in body
    assert Attempt.ErrorClass.HTTP_STATUS.label in body
    assert delivery.event.uid in body and "webhook-timestamp" in body
    assert "ms" in body and "Replay" in body
    assert 'http-equiv="refresh"' not in body  # finished: no reload


def test_pending_delivery_page_refreshes_itself_and_shows_next_retry(owner_client, owner):
    endpoint = EndpointFactory(owner=owner)
    # Due within HOOKHUB_PENDING_REFRESH: a long back-off does not reload (test_retrying_*).
    due = timezone.now() + timedelta(seconds=1)
    delivery = DeliveryFactory(endpoint=endpoint, next_attempt_at=due)
    body = owner_client.get(
        reverse("dashboard:delivery-detail", args=[delivery.uid])
    ).content.decode()
    assert 'http-equiv="refresh"' in body
    assert due.strftime("%Y-%m-%d %H:%M:%S") in body


def test_replay_makes_a_new_attempt_with_the_same_webhook_id_and_succeeds(
    owner_client, owner, receiver, one_try, failed_delivery
):
    delivery = failed_delivery(owner, receiver)
    response = owner_client.post(
        reverse("dashboard:delivery-replay", args=[delivery.uid]), follow=True
    )
    delivery.refresh_from_db()
    assert delivery.status == Delivery.Status.SUCCEEDED
    first, second = receiver.requests_to("/hook")
    assert first.headers["webhook-id"] == second.headers["webhook-id"] == delivery.event.uid
    assert delivery.attempts.order_by("number").last().trigger == Attempt.Trigger.REPLAY
    assert AuditEntry.objects.filter(action="delivery.replayed").exists()
    assert "fixed" in response.content.decode()


def test_replay_of_a_paused_endpoint_is_refused_in_plain_words(
    owner_client, owner, receiver, one_try, failed_delivery
):
    delivery = failed_delivery(owner, receiver)
    owner_client.post(reverse("dashboard:endpoint-pause", args=[delivery.endpoint.uid]))
    response = owner_client.post(
        reverse("dashboard:delivery-replay", args=[delivery.uid]), follow=True
    )
    assert delivery.attempts.count() == 1
    messages = [str(m) for m in response.context["messages"]]
    assert any("Not replayed" in m and "enable it" in m for m in messages)


def _log(client, endpoint, **params):
    return client.get(reverse("dashboard:delivery-log", args=[endpoint.uid]), params)


def test_log_is_newest_first_and_keyset_paginated_without_offset_or_count(
    owner_client, owner, settings
):
    settings.HOOKHUB_PAGE_SIZE = 3
    endpoint = EndpointFactory(owner=owner)
    deliveries = [DeliveryFactory(endpoint=endpoint) for _ in range(7)]
    newest_first = [d.pk for d in reversed(deliveries)]
    with CaptureQueriesContext(connection) as queries:
        first = _log(owner_client, endpoint)
    assert [d.pk for d in first.context["page"].rows] == newest_first[:3]
    sql = " ".join(q["sql"].upper() for q in queries.captured_queries)
    assert "OFFSET" not in sql and "COUNT(" not in sql
    cursor = first.context["page"].next_before
    second = _log(owner_client, endpoint, before=cursor)
    third = _log(owner_client, endpoint, before=second.context["page"].next_before)
    assert [d.pk for d in second.context["page"].rows] == newest_first[3:6]
    assert [d.pk for d in third.context["page"].rows] == newest_first[6:]
    assert third.context["page"].next_before is None
    assert f"before={cursor}" in first.content.decode()


def test_log_filters_by_status_type_and_date_range(owner_client, owner):
    endpoint = EndpointFactory(owner=owner)
    paid, refunded = EventTypeFactory(name="order-paid"), EventTypeFactory(name="refunded")
    ok = DeliveryFactory(
        endpoint=endpoint, event=EventFactory(event_type=paid), status=Delivery.Status.SUCCEEDED
    )
    bad = DeliveryFactory(
        endpoint=endpoint, event=EventFactory(event_type=refunded), status=Delivery.Status.FAILED
    )
    old = DeliveryFactory(endpoint=endpoint, event=EventFactory(event_type=paid))
    Delivery.objects.filter(pk=old.pk).update(created_at=timezone.now() - timedelta(days=3))

    def rows(**params):
        return {d.pk for d in _log(owner_client, endpoint, **params).context["page"].rows}

    assert rows(status="failed") == {bad.pk}
    assert rows(event_type="order-paid") == {ok.pk, old.pk}
    since = (timezone.now() - timedelta(days=1)).strftime("%Y-%m-%dT%H:%M")
    assert rows(since=since) == {ok.pk, bad.pk}
    until = (timezone.now() - timedelta(days=2)).strftime("%Y-%m-%dT%H:%M")
    assert rows(until=until) == {old.pk}


def test_log_with_an_inverted_date_range_shows_the_error_and_no_rows(owner_client, owner):
    endpoint = EndpointFactory(owner=owner)
    DeliveryFactory(endpoint=endpoint)
    response = _log(owner_client, endpoint, since="2026-02-01T00:00", until="2026-01-01T00:00")
    assert response.context["page"].rows == []
    assert "must be after" in response.content.decode()


def test_endpoint_list_counts_attempts_of_the_last_24_hours(
    owner_client, owner, receiver, publish_now
):
    receiver.on("/hook", Reply(200))
    event_type = EventTypeFactory(name="order-paid", example={"id": 1})
    endpoint = EndpointFactory(owner=owner, url=receiver.url("/hook"), event_types=[event_type])
    publish_now("order-paid", {"id": 1})
    publish_now("order-paid", {"id": 2})
    body = owner_client.get(reverse("dashboard:endpoint-list")).content.decode()
    assert "100%" in body and "of 2" in body
    assert "2 succeeded, 0 failed" in body
    assert endpoint.url in body
