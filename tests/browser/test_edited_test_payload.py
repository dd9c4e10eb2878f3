"""The send-test payload box in a real browser: static/hookhub/send_test.js fills it with the
chosen type's example, follows the type select until someone edits it, and the edited JSON
is what the receiver on 127.0.0.1 gets."""

from __future__ import annotations

import json

import pytest
from standardwebhooks import Webhook

from tests.browser_support import needs_chromium
from tests.factories import EndpointFactory, EventTypeFactory, UserFactory
from tests.receivers import Reply

PASSWORD = "correct horse battery staple"

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True), needs_chromium]


def test_the_payload_box_follows_the_type_until_edited_and_sends_the_edit(
    chromium, live_server, receiver
):
    receiver.on("/hook", Reply(200))
    paid = EventTypeFactory(name="order-paid", example={"id": 42})
    EventTypeFactory(name="order-shipped", example={"id": 7, "carrier": "ups"})
    user = UserFactory(username="pat", password=PASSWORD)
    endpoint = EndpointFactory(owner=user, url=receiver.url("/hook"), event_types=[paid])
    context = chromium.new_context()
    context.set_default_timeout(15_000)
    page = context.new_page()
    try:
        page.goto(f"{live_server.url}/accounts/login/")
        page.fill("#id_username", "pat")
        page.fill("#id_password", PASSWORD)
        page.click("button[type=submit]")
        page.wait_for_selector("text=Sign out")
        page.goto(f"{live_server.url}{endpoint.get_absolute_url()}")

        page.select_option("#id_event_type", "order-paid")
        page.wait_for_function("document.querySelector('#id_payload').value !== ''")
        assert json.loads(page.input_value("#id_payload")) == {"id": 42}
        page.select_option("#id_event_type", "order-shipped")
        assert json.loads(page.input_value("#id_payload")) == {"id": 7, "carrier": "ups"}

        page.fill("#id_payload", '{"id": 8, "carrier": "dhl"}')
        page.select_option("#id_event_type", "order-paid")  # an edit is never overwritten
        assert json.loads(page.input_value("#id_payload")) == {"id": 8, "carrier": "dhl"}
        page.click("button:has-text('Send test event')")
        page.wait_for_selector("#delivery-status:has-text('Succeeded')")
    finally:
        context.close()
    assert receiver.wait_for(1, path="/hook")
    got = receiver.requests_to("/hook")[0]
    event = Webhook(endpoint.secret).verify(got.body, got.headers)
    assert event["type"] == "order-paid" and event["data"] == {"id": 8, "carrier": "dhl"}
