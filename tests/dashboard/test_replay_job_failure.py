"""A bulk replay job that crashes ends "failed" with the reason, and its page stops reloading
(issue 13, item 5)."""

from __future__ import annotations

import logging
from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from deliveries import actions, sweeper
from deliveries.models import Delivery, ReplayJob
from tests.factories import DeliveryFactory, EndpointFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def three_failed(event_type):
    endpoint = EndpointFactory(event_types=[event_type])
    return [DeliveryFactory(endpoint=endpoint, status=Delivery.Status.FAILED) for _ in range(3)]


def crash_on_second_replay(monkeypatch):
    """deliveries.actions.replay does nothing for the first delivery, then raises."""
    calls = []

    def replay(delivery, *, actor, request=None):
        calls.append(delivery.pk)
        if len(calls) > 1:
            raise RuntimeError("database went away\nsecond line of detail")
        return delivery

    monkeypatch.setattr(actions, "replay", replay)
    return calls


def test_a_crashing_replay_ends_the_job_failed_with_a_short_error(
    monkeypatch, three_failed, staff, caplog
):
    calls = crash_on_second_replay(monkeypatch)
    with caplog.at_level(logging.ERROR, logger="deliveries.actions"):
        job = actions.start_bulk_replay(Delivery.objects.all(), actor=staff, filters={})
    job.refresh_from_db()
    assert job.status == ReplayJob.Status.FAILED
    assert (job.total, job.done, job.skipped) == (3, 1, 0)
    assert job.error == "Stopped after 1 of 3 deliveries: RuntimeError: database went away"
    assert job.finished_at is not None
    assert len(calls) == 2  # nothing after the crash was replayed
    (record,) = [r for r in caplog.records if r.name == "deliveries.actions"]
    assert record.exc_info and "Replay job" in record.getMessage()


def test_the_failed_job_page_shows_the_error_and_does_not_reload(
    monkeypatch, three_failed, staff, staff_client
):
    crash_on_second_replay(monkeypatch)
    job = actions.start_bulk_replay(Delivery.objects.all(), actor=staff, filters={})
    response = staff_client.get(reverse("dashboard:replay-job", args=[job.uid]))
    body = response.content.decode()
    assert response.status_code == 200
    assert "RuntimeError: database went away" in body and "second line" not in body
    assert 'id="job-status">Failed' in body and "Stopped" in body
    assert 'http-equiv="refresh"' not in body and "hookhub-refresh" not in body
    assert "reloads every" not in body


def test_a_finished_job_page_does_not_reload_either(staff, staff_client):
    job = ReplayJob.objects.create(
        created_by=staff, total=2, done=2, status=ReplayJob.Status.FINISHED
    )
    body = staff_client.get(reverse("dashboard:replay-job", args=[job.uid])).content.decode()
    assert 'http-equiv="refresh"' not in body and "hookhub-refresh" not in body


def test_a_very_long_error_is_cut_to_the_column(monkeypatch, three_failed, staff):
    def replay(delivery, *, actor, request=None):
        raise ValueError("x" * 2000)

    monkeypatch.setattr(actions, "replay", replay)
    job = actions.start_bulk_replay(Delivery.objects.all(), actor=staff, filters={})
    job.refresh_from_db()
    limit = ReplayJob._meta.get_field("error").max_length
    assert job.status == ReplayJob.Status.FAILED
    assert len(job.error) == limit and job.error.endswith("…")


# A job whose worker was killed (SIGKILL, django-q2's timeout) never reaches its `except`:
# the sweeper fails it once it has made no progress for HOOKHUB_REPLAY_STALLED_AFTER.
def stale(minutes: float):
    return timezone.now() - timedelta(minutes=minutes)


def test_the_sweeper_fails_a_running_job_that_stopped_making_progress(staff, settings):
    settings.HOOKHUB_REPLAY_STALLED_AFTER = 300
    dead = ReplayJob.objects.create(
        created_by=staff,
        total=120,
        done=50,
        status=ReplayJob.Status.RUNNING,
        progressed_at=stale(6),
    )
    busy = ReplayJob.objects.create(
        created_by=staff,
        total=120,
        done=50,
        status=ReplayJob.Status.RUNNING,
        progressed_at=stale(1),
    )
    assert sweeper.sweep()["replays_failed"] == 1
    dead.refresh_from_db(), busy.refresh_from_db()
    assert dead.status == ReplayJob.Status.FAILED and dead.finished_at is not None
    assert dead.done == 50  # how far it got stays visible
    assert dead.error.startswith("The worker running this job stopped: no progress for 5 minutes")
    assert busy.status == ReplayJob.Status.RUNNING and busy.error == ""


def test_a_job_still_queued_long_after_it_was_created_is_failed_too(staff, settings):
    settings.HOOKHUB_REPLAY_STALLED_AFTER = 300
    lost, fresh = (
        ReplayJob.objects.create(created_by=staff, total=3, status=ReplayJob.Status.QUEUED)
        for _ in range(2)
    )
    ReplayJob.objects.filter(pk=lost.pk).update(created_at=stale(10))
    finished = ReplayJob.objects.create(
        created_by=staff,
        total=3,
        done=3,
        status=ReplayJob.Status.FINISHED,
        progressed_at=stale(60),
    )
    assert sweeper.fail_stalled_replays() == 1
    statuses = dict(ReplayJob.objects.values_list("pk", "status"))
    assert statuses == {
        lost.pk: ReplayJob.Status.FAILED,
        fresh.pk: ReplayJob.Status.QUEUED,
        finished.pk: ReplayJob.Status.FINISHED,
    }


def test_a_running_job_stamps_its_progress_so_a_live_one_is_never_failed(
    monkeypatch, event_type, staff
):
    endpoint = EndpointFactory(event_types=[event_type])
    for _ in range(60):
        DeliveryFactory(endpoint=endpoint, status=Delivery.Status.FAILED)
    stamps = []

    def replay(delivery, *, actor, request=None):
        stamps.append(ReplayJob.objects.values_list("progressed_at", flat=True).get())
        return delivery

    monkeypatch.setattr(actions, "replay", replay)
    started = timezone.now()
    job = actions.start_bulk_replay(Delivery.objects.all(), actor=staff, filters={})
    job.refresh_from_db()
    assert stamps[0] is not None and stamps[0] >= started  # stamped when it started
    assert stamps[-1] > stamps[0]  # and again at the progress update after 50
    assert job.status == ReplayJob.Status.FINISHED


def test_the_page_of_a_job_failed_by_the_sweeper_says_why_and_stops_reloading(
    staff, staff_client, settings
):
    settings.HOOKHUB_REPLAY_STALLED_AFTER = 300
    job = ReplayJob.objects.create(
        created_by=staff,
        total=9,
        done=4,
        status=ReplayJob.Status.RUNNING,
        progressed_at=stale(30),
    )
    sweeper.sweep()
    body = staff_client.get(reverse("dashboard:replay-job", args=[job.uid])).content.decode()
    assert 'id="job-status">Failed' in body and "The worker running this job stopped" in body
    assert 'http-equiv="refresh"' not in body and "hookhub-refresh" not in body
