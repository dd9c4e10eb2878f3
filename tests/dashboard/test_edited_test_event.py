"""Issue 13, item 12: "Send test" with an edited payload. Empty sends the type's example (no
JavaScript needed); anything else is checked against the type's schema first, and a refusal
comes back as form errors with nothing stored or sent."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from django.contrib.staticfiles import finders
from django.templatetags.static import static
from django.urls import reverse
from django.utils.html import escape
from standardwebhooks import Webhook

from deliveries.models import Attempt, Delivery, Event
from tests.factories import EventTypeFactory
from tests.receivers import Reply

pytestmark = pytest.mark.django_db


@pytest.fixture
def endpoint(receiver, make_endpoint, event_type):
    """order-paid's schema wants an integer `id`; its example is {"id": 1}."""
    receiver.on("/hook", Reply(200, body=b"got it"))
    return make_endpoint()


def _send(client, endpoint, **data):
    return client.post(
        reverse("dashboard:send-test", args=[endpoint.uid]), {"event_type": "order-paid", **data}
    )


def _received(receiver, endpoint) -> dict:
    assert receiver.wait_for(1)
    got = receiver.requests[-1]
    return Webhook(endpoint.secret).verify(got.body, got.headers)


def test_an_edited_payload_is_sent_signed_as_the_tests_data(owner_client, receiver, endpoint):
    edited = {"id": 99, "note": "edited by hand"}
    response = _send(owner_client, endpoint, payload=json.dumps(edited))
    delivery = Delivery.objects.get(endpoint=endpoint)
    assert response.status_code == 302 and response.url == delivery.get_absolute_url()
    event = _received(receiver, endpoint)
    assert event["type"] == "order-paid" and event["data"] == edited
    assert delivery.event.payload == edited
    assert delivery.status == Delivery.Status.SUCCEEDED
    assert delivery.attempts.get().trigger == Attempt.Trigger.TEST


def test_an_empty_payload_sends_the_types_example(owner_client, receiver, endpoint):
    response = _send(owner_client, endpoint, payload="   ")
    assert response.status_code == 302
    assert _received(receiver, endpoint)["data"] == {"id": 1}


@pytest.mark.parametrize(
    ("payload", "expected"),
    [
        ('{"id": "not a number"}', "id: 'not a number' is not of type 'integer'"),
        ('{"note": "no id"}', "data: 'id' is a required property"),
        ('{"id": 1', "Not valid JSON"),
    ],
)
def test_a_payload_the_schema_refuses_comes_back_as_form_errors_and_is_not_sent(
    owner_client, receiver, endpoint, payload, expected
):
    response = _send(owner_client, endpoint, payload=payload)
    assert response.status_code == 400
    errors = response.context["test_form"].errors["payload"]
    assert any(expected in error for error in errors), errors
    body = response.content.decode()
    assert "field-error" in body
    assert escape(payload) in body  # the text typed is kept in the box
    assert not Delivery.objects.exists() and not Event.objects.exists()
    assert receiver.requests == []


def test_a_payload_over_the_size_limit_is_refused_in_plain_words(
    owner_client, receiver, endpoint, settings
):
    settings.HOOKHUB_MAX_PAYLOAD_BYTES = 50
    response = _send(owner_client, endpoint, payload=json.dumps({"id": 1, "pad": "x" * 100}))
    assert response.status_code == 400
    assert "the limit is 50 bytes" in " ".join(response.context["test_form"].errors["payload"])
    assert receiver.requests == []


def test_the_payload_box_is_filled_from_each_types_example_by_a_self_hosted_script(
    owner_client, endpoint
):
    EventTypeFactory(name="order-shipped", example={"id": 7, "carrier": "ups"})
    body = owner_client.get(endpoint.get_absolute_url()).content.decode()
    assert 'name="payload"' in body and "Leave empty to send the type" in body
    assert '<script id="test-examples" type="application/json">' in body
    assert '"order-shipped": {"id": 7, "carrier": "ups"}' in body
    assert f'src="{static("hookhub/send_test.js")}"' in body
    script = Path(finders.find("hookhub/send_test.js")).read_text()
    assert "test-examples" in script and "payload" in script
