"""The process `manage.py run_worker` runs: a django-q2 cluster plus HookHub's sweeper.

django-q2's scheduler ticks about every 30 s, too coarse for a retry due in 5 s, so the
sweeper runs in this process every HOOKHUB_SWEEP_INTERVAL seconds: it takes back deliveries
stuck in "sending" (a killed worker) and enqueues due ones. Several run_worker processes on
several hosts are fine: every sweep step is a conditional update.
"""

from __future__ import annotations

import logging
import signal
import threading

from django.conf import settings
from django.db import close_old_connections, connections

from deliveries import tasks

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

    def run(self, *, sweep_only: bool = False) -> None:
        from django_q.cluster import Cluster

        self._handle_signals()
        # The cluster forks: no parent database connection may be shared with children.
        connections.close_all()
        if not sweep_only:
            self.cluster = Cluster()
            # Cluster() installs its own handlers; ours stop both the sweeper and the cluster.
            self._handle_signals()
            if not self.stopping.is_set():
                self.cluster.start()
        logger.info("HookHub sweeper running every %ss", settings.HOOKHUB_SWEEP_INTERVAL)
        try:
            while not self.stopping.is_set():
                close_old_connections()
                counts = tasks.sweep()
                if any(counts.values()):
                    logger.info("Sweep: %s", counts)
                self.stopping.wait(float(settings.HOOKHUB_SWEEP_INTERVAL))
        finally:
            if self.cluster is not None and self.cluster.sentinel is not None:
                self.cluster.stop()
            connections.close_all()
            logger.info("HookHub worker stopped")
