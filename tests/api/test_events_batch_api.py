"""POST /api/v1/events/batch/: staff publish many events of one type, all-or-nothing.
Receivers are real HTTP servers on 127.0.0.1; tasks run inline (tests/settings.py)."""

from __future__ import annotations

import json

import pytest

from deliveries.models import Delivery, Event
from subscriptions.models import EventType
from tests.factories import subscribed

pytestmark = pytest.mark.django_db

URL = "/api/v1/events/batch/"
NEW_SUBSCRIPTION = {"username": "ada", "monthly_fee": 9.99, "start_date": "2026-11-28T10:00:00Z"}


def subscription(username: str, **changes) -> dict:
    return {"data": {**NEW_SUBSCRIPTION, "username": username, **changes}}


def batch(*items: dict, type_name: str = "new-subscription") -> dict:
    return {"type": type_name, "events": list(items)}


def test_staff_batch_is_202_with_each_event_in_order_and_the_receiver_gets_them(
    staff_api, owner, receiver, django_capture_on_commit_callbacks
):
    subscribed(owner, receiver, "/a")
    subscribed(owner, receiver, "/b")
    with django_capture_on_commit_callbacks(execute=True):
        response = staff_api.post(
            URL, batch(subscription("ada"), subscription("bob"), subscription("cy")), format="json"
        )
    assert response.status_code == 202, response.content
    listed = response.json()["events"]
    assert [item["deliveries"] for item in listed] == [2, 2, 2]
    stored = list(Event.objects.order_by("id"))
    assert [item["id"] for item in listed] == [event.uid for event in stored]
    assert [event.payload["username"] for event in stored] == ["ada", "bob", "cy"]
    assert receiver.wait_for(6)
    by_id = {r.headers["webhook-id"]: json.loads(r.body)["data"] for r in receiver.requests}
    assert by_id[listed[1]["id"]]["username"] == "bob"


def test_a_batch_is_enqueued_once_after_commit(
    staff_api, owner, receiver, monkeypatch, django_capture_on_commit_callbacks
):
    subscribed(owner, receiver)
    calls = []
    monkeypatch.setattr("deliveries.queue.enqueue", lambda ids: calls.append(ids))
    with django_capture_on_commit_callbacks(execute=True):
        response = staff_api.post(
            URL, batch(subscription("ada"), subscription("bob")), format="json"
        )
        assert calls == []
    assert response.status_code == 202
    assert [len(ids) for ids in calls] == [2]


def test_an_invalid_item_is_400_naming_its_index_and_nothing_is_stored(staff_api, owner, receiver):
    subscribed(owner, receiver)
    response = staff_api.post(
        URL,
        batch(subscription("ada"), subscription("bob", monthly_fee="lots"), subscription("cy")),
        format="json",
    )
    assert response.status_code == 400
    body = response.json()
    assert body["code"] == "invalid" and "Item 1" in body["detail"]
    assert list(body["errors"]["events"]) == ["1"]
    assert body["errors"]["events"]["1"]["data"][0].startswith("monthly_fee: ")
    assert not Event.objects.exists() and not Delivery.objects.exists()
    assert receiver.requests == []


def test_a_malformed_item_has_its_errors_at_the_same_place(staff_api):
    response = staff_api.post(
        URL,
        batch(subscription("ada"), {"idempotency_key": "k" * 201}),
        format="json",
    )
    assert response.status_code == 400
    item = response.json()["errors"]["events"]["1"]
    assert set(item) == {"data", "idempotency_key"}
    assert not Event.objects.exists()


@pytest.mark.parametrize("archived", [False, True])
def test_an_unknown_or_archived_type_is_400_under_type(staff_api, archived):
    name = "no-such-type"
    if archived:
        name = "new-subscription"
        EventType.objects.filter(name=name).update(archived=True)
    response = staff_api.post(URL, batch(subscription("ada"), type_name=name), format="json")
    assert response.status_code == 400
    assert "type" in response.json()["errors"]
    assert not Event.objects.exists()


def test_a_batch_over_the_limit_is_refused_as_a_whole(staff_api, settings):
    settings.HOOKHUB_PUBLISH_BATCH_MAX = 2
    response = staff_api.post(URL, batch(*[subscription("ada")] * 3), format="json")
    assert response.status_code == 400
    body = response.json()
    assert body["errors"] == {"events": ["More than 2 events."]}
    assert "at most 2 events" in body["detail"]
    assert not Event.objects.exists()


def test_replayed_idempotency_keys_return_the_same_events(staff_api, owner, receiver):
    subscribed(owner, receiver)
    single = staff_api.post(
        "/api/v1/events/",
        {**subscription("ada"), "type": "new-subscription", "idempotency_key": "k-1"},
        format="json",
    ).json()
    payload = batch(
        {**subscription("ada"), "idempotency_key": "k-1"},
        {**subscription("bob"), "idempotency_key": "k-2"},
    )
    first = staff_api.post(URL, payload, format="json")
    again = staff_api.post(URL, payload, format="json")
    assert first.status_code == again.status_code == 202
    assert first.json() == again.json()
    assert first.json()["events"][0] == {"id": single["id"], "deliveries": 1}
    assert Event.objects.count() == 2 and Delivery.objects.count() == 2


def test_subscriber_tokens_cannot_publish_a_batch(owner_api, client):
    response = owner_api.post(URL, batch(subscription("ada")), format="json")
    assert response.status_code == 403
    assert response.json()["code"] == "permission_denied"
    anonymous = client.post(URL, batch(subscription("ada")), content_type="application/json")
    assert anonymous.status_code == 401
    assert not Event.objects.exists()


def test_the_openapi_document_describes_the_batch_route(client):
    document = json.loads(client.get("/api/schema/", {"format": "json"}).content)
    operation = document["paths"]["/api/v1/events/batch/"]["post"]
    assert "all-or-nothing" in operation["description"]
    assert "all-or-nothing" in operation["summary"]
    schemas = document["components"]["schemas"]

    def component(node: dict) -> dict:
        return schemas[node["$ref"].rsplit("/", 1)[1]]

    request = component(operation["requestBody"]["content"]["application/json"]["schema"])
    assert sorted(request["required"]) == ["events", "type"]
    item = component(request["properties"]["events"]["items"])
    assert set(item["properties"]) == {"data", "idempotency_key"} and item["required"] == ["data"]
    accepted = component(operation["responses"]["202"]["content"]["application/json"]["schema"])
    listed = component(accepted["properties"]["events"]["items"])
    assert set(listed["properties"]) == {"id", "deliveries"}
    refused = operation["responses"]["400"]
    assert "index" in refused["description"] and "Nothing was stored" in refused["description"]
    error_schema = refused["content"]["application/json"]["schema"]
    assert error_schema["$ref"].endswith("/Error")
    assert {"401", "403"} <= set(operation["responses"])
