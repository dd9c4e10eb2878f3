"""Publishing over the API, reading deliveries with their attempts, replay and test events.
Receivers are real HTTP servers on 127.0.0.1; tasks run inline (tests/settings.py)."""

from __future__ import annotations

import json
import uuid

import pytest

from deliveries.models import Attempt, Delivery, Event
from subscriptions.models import AuditEntry
from tests.factories import DeliveryFactory, EndpointFactory, subscribed
from tests.receivers import Reply

pytestmark = pytest.mark.django_db

NEW_SUBSCRIPTION = {"username": "ada", "monthly_fee": 9.99, "start_date": "2026-11-28T10:00:00Z"}


def test_staff_publish_is_202_with_id_and_delivery_count_and_receiver_gets_it(
    staff_api, owner, receiver, django_capture_on_commit_callbacks
):
    subscribed(owner, receiver, "/a")
    subscribed(owner, receiver, "/b")
    # The API request's transaction commits, then the deliveries are enqueued.
    with django_capture_on_commit_callbacks(execute=True):
        response = staff_api.post(
            "/api/v1/events/",
            {"type": "new-subscription", "data": NEW_SUBSCRIPTION},
            format="json",
        )
    assert response.status_code == 202, response.content
    body = response.json()
    assert body["id"].startswith("msg_") and body["deliveries"] == 2
    assert receiver.wait_for(2)
    sent = receiver.requests[0]
    assert sent.headers["webhook-id"] == body["id"]
    assert json.loads(sent.body)["data"] == NEW_SUBSCRIPTION


def test_same_idempotency_key_returns_the_same_event(staff_api, owner, receiver):
    subscribed(owner, receiver)
    payload = {"type": "new-subscription", "data": NEW_SUBSCRIPTION, "idempotency_key": "k-1"}
    first = staff_api.post("/api/v1/events/", payload, format="json").json()
    second = staff_api.post("/api/v1/events/", payload, format="json")
    assert second.status_code == 202
    assert second.json()["id"] == first["id"]
    assert Event.objects.count() == 1 and Delivery.objects.count() == 1


def test_subscriber_tokens_cannot_publish(owner_api):
    response = owner_api.post(
        "/api/v1/events/", {"type": "new-subscription", "data": NEW_SUBSCRIPTION}, format="json"
    )
    assert response.status_code == 403
    assert not Event.objects.exists()


@pytest.mark.parametrize(
    ("payload", "field"),
    [
        ({"type": "no-such-type", "data": {}}, "type"),
        ({"type": "new-subscription", "data": {"username": "ada"}}, "data"),
        ({"type": "new-subscription", "data": {**NEW_SUBSCRIPTION, "monthly_fee": "x"}}, "data"),
        ({"type": "new-subscription"}, "data"),
        ({"data": NEW_SUBSCRIPTION}, "type"),
        (
            {"type": "new-subscription", "data": NEW_SUBSCRIPTION, "idempotency_key": "k" * 201},
            "idempotency_key",
        ),
    ],
)
def test_bad_event_is_400_with_field_errors_and_nothing_stored(staff_api, payload, field):
    response = staff_api.post("/api/v1/events/", payload, format="json")
    assert response.status_code == 400
    body = response.json()
    assert field in body["errors"] and body["detail"], body
    assert not Event.objects.exists() and not Delivery.objects.exists()


def test_deliveries_list_is_owner_scoped_and_filtered(owner_api, owner, outsider):
    mine = DeliveryFactory(endpoint=EndpointFactory(owner=owner), status="failed")
    other_mine = DeliveryFactory(endpoint=EndpointFactory(owner=owner), status="succeeded")
    theirs = DeliveryFactory(endpoint=EndpointFactory(owner=outsider), status="failed")

    def ids(**params):
        response = owner_api.get("/api/v1/deliveries/", params)
        assert response.status_code == 200
        return {item["id"] for item in response.json()["results"]}

    assert ids() == {str(mine.uid), str(other_mine.uid)}
    assert ids(status="failed") == {str(mine.uid)}
    assert ids(endpoint=str(other_mine.endpoint.uid)) == {str(other_mine.uid)}
    assert ids(endpoint=str(theirs.endpoint.uid)) == set()
    assert ids(event_type=mine.event.event_type.name) == {str(mine.uid)}


@pytest.mark.parametrize(
    ("params", "field"),
    [({"status": "exploded"}, "status"), ({"endpoint": "nope"}, "endpoint")],
)
def test_bad_delivery_filter_is_400(owner_api, params, field):
    response = owner_api.get("/api/v1/deliveries/", params)
    assert response.status_code == 400
    assert field in response.json()["errors"]


def test_delivery_detail_has_attempts_with_signatures_redacted(
    staff_api, owner, receiver, django_capture_on_commit_callbacks
):
    endpoint = subscribed(owner, receiver)
    with django_capture_on_commit_callbacks(execute=True):
        staff_api.post(
            "/api/v1/events/",
            {"type": "new-subscription", "data": NEW_SUBSCRIPTION},
            format="json",
        )
    assert receiver.wait_for(1)
    delivery = Delivery.objects.get(endpoint=endpoint)
    detail = staff_api.get(f"/api/v1/deliveries/{delivery.uid}/").json()
    assert detail["payload"] == NEW_SUBSCRIPTION
    assert detail["endpoint"] == str(endpoint.uid)
    attempt = detail["attempts"][0]
    assert attempt["response_status"] == 200 and attempt["trigger"] == "scheduled"
    signature = receiver.requests[0].headers["webhook-signature"]
    assert signature not in json.dumps(detail)


def test_replay_sends_again_with_the_same_webhook_id(owner_api, owner, receiver):
    receiver.on("/hook", Reply(500), Reply(200))
    endpoint = subscribed(owner, receiver)
    delivery = DeliveryFactory(endpoint=endpoint, status="failed")
    response = owner_api.post(f"/api/v1/deliveries/{delivery.uid}/replay/")
    assert response.status_code == 202, response.content
    assert receiver.wait_for(1)
    assert receiver.requests[0].headers["webhook-id"] == delivery.event.uid
    assert Attempt.objects.filter(delivery=delivery, trigger="replay").exists()
    assert AuditEntry.objects.filter(action="delivery.replayed").exists()


def test_replay_to_a_paused_endpoint_is_refused_with_409(owner_api, owner, receiver):
    delivery = DeliveryFactory(endpoint=subscribed(owner, receiver, state="paused"))
    response = owner_api.post(f"/api/v1/deliveries/{delivery.uid}/replay/")
    assert response.status_code == 409
    assert "enable it" in response.json()["detail"]
    assert not Attempt.objects.exists() and receiver.requests == []


@pytest.mark.parametrize("method", ["get", "post"])
def test_another_users_delivery_is_404(outsider_api, owner, method):
    delivery = DeliveryFactory(endpoint=EndpointFactory(owner=owner), status="failed")
    path = f"/api/v1/deliveries/{delivery.uid}/" + ("replay/" if method == "post" else "")
    response = getattr(outsider_api, method)(path)
    assert response.status_code == 404
    delivery.refresh_from_db()
    assert delivery.status == "failed" and not delivery.attempts.exists()
    assert outsider_api.get(f"/api/v1/deliveries/{uuid.uuid4()}/").status_code == 404


def test_test_event_reaches_the_endpoint_signed(owner_api, owner, receiver):
    endpoint = subscribed(owner, receiver)
    response = owner_api.post(
        f"/api/v1/endpoints/{endpoint.uid}/test/",
        {"event_type": "new-subscription"},
        format="json",
    )
    assert response.status_code == 202, response.content
    assert receiver.wait_for(1)
    sent = json.loads(receiver.requests[0].body)
    assert sent["type"] == "new-subscription" and sent["data"]["username"] == "ada"
    assert Attempt.objects.get(delivery__uid=response.json()["id"]).trigger == "test"


@pytest.mark.parametrize(
    ("payload", "field"),
    [
        ({"event_type": "no-such-type"}, "event_type"),
        ({}, "event_type"),
        ({"event_type": "new-subscription", "data": {"username": 5}}, "data"),
    ],
)
def test_bad_test_event_is_400_and_sends_nothing(owner_api, owner, receiver, payload, field):
    endpoint = subscribed(owner, receiver)
    response = owner_api.post(f"/api/v1/endpoints/{endpoint.uid}/test/", payload, format="json")
    assert response.status_code == 400
    assert field in response.json()["errors"]
    assert not Delivery.objects.exists() and receiver.requests == []
