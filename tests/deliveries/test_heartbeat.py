"""Sweep heartbeats (deliveries.heartbeat): one row per worker process, staleness, pruning."""

from __future__ import annotations

import os
import socket
from datetime import timedelta

import pytest
from django.db.models import QuerySet
from django.utils import timezone

from deliveries import heartbeat, retention
from deliveries.models import SweepHeartbeat

pytestmark = pytest.mark.django_db


@pytest.fixture
def t0():
    return timezone.now().replace(microsecond=0)


def test_beat_defaults_to_this_process_host_and_pid(t0):
    heartbeat.beat(now=t0)
    row = SweepHeartbeat.objects.get()
    assert row.worker == f"{socket.gethostname()}:{os.getpid()}"
    assert row.swept_at == t0


def test_beat_again_updates_the_one_row_of_that_worker(t0):
    heartbeat.beat("host-a:10", now=t0)
    heartbeat.beat("host-a:10", now=t0 + timedelta(seconds=1))
    row = SweepHeartbeat.objects.get()
    assert row.swept_at == t0 + timedelta(seconds=1)


def test_two_workers_keep_two_rows_and_the_newest_is_the_last_sweep(t0):
    heartbeat.beat("host-a:10", now=t0)
    heartbeat.beat("host-b:10", now=t0 + timedelta(seconds=5))
    heartbeat.beat("host-a:10", now=t0 + timedelta(seconds=2))
    assert dict(SweepHeartbeat.objects.values_list("worker", "swept_at")) == {
        "host-a:10": t0 + timedelta(seconds=2),
        "host-b:10": t0 + timedelta(seconds=5),
    }
    assert heartbeat.newest().worker == "host-b:10"
    assert heartbeat.last_sweep_at() == t0 + timedelta(seconds=5)


def test_a_beat_that_loses_the_insert_race_is_fine_and_leaves_the_transaction_usable(
    t0, monkeypatch
):
    """Another beat under the same name inserts between this beat's UPDATE (0 rows) and its
    INSERT: the INSERT's IntegrityError is swallowed inside a savepoint, so on PostgreSQL
    the surrounding transaction (here the test's) is not aborted."""
    real_update = QuerySet.update
    raced = []

    def update_then_lose_the_race(self, **kwargs):
        if self.model is SweepHeartbeat and not raced:
            raced.append(True)
            SweepHeartbeat.objects.create(worker="host-a:10", swept_at=t0)
            return 0  # what our UPDATE saw, before the rival's row existed
        return real_update(self, **kwargs)

    monkeypatch.setattr(QuerySet, "update", update_then_lose_the_race)
    heartbeat.beat("host-a:10", now=t0 + timedelta(seconds=1))
    assert raced
    assert SweepHeartbeat.objects.filter(worker="host-a:10").count() == 1
    heartbeat.beat("host-a:10", now=t0 + timedelta(seconds=2))
    assert heartbeat.last_sweep_at() == t0 + timedelta(seconds=2)


def test_no_heartbeat_at_all_is_stale():
    assert heartbeat.last_sweep_at() is None
    assert heartbeat.sweep_is_stale()


def test_a_sweep_goes_stale_once_older_than_the_setting(t0, settings):
    settings.HOOKHUB_SWEEP_STALE_AFTER = 60.0
    heartbeat.beat("host-a:10", now=t0)
    assert not heartbeat.sweep_is_stale(now=t0)
    assert not heartbeat.sweep_is_stale(now=t0 + timedelta(seconds=60))
    assert heartbeat.sweep_is_stale(now=t0 + timedelta(seconds=61))
    # The setting is read at call time.
    settings.HOOKHUB_SWEEP_STALE_AFTER = 120.0
    assert not heartbeat.sweep_is_stale(now=t0 + timedelta(seconds=61))


def test_any_one_worker_sweeping_keeps_the_sweep_fresh(t0, settings):
    settings.HOOKHUB_SWEEP_STALE_AFTER = 60.0
    heartbeat.beat("host-a:10", now=t0)
    heartbeat.beat("host-b:10", now=t0 + timedelta(seconds=100))
    assert not heartbeat.sweep_is_stale(now=t0 + timedelta(seconds=120))
    assert heartbeat.sweep_is_stale(now=t0 + timedelta(seconds=161))


def test_prune_deletes_workers_silent_for_more_than_a_day(t0):
    heartbeat.beat("host-a:1", now=t0 - timedelta(days=3))
    heartbeat.beat("host-a:2", now=t0 - timedelta(days=1, seconds=1))
    heartbeat.beat("host-a:3", now=t0 - timedelta(hours=23))
    heartbeat.beat("host-a:4", now=t0)
    assert heartbeat.prune(now=t0) == 2
    assert sorted(SweepHeartbeat.objects.values_list("worker", flat=True)) == [
        "host-a:3",
        "host-a:4",
    ]
    assert heartbeat.prune(now=t0) == 0


def test_the_daily_retention_prune_also_prunes_heartbeats():
    now = timezone.now()
    heartbeat.beat("gone:1", now=now - timedelta(days=2))
    heartbeat.beat("alive:1", now=now)
    retention.prune()
    assert list(SweepHeartbeat.objects.values_list("worker", flat=True)) == ["alive:1"]


def test_a_dry_run_retention_prune_keeps_old_heartbeats():
    heartbeat.beat("gone:1", now=timezone.now() - timedelta(days=2))
    retention.prune(dry_run=True)
    assert SweepHeartbeat.objects.filter(worker="gone:1").exists()
