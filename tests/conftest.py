"""Fixtures every test folder shares: the three users and their clients, a receiver on
127.0.0.1 with an endpoint on it, and the two ways to publish in a test: at once
(`publish_now`, tasks inline) or into the real queue for worker processes (`real_queue`)."""

from __future__ import annotations

import pytest

from tests.factories import EndpointFactory, EventTypeFactory, StaffFactory, UserFactory
from tests.receivers import Receiver


@pytest.fixture
def owner(db):
    return UserFactory(username="owner")


@pytest.fixture
def outsider(db):
    return UserFactory(username="outsider")


@pytest.fixture
def staff(db):
    return StaffFactory(username="staffer")


@pytest.fixture
def owner_client(client, owner):
    client.force_login(owner)
    return client


@pytest.fixture
def staff_client(client, staff):
    client.force_login(staff)
    return client


@pytest.fixture
def receiver():
    """A real HTTP receiver on 127.0.0.1 (see tests/receivers.py), stopped after the test."""
    server = Receiver().start()
    yield server
    server.stop()


@pytest.fixture
def event_type(db):
    return EventTypeFactory(name="order-paid")


@pytest.fixture
def make_endpoint(db, receiver, event_type, owner):
    """An enabled endpoint of `owner` on the test receiver, subscribed to `event_type`."""

    def make(path: str = "/hook", **fields):
        fields.setdefault("owner", owner)
        fields.setdefault("url", receiver.url(path))
        return EndpointFactory(event_types=[event_type], **fields)

    return make


@pytest.fixture
def real_queue(monkeypatch):
    """publish() enqueues into the real broker (Redis, or the ORM one) that worker processes
    read, instead of running the task inline."""
    from django_q.conf import Conf

    monkeypatch.setattr(Conf, "SYNC", False)


@pytest.fixture
def publish_now(django_capture_on_commit_callbacks):
    """publish() enqueues on commit (the outbox); inside a test's transaction that never
    comes, so run the callbacks at once: in sync mode the delivery is made before it returns."""
    from deliveries.publishing import publish

    def run(type_name: str, data, **kwargs):
        with django_capture_on_commit_callbacks(execute=True):
            return publish(type_name, data, **kwargs)

    return run
