"""The process `manage.py run_worker` runs: a django-q2 cluster, stopped cleanly on a signal.

Everything HookHub needs happens inside the cluster's worker processes (each runs a
deliveries.dispatcher, which also sweeps), so `manage.py qcluster` works the same; this
command adds a log line per state and a shutdown that waits for in-flight deliveries.
"""

from __future__ import annotations

import logging
import signal
import time

from django.db import connections
from django_q.cluster import Cluster

logger = logging.getLogger(__name__)

# Seconds to let a sentinel that got the same signal die before stopping it ourselves.
SENTINEL_GRACE = 0.5
# How often the main thread looks at the stop flag; a signal also cuts the sleep short.
STOP_POLL = 0.2


class Worker:
    def __init__(self) -> None:
        # A plain flag, not a threading.Event: a second signal (Ctrl-C, then the shell's
        # SIGTERM) re-entering Event.set() would deadlock on the lock the first one holds.
        self.stopping = False
        self.cluster = None

    def stop(self, signum=None, frame=None) -> None:  # noqa: ARG002 - signal handler
        self.stopping = True

    def _handle_signals(self) -> None:
        signal.signal(signal.SIGTERM, self.stop)
        signal.signal(signal.SIGINT, self.stop)

    def run(self) -> None:

        self._handle_signals()
        # The cluster forks: no parent database connection may be shared with children.
        connections.close_all()
        self.cluster = Cluster()
        # Cluster() installs its own handlers; ours stop the cluster after a clean drain.
        self._handle_signals()
        if not self.stopping:
            self.cluster.start()
            logger.info("HookHub worker running")
        try:
            while not self.stopping:
                time.sleep(STOP_POLL)
        finally:
            sentinel = self.cluster.sentinel
            # When the whole process group was signalled (systemd does that), the sentinel
            # is already dead, and stopping it would wait forever on the event lock it died
            # holding; its worker processes drain and exit by themselves. Otherwise stop
            # the cluster, and each worker drains its dispatcher before it exits.
            if sentinel is not None:
                sentinel.join(SENTINEL_GRACE)
                if sentinel.is_alive():
                    self.cluster.stop()
            logger.info("HookHub worker stopped")
