from __future__ import annotations

import pytest


@pytest.fixture
def workers(request):
    """Start real worker processes (`run_worker`, or another command such as "qcluster");
    each is stopped after the test."""
    from tests.deliveries.workers import WorkerProcess

    started: list[WorkerProcess] = []

    def start(command: str = "run_worker", **env) -> WorkerProcess:
        worker = WorkerProcess(command, **env)
        started.append(worker)
        return worker

    yield start
    if "receiver" in request.fixturenames:
        # A stopping worker lets its in-flight deliveries finish: cut the receiver's slow
        # answers short first, or stopping waits for every hanging one's deadline.
        request.getfixturevalue("receiver").stopping.set()
    for worker in started:
        worker.terminate()
    for worker in started:
        worker.stop()
