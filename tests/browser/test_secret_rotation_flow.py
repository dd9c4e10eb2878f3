"""Rotating a signing secret in a real browser: the endpoint page links to a confirmation
page, the owner picks when the old secret stops, and the new one is on the next page at
once; a second rotation leaves both old secrets listed as still signing."""

from __future__ import annotations

import pytest

from subscriptions.models import Endpoint
from tests.browser_support import needs_chromium
from tests.factories import EndpointFactory, UserFactory

PASSWORD = "correct horse battery staple"

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True), needs_chromium]


def test_the_owner_confirms_a_rotation_and_sees_the_new_secret_at_once(chromium, live_server):
    user = UserFactory(username="rio", password=PASSWORD)
    endpoint = EndpointFactory(owner=user, url="https://example.com/hook")
    s0 = endpoint.secret
    context = chromium.new_context()
    context.set_default_timeout(15_000)
    page = context.new_page()
    try:
        page.goto(f"{live_server.url}/accounts/login/")
        page.fill("#id_username", "rio")
        page.fill("#id_password", PASSWORD)
        page.click("button[type=submit]")
        page.wait_for_selector("text=Sign out")

        shown = []
        for choice in ("24h", "1h"):
            page.goto(f"{live_server.url}{endpoint.get_absolute_url()}")
            page.click("a:has-text('Rotate secret')")
            page.wait_for_selector("text=Rotate the signing secret?")
            assert page.is_checked("input[name=previous_expires][value='24h']")  # the default
            page.check(f"input[name=previous_expires][value='{choice}']")
            page.click("button:has-text('Rotate secret')")
            page.wait_for_selector("text=The old one keeps signing until")
            shown.append(page.inner_text("#signing-secret"))
            assert "/secret/rotate/" in page.url and "whsec_" not in page.url

        stored = Endpoint.objects.get(pk=endpoint.pk)
        assert stored.signing_secrets() == [shown[1], shown[0], s0]
        assert "2 previous secrets also sign requests" in page.inner_text("#previous-secrets")
        page.goto(f"{live_server.url}{endpoint.get_absolute_url()}")
        assert page.locator("#previous-secrets li").count() == 2
        assert shown[1] not in page.content()
    finally:
        context.close()
