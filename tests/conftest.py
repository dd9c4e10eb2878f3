from __future__ import annotations

import pytest

from tests.factories import StaffFactory, UserFactory
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
def receiver():
    """A real HTTP receiver on 127.0.0.1 (see tests/receivers.py), stopped after the test."""
    server = Receiver().start()
    yield server
    server.stop()
