"""The staff overview warns when no worker has swept lately (a deployment with none running)."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from deliveries import heartbeat

pytestmark = pytest.mark.django_db

OVERVIEW = "dashboard:review-overview"


def overview(client):
    response = client.get(reverse(OVERVIEW))
    assert response.status_code == 200
    # timesince separates number and unit with a no-break space.
    return response, response.content.decode().replace("\xa0", " ")


def test_overview_warns_when_no_worker_has_ever_swept(staff_client):
    response, body = overview(staff_client)
    assert response.context["sweep_stale"] is True
    assert 'role="alert" id="sweep-warning"' in body
    assert "No delivery worker has ever swept" in body
    assert "python manage.py run_worker" in body and "python manage.py qcluster" in body
    assert 'id="last-sweep"' not in body


def test_overview_warns_with_how_long_and_who_when_the_last_sweep_is_stale(staff_client):
    swept_at = timezone.now().replace(microsecond=0) - timedelta(minutes=5)
    heartbeat.beat("worker-1:4242", now=swept_at)
    response, body = overview(staff_client)
    assert response.context["sweep_stale"] is True
    assert 'id="sweep-warning"' in body
    assert "No delivery worker has swept for 5 minutes" in body
    assert f"{swept_at:%Y-%m-%d %H:%M:%S} UTC" in body
    assert "<code>worker-1:4242</code>" in body


def test_overview_reads_the_stale_threshold_at_request_time(staff_client, settings):
    heartbeat.beat("worker-1:4242", now=timezone.now() - timedelta(seconds=30))
    settings.HOOKHUB_SWEEP_STALE_AFTER = 10.0
    assert 'id="sweep-warning"' in overview(staff_client)[1]
    settings.HOOKHUB_SWEEP_STALE_AFTER = 60.0
    assert 'id="sweep-warning"' not in overview(staff_client)[1]


def test_overview_shows_the_last_sweep_quietly_when_a_worker_swept_recently(staff_client, settings):
    heartbeat.beat("worker-1:4242", now=timezone.now() - timedelta(seconds=60))
    heartbeat.beat("worker-2:77", now=timezone.now() - timedelta(seconds=3))
    response, body = overview(staff_client)
    assert response.context["sweep_stale"] is False
    assert 'id="sweep-warning"' not in body and "No delivery worker" not in body
    assert response.context["last_sweep"].worker == "worker-2:77"
    age = response.context["sweep_age_seconds"]
    assert 3 <= age < settings.HOOKHUB_SWEEP_STALE_AFTER  # recent: under the warning's threshold
    assert 'role="status" id="last-sweep"' in body
    assert f"Last sweep: {age} s ago by <code>worker-2:77</code>" in body


def test_a_worker_clock_slightly_ahead_shows_zero_seconds_not_negative(staff_client):
    heartbeat.beat("worker-1:4242", now=timezone.now() + timedelta(seconds=2))
    response, body = overview(staff_client)
    assert response.context["sweep_age_seconds"] == 0
    assert "Last sweep: 0 s ago" in body


def test_only_staff_see_the_overview_and_its_sweep_status(client, owner_client):
    url = reverse(OVERVIEW)
    assert owner_client.get(url).status_code == 403
    client.logout()
    response = client.get(url)
    assert response.status_code == 302 and response.url.startswith(reverse("login"))
