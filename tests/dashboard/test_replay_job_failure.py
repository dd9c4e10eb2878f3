"""A bulk replay job that crashes ends "failed" with the reason, and its page stops reloading
(issue 13, item 5)."""

from __future__ import annotations

import logging

import pytest
from django.urls import reverse

from deliveries import actions
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
