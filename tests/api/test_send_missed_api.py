"""`POST /api/v1/endpoints/{id}/send-missed/`: the API's way to send what an endpoint missed
while paused or disabled, as the dashboard's button does."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest
from django.utils import timezone

from deliveries.models import Delivery
from subscriptions import services
from subscriptions.models import AuditEntry, Endpoint

pytestmark = pytest.mark.django_db
S = Delivery.Status


def url(endpoint) -> str:
    return f"/api/v1/endpoints/{endpoint.uid}/send-missed/"


@pytest.fixture
def missed(make_endpoint, publish_now, owner):
    """An endpoint paused (through the API's own rule, services), three events published
    meanwhile, then re-enabled."""
    endpoint = make_endpoint()
    services.pause_endpoint(endpoint, actor=owner)
    events = [publish_now("order-paid", {"id": n}) for n in range(3)]
    services.enable_endpoint(endpoint, actor=owner)
    return endpoint, events


def test_it_sends_the_missed_events_with_their_webhook_ids_and_counts_them(
    missed, owner_api, owner, receiver
):
    endpoint, events = missed
    response = owner_api.post(url(endpoint), {}, format="json")
    assert response.status_code == 200
    assert response.json() == {"sent": 3}
    assert receiver.wait_for(3)
    assert sorted(r.headers["webhook-id"] for r in receiver.requests) == sorted(
        e.uid for e in events
    )
    assert AuditEntry.objects.get(action="endpoint.missed_sent").actor == owner

    again = owner_api.post(url(endpoint))
    assert (again.status_code, again.json()) == (200, {"sent": 0})
    assert len(receiver.requests) == 3


def test_since_limits_it_to_the_newer_events(missed, owner_api, receiver):
    endpoint, events = missed
    cut = timezone.now() - timedelta(minutes=5)
    Delivery.objects.filter(event__in=events[:2]).update(created_at=cut - timedelta(minutes=5))
    response = owner_api.post(url(endpoint), {"since": cut.isoformat()}, format="json")
    assert response.json() == {"sent": 1}
    assert receiver.wait_for(1)
    assert [r.headers["webhook-id"] for r in receiver.requests] == [events[2].uid]
    assert Delivery.objects.filter(status=S.SKIPPED).count() == 2


def test_a_paused_endpoint_answers_409_and_keeps_them(
    make_endpoint, publish_now, owner_api, receiver
):
    endpoint = make_endpoint(state=Endpoint.State.PAUSED)
    publish_now("order-paid", {"id": 1})
    response = owner_api.post(url(endpoint))
    assert response.status_code == 409
    assert response.json()["code"] == "send_refused"
    assert "enable it" in response.json()["detail"]
    assert Delivery.objects.get().status == S.SKIPPED and receiver.requests == []


def test_a_bad_since_is_a_400_in_the_error_shape(missed, owner_api):
    endpoint, _ = missed
    response = owner_api.post(url(endpoint), {"since": "yesterday"}, format="json")
    assert response.status_code == 400
    assert "since" in response.json()["errors"]
    assert Delivery.objects.filter(status=S.SKIPPED).count() == 3


def test_others_get_404_and_anonymous_401(missed, outsider_api, client, receiver):
    endpoint, _ = missed
    assert outsider_api.post(url(endpoint)).status_code == 404
    assert client.post(url(endpoint)).status_code == 401
    assert Delivery.objects.filter(status=S.SKIPPED).count() == 3 and receiver.requests == []


def test_staff_may_send_for_any_endpoint(missed, staff_api, receiver):
    endpoint, _ = missed
    assert staff_api.post(url(endpoint)).json() == {"sent": 3}
    assert receiver.wait_for(3)


def test_the_deliveries_list_filters_on_skipped(make_endpoint, publish_now, owner_api):
    make_endpoint(state=Endpoint.State.PAUSED)
    event = publish_now("order-paid", {"id": 1})
    listed = owner_api.get("/api/v1/deliveries/", {"status": "skipped"}).json()["results"]
    assert [(row["status"], row["next_attempt_at"]) for row in listed] == [("skipped", None)]
    assert event.uid in json.dumps(listed)


def test_the_operation_is_documented(client):
    document = json.loads(client.get("/api/schema/", {"format": "json"}).content)
    operation = document["paths"]["/api/v1/endpoints/{id}/send-missed/"]["post"]
    assert "paused" in operation["summary"]
    assert set(operation["responses"]) >= {"200", "400", "401", "403", "404", "409"}
    body = operation["requestBody"]["content"]["application/json"]["schema"]
    assert "$ref" in body
    ok = operation["responses"]["200"]["content"]["application/json"]["schema"]["$ref"]
    assert document["components"]["schemas"][ok.rsplit("/", 1)[1]]["required"] == ["sent"]
    statuses = document["components"]["schemas"]["StatusEnum"]["enum"]
    assert "skipped" in statuses
