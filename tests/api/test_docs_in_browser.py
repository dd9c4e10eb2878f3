"""Redoc and Swagger UI in a real browser (Debian's chromium through playwright): they
render the webhooks, make no request off this machine and trip no CSP violation."""

from __future__ import annotations

import os
from urllib.parse import urlsplit

import pytest

# playwright's sync API runs an asyncio loop in this thread; the ORM calls are synchronous.
os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")

from tests.browser_support import LOOPBACK, chromium_browser, needs_chromium  # noqa: E402
from tests.factories import EventTypeFactory  # noqa: E402

pytestmark = [
    pytest.mark.browser,
    pytest.mark.django_db(transaction=True),
    needs_chromium,
]


@pytest.fixture
def page():
    with chromium_browser() as browser:
        tab = browser.new_page()
        tab.set_default_timeout(20_000)
        hosts: list[str] = []
        problems: list[str] = []
        tab.on(
            "request",
            lambda request: (
                hosts.append(urlsplit(request.url).hostname)
                if urlsplit(request.url).scheme in ("http", "https", "ws", "wss")
                else None
            ),
        )
        tab.on(
            "console",
            lambda message: (
                problems.append(message.text) if "Content Security Policy" in message.text else None
            ),
        )
        yield tab
        outside = {host for host in hosts if host not in LOOPBACK}
        assert hosts and not outside, f"the browser contacted non-loopback hosts: {outside}"
        assert not problems, problems


def test_redoc_shows_code_and_database_webhooks(live_server, page):
    EventTypeFactory(name="refund-issued", description="A refund was issued.")
    page.goto(f"{live_server.url}/api/redoc/")
    page.get_by_text("new-subscription", exact=False).first.wait_for()
    page.get_by_text("refund-issued", exact=False).first.wait_for()
    # Each webhook documents the Standard Webhooks headers its receiver must verify.
    page.get_by_text("webhook-signature", exact=False).first.wait_for()


def test_swagger_ui_renders_the_api(live_server, page):
    page.goto(f"{live_server.url}/api/docs/")
    page.get_by_text("/api/v1/endpoints/", exact=False).first.wait_for()
