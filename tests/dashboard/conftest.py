from __future__ import annotations

import pytest

from deliveries.publishing import publish


@pytest.fixture
def publish_now(django_capture_on_commit_callbacks):
    """publish() enqueues on commit (the outbox); inside a test's transaction that never
    comes, so run the callbacks at once: in sync mode the delivery is made before it returns."""

    def run(*args, **kwargs):
        with django_capture_on_commit_callbacks(execute=True):
            return publish(*args, **kwargs)

    return run


@pytest.fixture
def staff_client(client, staff):
    client.force_login(staff)
    return client
