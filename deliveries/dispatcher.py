"""The in-flight sender each django-q2 worker process runs: many deliveries at once, fairly.

One asyncio loop on a thread of its own, started when the worker process starts
(django-q2's `post_spawn` signal, so `qcluster` and `run_worker` alike), runs three loops:
- claim: whenever slots are free and something may be due (a queued message woke it, a
  delivery finished, or HOOKHUB_POLL_INTERVAL passed), claim due rows in bulk, at most
  HOOKHUB_MAX_IN_FLIGHT in flight in the process and HOOKHUB_ENDPOINT_MAX_IN_FLIGHT per
  endpoint (the claim statement counts what is already in flight), and send each at once;
- record: finished deliveries are written together, HOOKHUB_RECORD_INTERVAL after the first
  of them or as soon as HOOKHUB_RECORD_BATCH wait, never "when the slowest is done"; a write
  the database refuses (it is restarting) is tried again while the claims' leases hold;
- sweep: every HOOKHUB_SWEEP_INTERVAL (deliveries.sweeper).

Database work runs on one thread of its own (Django's connections are per thread), so the
loop never blocks on it. The django-q2 task itself only wakes the loop, and returns.

Shutdown (the worker process exits: SIGTERM to the cluster, or recycling): stop claiming,
let what is in flight finish (each attempt ends by its deadline), record it, hand back rows
still waiting for a rate-limit slot. A SIGKILL loses nothing either: the rows stay
"sending" until their lease lapses and the sweeper makes them due again.
"""

from __future__ import annotations

import asyncio
import copy
import dataclasses
import functools
import logging
import multiprocessing.util
import os
import resource
import signal
import threading
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta

from django.conf import settings
from django.db import close_old_connections, connections
from django.utils import timezone
from django_q.conf import Conf

from deliveries import engine, ratelimit, sweeper, transport
from deliveries.models import Attempt, Delivery

logger = logging.getLogger(__name__)


class Dispatcher:
    def __init__(self) -> None:
        self._db = ThreadPoolExecutor(1, thread_name_prefix="hookhub-db")
        self._thread: threading.Thread | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._started = threading.Event()
        self._stopping = False
        self._in_flight: Counter[int] = Counter()  # endpoint id -> deliveries in flight
        self._tasks: set[asyncio.Task] = set()
        self._finished: list[engine.Finished] = []

    # --- From other threads ----------------------------------------------------------------

    def start(self) -> Dispatcher:
        _allow_many_sockets()
        self._thread = threading.Thread(target=self._run, name="hookhub-dispatcher", daemon=True)
        self._thread.start()
        self._started.wait(10)
        # Runs when the process exits normally (multiprocessing's exit hook: django-q2 stops
        # or recycles a worker by letting it return), so in-flight work is recorded first.
        multiprocessing.util.Finalize(self, self.stop, exitpriority=100)
        return self

    def wake(self) -> None:
        """Something may be due: claim now rather than at the next poll."""
        if self._loop is not None and not self._loop.is_closed():
            self._loop.call_soon_threadsafe(self._attention.set)

    def stop(self, timeout: float | None = None) -> None:
        """Stop claiming, finish and record what is in flight, then end the loop's thread."""
        if self._thread is None or not self._thread.is_alive():
            return
        self._loop.call_soon_threadsafe(self._begin_stop)
        if timeout is None:
            timeout = (
                float(settings.HOOKHUB_DELIVERY_DEADLINE)
                + float(settings.HOOKHUB_RATE_LIMIT_HOLD)
                + float(settings.HOOKHUB_CLAIM_MARGIN)
            )
        self._thread.join(timeout)

    @property
    def in_flight(self) -> int:
        return sum(self._in_flight.values())

    # --- On the loop's thread ----------------------------------------------------------------

    def _run(self) -> None:
        try:
            asyncio.run(self._main())
        except Exception:
            # A worker process without its dispatcher would take messages and send nothing:
            # end it, and django-q2 starts a fresh one (claimed rows return after their lease).
            logger.exception("The delivery dispatcher stopped on an error; restarting the worker")
            os._exit(70)
        finally:
            try:
                self._db.submit(connections.close_all).result(timeout=5)
            except RuntimeError:
                pass  # the interpreter is exiting; its connections go with it
            self._db.shutdown(wait=False)

    def _begin_stop(self) -> None:
        self._stopping = True
        self._attention.set()

    async def _in_db(self, func, *args):
        return await self._loop.run_in_executor(self._db, functools.partial(func, *args))

    async def _main(self) -> None:
        self._loop = asyncio.get_running_loop()
        self._attention = asyncio.Event()  # something may be due, or a slot was freed
        self._results = asyncio.Event()  # something finished and waits to be recorded
        self._client = transport.Client()
        self._slots = ratelimit.slots(self._in_db)
        self._started.set()
        recorder = asyncio.create_task(self._record_loop())
        sweeps = asyncio.create_task(self._sweep_loop())
        try:
            await self._claim_loop()
            # Every attempt ends by its deadline; rate-limit waits end within the hold.
            if self._tasks:
                await asyncio.wait(list(self._tasks))
        finally:
            sweeps.cancel()
            self._results.set()
            await recorder
            await self._client.close()
            await self._slots.close()

    async def _claim_loop(self) -> None:
        self._attention.set()  # look for due deliveries at once
        capacity = max(1, int(settings.HOOKHUB_MAX_IN_FLIGHT))
        batch = max(1, int(settings.HOOKHUB_CLAIM_BATCH))
        while not self._stopping:
            try:
                await asyncio.wait_for(
                    self._attention.wait(), float(settings.HOOKHUB_POLL_INTERVAL)
                )
            except TimeoutError:
                pass
            self._attention.clear()
            if self._in_flight:
                # Busy: let freed slots and wake-ups gather, so one claim serves many of them.
                # Idle: claim at once, since a new event's latency is all that matters.
                await asyncio.sleep(float(settings.HOOKHUB_RECORD_INTERVAL))
            while not self._stopping:
                wanted = min(batch, capacity - self.in_flight)
                if wanted <= 0:
                    break
                try:
                    claimed = await self._in_db(engine.claim_due, wanted, dict(self._in_flight))
                except Exception:
                    logger.exception("Claiming due deliveries failed; trying again shortly")
                    await self._in_db(close_old_connections)
                    await asyncio.sleep(float(settings.HOOKHUB_POLL_INTERVAL))
                    break
                self._launch(claimed)
                if len(claimed) < wanted:
                    break

    def _launch(self, claimed: list[Delivery]) -> None:
        sendable = []
        for delivery in claimed:
            self._in_flight[delivery.endpoint_id] += 1
            if engine.should_send(delivery):
                sendable.append(delivery)
            else:
                self._done(engine.Finished(delivery))
        for request in engine.build_requests(sendable):
            task = asyncio.create_task(self._deliver(request))
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)

    async def _deliver(self, request: engine.OutboundRequest) -> None:
        delivery = request.delivery
        try:
            limit = delivery.endpoint.rate_limit
            if limit and delivery.trigger == Attempt.Trigger.SCHEDULED:
                slot = await self._slots.reserve(delivery.endpoint_id, limit)
                if not slot.reserved:
                    later = timezone.now() + timedelta(seconds=slot.wait)
                    self._done(engine.Finished(delivery, release_until=later))
                    return
                await asyncio.sleep(slot.wait)
            if request.problem:
                result = request.unsent_result()
            else:
                result = await self._client.send(
                    request.method, request.url, request.headers, request.body
                )
            self._done(engine.Finished(delivery, request, result))
        except Exception:
            # Left "sending": the sweeper makes it due again when its lease lapses.
            logger.exception("Sending delivery %s failed inside HookHub", delivery.pk)
            self._free(delivery)

    def _done(self, item: engine.Finished) -> None:
        self._free(item.delivery)
        self._finished.append(item)
        self._results.set()

    def _free(self, delivery: Delivery) -> None:
        counts = self._in_flight
        counts[delivery.endpoint_id] -= 1
        if counts[delivery.endpoint_id] <= 0:
            del counts[delivery.endpoint_id]
        self._attention.set()

    async def _record_loop(self) -> None:
        interval = float(settings.HOOKHUB_RECORD_INTERVAL)
        batch_size = max(1, int(settings.HOOKHUB_RECORD_BATCH))
        while True:
            await self._results.wait()
            if len(self._finished) < batch_size and not self._stopping:
                await asyncio.sleep(interval)  # group what finishes meanwhile
            self._results.clear()
            batch, self._finished = self._finished, []
            if batch:
                await self._record(batch)
            if self._stopping and not self._tasks and not self._finished:
                return

    async def _record(self, batch: list[engine.Finished]) -> None:
        """Write finished deliveries; while the database is unreachable, keep trying (backing
        off) for as long as each delivery's lease holds. Until it lapses no other worker may
        take the delivery, so a late record is still the only one; giving up at once (as
        this did after two immediate tries) turned every delivery finished during a database
        restart into a second send (tests/crash/test_chaos_deliveries.py). A delivery whose
        lease is about to lapse is left "sending": the sweeper makes it due again."""
        pause = RECORD_RETRY_FIRST
        while batch:
            try:
                # engine.record changes the deliveries it records (attempt count, trigger,
                # status): each try gets fresh copies, so a failed one leaves no trace on the
                # next (a retry would otherwise number the attempt twice and lose a test's or
                # replay's trigger).
                await self._in_db(engine.record, [_fresh_copy(item) for item in batch])
                return
            except Exception:
                await self._in_db(close_old_connections)
                # Only rows whose lease outlasts the pause and the next try are tried again.
                horizon = timezone.now() + timedelta(seconds=pause + RECORD_LEASE_MARGIN)
                kept = [item for item in batch if _lease_end(item) > horizon]
                if len(kept) < len(batch):
                    # Still "sending": the sweeper makes them due again after their lease.
                    logger.exception(
                        "Recording %s deliveries failed; they will be sent again",
                        len(batch) - len(kept),
                    )
                elif pause == RECORD_RETRY_FIRST:
                    logger.warning(
                        "Recording %s deliveries failed; trying again", len(batch), exc_info=True
                    )
                batch = kept
                if batch:
                    await asyncio.sleep(pause)
                    pause = min(pause * 2, RECORD_RETRY_MAX)

    async def _sweep_loop(self) -> None:
        while True:
            try:
                await self._in_db(close_old_connections)
                counts = await self._in_db(sweeper.sweep)
                if any(counts.values()):
                    logger.info("Sweep: %s", counts)
            except Exception:
                logger.exception("Sweep failed; the next one will try again")
            await asyncio.sleep(float(settings.HOOKHUB_SWEEP_INTERVAL))


# Recording retries while the database is unreachable: the first pause, the longest, and
# how much of a lease must be left to try again (the sweeper takes a row back once it lapses).
RECORD_RETRY_FIRST = 0.1
RECORD_RETRY_MAX = 1.0
RECORD_LEASE_MARGIN = 1.0


def _fresh_copy(item: engine.Finished) -> engine.Finished:
    """The same finished delivery on a copy of its Delivery (related objects shared)."""
    return dataclasses.replace(item, delivery=copy.copy(item.delivery))


def _lease_end(item: engine.Finished):
    """When this claim's lease lapses (claimed_until as the claim returned it)."""
    return item.delivery.claimed_until or timezone.now()


def _allow_many_sockets() -> None:
    """Hundreds of deliveries in flight are as many sockets: lift the soft descriptor limit
    to the hard one (the default soft limit is often 1,024)."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft != hard:
        resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))


_current: tuple[int, Dispatcher] | None = None
_current_lock = threading.Lock()


def current() -> Dispatcher:
    """This process's dispatcher, started on first use (a forked child starts its own)."""
    global _current
    with _current_lock:
        if _current is None or _current[0] != os.getpid():
            _current = (os.getpid(), Dispatcher().start())
        return _current[1]


def start_in_worker(sender=None, proc_name: str = "", **kwargs) -> None:
    """django-q2's post_spawn receiver: every worker process starts sending at once, so
    retries and rescued deliveries flow even when no message arrives. Not in sync mode,
    where django-q2 runs its worker loop inline in the caller's process."""
    if Conf.SYNC:
        return
    current()
    signal.signal(signal.SIGTERM, _drain_and_exit)


def _drain_and_exit(signum, frame) -> None:  # noqa: ARG001 - signal handler
    """SIGTERM straight to a worker process (systemd signals the whole process group;
    django-q2 leaves SIGTERM at its default there, which would kill it mid-request):
    finish and record what is in flight, then exit."""
    current().stop()
    os._exit(0)
