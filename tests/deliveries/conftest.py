from __future__ import annotations

import pytest

from tests.factories import EndpointFactory, EventTypeFactory


@pytest.fixture
def event_type(db):
    return EventTypeFactory(name="order-paid")


@pytest.fixture
def make_endpoint(db, receiver, event_type, owner):
    """An enabled endpoint on the test receiver, subscribed to `event_type`."""

    def make(path: str = "/hook", **fields):
        fields.setdefault("owner", owner)
        fields.setdefault("url", receiver.url(path))
        return EndpointFactory(event_types=[event_type], **fields)

    return make


@pytest.fixture
def publish_now(django_capture_on_commit_callbacks):
    """publish() and run its on-commit enqueue (the task runs inline in sync mode)."""
    from deliveries.publishing import publish

    def run(type_name: str, data, **kwargs):
        with django_capture_on_commit_callbacks(execute=True):
            return publish(type_name, data, **kwargs)

    return run


@pytest.fixture
def real_queue(monkeypatch):
    """Publish enqueues into the real broker the worker processes read."""
    from django_q.conf import Conf

    monkeypatch.setattr(Conf, "SYNC", False)


@pytest.fixture
def workers():
    """Start real worker processes (`run_worker`, or another command such as "qcluster");
    each is stopped after the test."""
    from tests.deliveries.workers import WorkerProcess

    started: list[WorkerProcess] = []

    def start(command: str = "run_worker", **env) -> WorkerProcess:
        worker = WorkerProcess(command, **env)
        started.append(worker)
        return worker

    yield start
    for worker in started:
        worker.stop()
