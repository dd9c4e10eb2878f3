"""The subscriber's endpoint pages: list, add/edit, delete, pause/resume, secret, test."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone
from standardwebhooks import Webhook

from deliveries import rollups
from deliveries.models import Attempt, Delivery
from deliveries.stats import endpoint_health
from subscriptions.models import AuditEntry, Endpoint
from tests.factories import AttemptFactory, DeliveryFactory, EndpointFactory, EventTypeFactory
from tests.receivers import Reply

pytestmark = pytest.mark.django_db


def messages_of(response) -> list[str]:
    return [str(message) for message in response.context["messages"]]


def test_endpoint_list_shows_state_types_rate_chart_and_last_delivery(owner_client, owner):
    event_type = EventTypeFactory(name="order-paid")
    endpoint = EndpointFactory(owner=owner, event_types=[event_type])
    Endpoint.objects.filter(pk=endpoint.pk).update(
        state=Endpoint.State.DISABLED, disabled_reason="Failing for 5 days"
    )
    response = owner_client.get(reverse("dashboard:endpoint-list"))
    body = response.content.decode()
    assert response.status_code == 200
    assert "Disabled by the system" in body and "Failing for 5 days" in body
    assert "order-paid" in body
    assert '<svg class="chart"' in body
    assert "no attempts" in body and "never" in body


def test_endpoint_list_shows_each_endpoints_own_newest_delivery_and_rolled_up_rate(
    owner_client, owner
):
    busy, quiet = EndpointFactory(owner=owner), EndpointFactory(owner=owner)
    now = timezone.now()
    for endpoint, status, hours_ago in ((busy, 200, 3), (busy, 500, 0), (quiet, 200, 2)):
        AttemptFactory(
            delivery=DeliveryFactory(
                endpoint=endpoint, status="failed" if status >= 300 else "succeeded"
            ),
            started_at=now - timedelta(hours=hours_ago),
            response_status=status,
        )
    DeliveryFactory(status="pending")  # someone else's, and newer than ours
    rollups.roll_up(now=now + timedelta(hours=1))  # the hours before this one are rolled up
    response = owner_client.get(reverse("dashboard:endpoint-list"))
    assert response.status_code == 200
    assert "status-failed" in response.content.decode()
    health = endpoint_health(Endpoint.objects.filter(owner=owner))
    assert health[busy.pk]["last_status"] == "failed" and health[busy.pk]["attempts"] == 2
    assert health[quiet.pk]["last_status"] == "succeeded" and health[quiet.pk]["rate"] == 1.0
    assert health[busy.pk]["rate"] == 0.5


def test_add_endpoint_saves_types_headers_and_audits(owner_client, owner, receiver):
    event_type = EventTypeFactory(name="order-paid")
    response = owner_client.post(
        reverse("dashboard:endpoint-create"),
        {
            "url": receiver.url("/hook"),
            "description": "orders",
            "event_types": [event_type.pk],
            "headers_text": "X-Team: billing\nAuthorization: Bearer abc",
        },
    )
    endpoint = Endpoint.objects.get(owner=owner)
    assert response.status_code == 302
    assert response.url == reverse("dashboard:endpoint-detail", args=[endpoint.uid])
    assert list(endpoint.event_types.all()) == [event_type]
    assert endpoint.headers == {"X-Team": "billing", "Authorization": "Bearer abc"}
    assert AuditEntry.objects.filter(action="endpoint.created", object_id=str(endpoint.uid))


@pytest.mark.parametrize(
    ("url", "fragment"),
    [
        ("ftp://example.com/hook", "http"),
        ("http://169.254.169.254/latest", "metadata"),
        ("http://10.1.2.3/hook", "private"),
    ],
)
def test_add_endpoint_refuses_urls_the_guard_refuses_and_keeps_input(owner_client, url, fragment):
    response = owner_client.post(
        reverse("dashboard:endpoint-create"),
        {"url": url, "description": "kept text", "all_event_types": "on"},
    )
    assert response.status_code == 200
    assert not Endpoint.objects.exists()
    errors = " ".join(response.context["form"].errors["url"]).lower()
    assert fragment in errors
    assert 'value="kept text"' in response.content.decode()


def test_add_endpoint_requires_a_type_or_all_and_valid_headers(owner_client, receiver):
    response = owner_client.post(
        reverse("dashboard:endpoint-create"),
        {"url": receiver.url(), "headers_text": "webhook-signature: forged"},
    )
    form = response.context["form"]
    assert response.status_code == 200
    assert "event_types" in form.errors
    assert "HookHub sets" in form.errors["headers_text"][0]
    assert not Endpoint.objects.exists()


def test_edit_endpoint_changes_it_and_audits_the_changed_fields(owner_client, owner, receiver):
    endpoint = EndpointFactory(owner=owner, url=receiver.url("/old"), headers={"X-A": "1"})
    edit_url = reverse("dashboard:endpoint-edit", args=[endpoint.uid])
    page = owner_client.get(edit_url)
    assert "X-A: 1" in page.content.decode()
    response = owner_client.post(
        edit_url, {"url": receiver.url("/new"), "all_event_types": "on", "headers_text": ""}
    )
    endpoint.refresh_from_db()
    assert response.status_code == 302
    assert endpoint.url.endswith("/new") and endpoint.all_event_types and endpoint.headers == {}
    entry = AuditEntry.objects.get(action="endpoint.updated")
    assert "url" in entry.details["changed"]


def test_delete_asks_first_then_deletes_on_post(owner_client, owner):
    endpoint = EndpointFactory(owner=owner)
    url = reverse("dashboard:endpoint-delete", args=[endpoint.uid])
    confirm = owner_client.get(url)
    assert confirm.status_code == 200 and "cannot be undone" in confirm.content.decode()
    assert Endpoint.objects.filter(pk=endpoint.pk).exists()
    response = owner_client.post(url, follow=True)
    assert response.redirect_chain[-1][0] == reverse("dashboard:endpoint-list")
    assert not Endpoint.objects.filter(pk=endpoint.pk).exists()
    assert AuditEntry.objects.filter(action="endpoint.deleted").exists()
    assert any("deleted" in message for message in messages_of(response))


def test_pause_and_resume_change_state_with_a_message_and_audit(owner_client, owner):
    endpoint = EndpointFactory(owner=owner)
    response = owner_client.post(
        reverse("dashboard:endpoint-pause", args=[endpoint.uid]), follow=True
    )
    endpoint.refresh_from_db()
    assert endpoint.state == Endpoint.State.PAUSED
    assert any("paused" in message for message in messages_of(response))
    owner_client.post(reverse("dashboard:endpoint-resume", args=[endpoint.uid]))
    endpoint.refresh_from_db()
    assert endpoint.state == Endpoint.State.ENABLED
    actions = set(AuditEntry.objects.values_list("action", flat=True))
    assert {"endpoint.paused", "endpoint.enabled"} <= actions


def test_state_changes_refuse_get(owner_client, owner):
    endpoint = EndpointFactory(owner=owner)
    stored = endpoint.secret_encrypted
    pause, rotate = (
        reverse(n, args=[endpoint.uid])
        for n in ("dashboard:endpoint-pause", "dashboard:secret-rotate")
    )
    assert owner_client.get(pause).status_code == 405
    # GET of the rotation is its confirmation page (tests/dashboard/test_secret_rotation.py).
    assert owner_client.get(rotate).status_code == 200
    endpoint.refresh_from_db()
    assert endpoint.state == Endpoint.State.ENABLED and endpoint.secret_encrypted == stored


def test_secret_is_hidden_until_revealed_by_post_which_is_audited(owner_client, owner):
    endpoint = EndpointFactory(owner=owner)
    detail = owner_client.get(reverse("dashboard:endpoint-detail", args=[endpoint.uid]))
    assert endpoint.secret not in detail.content.decode()
    response = owner_client.post(reverse("dashboard:secret-reveal", args=[endpoint.uid]))
    assert response.status_code == 200
    assert endpoint.secret in response.content.decode()
    assert "no-store" in response["Cache-Control"]
    entry = AuditEntry.objects.get(action="endpoint.secret_revealed")
    assert entry.actor == owner and endpoint.secret not in json.dumps(entry.details)


def test_rotate_secret_keeps_the_old_one_for_the_grace_period_and_says_until_when(
    owner_client, owner
):
    endpoint = EndpointFactory(owner=owner)
    old = endpoint.secret
    response = owner_client.post(
        reverse("dashboard:secret-rotate", args=[endpoint.uid]), follow=True
    )
    endpoint.refresh_from_db()
    assert endpoint.secret != old
    assert endpoint.signing_secrets() == [endpoint.secret, old]
    until = endpoint.previous_secret_expiries()[0].strftime("%Y-%m-%d %H:%M")
    assert any(until in message for message in messages_of(response))
    assert "previous secret also signs" in response.content.decode()
    assert AuditEntry.objects.filter(action="endpoint.secret_rotated").exists()


def test_send_test_delivers_to_the_receiver_and_shows_request_and_response(
    owner_client, owner, receiver
):
    receiver.on("/hook", Reply(200, body=b"thanks from the receiver"))
    event_type = EventTypeFactory(name="order-paid", example={"id": 42})
    endpoint = EndpointFactory(owner=owner, url=receiver.url("/hook"), event_types=[event_type])
    response = owner_client.post(
        reverse("dashboard:send-test", args=[endpoint.uid]),
        {"event_type": "order-paid"},
        follow=True,
    )
    delivery = Delivery.objects.get(endpoint=endpoint)
    assert response.redirect_chain[-1][0] == reverse(
        "dashboard:delivery-detail", args=[delivery.uid]
    )
    assert receiver.wait_for(1)
    got = receiver.requests[0]
    event = Webhook(endpoint.secret).verify(got.body, got.headers)
    assert event["type"] == "order-paid" and event["data"] == {"id": 42}
    body = response.content.decode()
    assert "thanks from the receiver" in body
    assert "HTTP 200" in body and got.headers["webhook-id"] in body
    assert delivery.attempts.get().trigger == Attempt.Trigger.TEST


def test_send_test_of_an_unknown_type_is_refused_with_a_message(owner_client, owner):
    endpoint = EndpointFactory(owner=owner)
    response = owner_client.post(
        reverse("dashboard:send-test", args=[endpoint.uid]), {"event_type": "nope"}, follow=True
    )
    assert not Delivery.objects.exists()
    assert any("Test not sent" in message for message in messages_of(response))


def test_webhooks_catalogue_lists_types_examples_and_a_verifying_receiver(owner_client):
    EventTypeFactory(name="order-paid", description="An order was paid.", example={"id": 7})
    EventTypeFactory(name="old-thing", archived=True)
    response = owner_client.get(reverse("dashboard:webhooks"))
    body = response.content.decode()
    assert response.status_code == 200
    assert "order-paid" in body and "An order was paid." in body and "&quot;id&quot;: 7" in body
    assert "old-thing" not in body
    assert "webhook.verify(body, dict(self.headers))" in body
