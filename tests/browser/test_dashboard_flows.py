"""The dashboard in a real browser: Debian's chromium driven by playwright, against
pytest-django's live server and a real receiver on 127.0.0.1.

Screenshots of the main pages (docs/screenshots/, linked from the README) are written only
when HOOKHUB_SCREENSHOTS=1 (`make screenshots`), so a test run leaves the tree unchanged.
"""

from __future__ import annotations

import os
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from standardwebhooks import Webhook

from deliveries.models import Delivery
from deliveries.publishing import publish
from subscriptions.models import AuditEntry, Endpoint
from tests.browser_support import LOOPBACK, needs_chromium
from tests.factories import EndpointFactory, EventTypeFactory, StaffFactory, UserFactory
from tests.receivers import Reply

PASSWORD = "correct horse battery staple"
SCREENSHOTS = Path(__file__).resolve().parents[2] / "docs" / "screenshots"

pytestmark = [
    pytest.mark.browser,
    pytest.mark.django_db(transaction=True),
    needs_chromium,
]


@pytest.fixture
def page(chromium):
    """A fresh browser context; every request it makes is recorded, and the test fails if
    any went to a host that is not this machine (no CDN, no fonts, no telemetry)."""
    context = chromium.new_context(viewport={"width": 1280, "height": 900})
    context.set_default_timeout(15_000)
    tab = context.new_page()
    hosts: list[str] = []
    tab.on("request", lambda request: hosts.append(urlsplit(request.url).hostname or ""))
    yield tab
    context.close()
    outside = {host for host in hosts if host not in LOOPBACK}
    assert hosts, "the browser made no requests at all"
    assert not outside, f"the browser contacted non-loopback hosts: {outside}"


def shot(page, name: str) -> None:
    if os.environ.get("HOOKHUB_SCREENSHOTS") != "1":
        return
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / f"{name}.png"), full_page=True)


def sign_in(page, live_server, username: str) -> None:
    page.goto(f"{live_server.url}/accounts/login/")
    page.fill("#id_username", username)
    page.fill("#id_password", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_selector("text=Sign out")


def test_subscriber_adds_endpoint_sends_test_sees_attempt_reveals_and_rotates_secret(
    page, live_server, receiver
):
    receiver.on("/hook", Reply(200, body=b'{"ok": true}'))
    EventTypeFactory(
        name="order-paid", description="An order was paid in full.", example={"id": 42}
    )
    UserFactory(username="sam", password=PASSWORD)
    sign_in(page, live_server, "sam")

    page.click("text=Add endpoint")
    page.fill("#id_url", receiver.url("/hook"))
    page.fill("#id_description", "Orders service")
    page.check("label:has-text('order-paid') input")
    page.fill("#id_headers_text", "X-Team: billing")
    shot(page, "endpoint-form")
    page.click("button:has-text('Add endpoint')")
    page.wait_for_selector("text=Endpoint added")
    endpoint = Endpoint.objects.get(owner__username="sam")

    page.select_option("#id_event_type", "order-paid")
    page.click("button:has-text('Send test event')")
    page.wait_for_selector("#delivery-status:has-text('Succeeded')")
    assert page.locator(".attempt .status-succeeded").first.inner_text() == "HTTP 200"
    # The response body is pretty-printed JSON on the page.
    assert "webhook-id" in page.content() and '"ok": true' in page.content()
    shot(page, "delivery-detail")
    assert receiver.wait_for(1, path="/hook")
    got = receiver.requests_to("/hook")[0]
    event = Webhook(endpoint.secret).verify(got.body, got.headers)
    assert event["data"] == {"id": 42} and got.headers["x-team"] == "billing"

    page.click(f"text={endpoint.url}")
    page.click("button:has-text('Reveal secret')")
    assert page.inner_text("#signing-secret") == endpoint.secret
    shot(page, "endpoint-detail")
    page.click("a:has-text('Rotate secret')")  # the confirmation page asks for the expiry
    page.check("input[name=previous_expires][value='1h']")
    page.click("button:has-text('Rotate secret')")
    page.wait_for_selector("text=The old one keeps signing until")
    endpoint.refresh_from_db()
    assert page.inner_text("#signing-secret") == endpoint.secret  # shown at once
    assert len(endpoint.previous_secret_expiries()) == 1
    assert page.locator("text=previous secret also signs").count() == 1
    assert (
        AuditEntry.objects.filter(
            action__in=["endpoint.secret_revealed", "endpoint.secret_rotated"]
        ).count()
        == 2
    )

    page.click("nav >> text=Endpoints")
    page.wait_for_selector("svg.chart")
    # Only test events went out so far, and they do not count in the success rate.
    assert "no attempts" in page.inner_text("table.endpoints")
    shot(page, "endpoint-list")
    page.click("nav >> text=Webhooks")
    page.wait_for_selector("#receiver-snippet")
    shot(page, "webhooks-catalogue")


def test_admin_finds_a_failed_delivery_replays_it_and_sees_it_succeed(
    page, live_server, receiver, settings
):
    settings.HOOKHUB_RETRY_SCHEDULE = [0]  # one try, then the delivery is failed for good
    receiver.on("/flaky", Reply(500, body=b"database down"), Reply(200, body=b"back up"))
    EventTypeFactory(name="order-paid", example={"id": 1})
    customer = UserFactory(username="carol", password=PASSWORD)
    EndpointFactory(owner=customer, url=receiver.url("/flaky"), all_event_types=True)
    publish("order-paid", {"id": 7})  # autocommit here: delivered (and failed) at once
    delivery = Delivery.objects.get(endpoint__owner=customer)
    assert delivery.status == Delivery.Status.FAILED
    StaffFactory(username="root", password=PASSWORD)
    sign_in(page, live_server, "root")

    page.click("nav >> text=Overview")
    page.wait_for_selector("svg.chart")
    shot(page, "admin-overview")
    page.click("nav >> text=Failures")
    page.fill("#id_owner", "carol")
    page.click("button:has-text('Filter')")
    page.wait_for_selector("table.failures")
    shot(page, "admin-failures")
    page.click("table.failures a")
    page.wait_for_selector("text=database down")
    page.click("button:has-text('Replay')")
    page.wait_for_selector("#delivery-status:has-text('Succeeded')")
    assert "back up" in page.content()
    shot(page, "admin-replayed")
    delivery.refresh_from_db()
    assert delivery.status == Delivery.Status.SUCCEEDED
    first, second = receiver.requests_to("/flaky")
    assert first.headers["webhook-id"] == second.headers["webhook-id"] == delivery.event.uid
