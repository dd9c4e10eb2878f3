"""The process `manage.py run_worker` runs: a django-q2 cluster, stopped cleanly on a signal.

Everything HookHub needs happens inside the cluster's worker processes (each runs a
deliveries.dispatcher, which also sweeps), so `manage.py qcluster` works the same; this
command adds a log line per state and a shutdown that waits for in-flight deliveries.
"""

from __future__ import annotations

import logging
import signal
import threading

from django.db import connections

logger = logging.getLogger(__name__)


class Worker:
    def __init__(self) -> None:
        self.stopping = threading.Event()
        self.cluster = None

    def stop(self, signum=None, frame=None) -> None:  # noqa: ARG002 - signal handler
        self.stopping.set()

    def _handle_signals(self) -> None:
        signal.signal(signal.SIGTERM, self.stop)
        signal.signal(signal.SIGINT, self.stop)

    def run(self) -> None:
        from django_q.cluster import Cluster

        self._handle_signals()
        # The cluster forks: no parent database connection may be shared with children.
        connections.close_all()
        self.cluster = Cluster()
        # Cluster() installs its own handlers; ours stop the cluster after a clean drain.
        self._handle_signals()
        if not self.stopping.is_set():
            self.cluster.start()
            logger.info("HookHub worker running")
        try:
            self.stopping.wait()
        finally:
            if self.cluster.sentinel is not None:
                # Each worker process drains its dispatcher before it exits.
                self.cluster.stop()
            logger.info("HookHub worker stopped")
