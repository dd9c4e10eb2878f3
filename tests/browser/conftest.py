"""What every browser test shares: one chromium per test module, and Django's permission to
run ORM calls in the thread where playwright's sync API keeps an asyncio loop (they are
synchronous, so this is safe)."""

from __future__ import annotations

import os

import pytest

os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")

from tests.browser_support import chromium_browser  # noqa: E402


@pytest.fixture(scope="module")
def chromium():
    with chromium_browser() as browser:
        yield browser
