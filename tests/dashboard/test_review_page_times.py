"""The staff review pages and the recover page show moments through `utc_time`: a
<time class="utc"> in UTC that local-time.js adds the viewer's local time to."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from dashboard.templatetags.dashboard import utc_time
from deliveries import heartbeat
from deliveries.models import Delivery, ReplayJob
from subscriptions.models import Endpoint
from tests.factories import DeliveryFactory, EndpointFactory

pytestmark = pytest.mark.django_db


def get(client, name: str, *args, **params) -> str:
    response = client.get(reverse(f"dashboard:{name}", args=args), params)
    assert response.status_code == 200
    return response.content.decode()


def test_overview_times(staff_client):
    now = timezone.now()
    swept = now - timedelta(minutes=5)
    heartbeat.beat("worker-1:4242", now=swept)
    disabled_at = datetime(2026, 1, 2, 3, 4, tzinfo=UTC)
    endpoint = EndpointFactory()
    Endpoint.objects.filter(pk=endpoint.pk).update(
        state=Endpoint.State.DISABLED, disabled_reason="410", disabled_at=disabled_at
    )
    due = DeliveryFactory(next_attempt_at=now - timedelta(minutes=3)).next_attempt_at
    body = get(staff_client, "review-overview")
    assert utc_time(swept, "seconds") in body  # the stale-sweep warning
    assert f"due since {utc_time(due, 'seconds')}." in body
    assert utc_time(disabled_at) in body  # the disabled endpoints table
    assert '<time class="utc" datetime="2026-01-02T03:04:00.000Z">2026-01-02 03:04 UTC' in body


def test_overview_next_later_time(staff_client):
    later = DeliveryFactory(next_attempt_at=timezone.now() + timedelta(hours=1)).next_attempt_at
    assert f"the next is due at {utc_time(later, 'seconds')}." in get(
        staff_client, "review-overview"
    )


def test_failures_list_times(staff_client):
    delivery = DeliveryFactory(status=Delivery.Status.FAILED)
    body = get(staff_client, "review-failures")
    assert f'">{utc_time(delivery.created_at, "seconds")}</a>' in body
    assert "<th>Created</th>" in body and "Created (UTC)" not in body


def test_replay_job_times(staff, staff_client):
    job = ReplayJob.objects.create(
        created_by=staff,
        total=1,
        done=1,
        status=ReplayJob.Status.FINISHED,
        finished_at=timezone.now(),
    )
    body = get(staff_client, "replay-job", job.uid)
    assert f"at {utc_time(job.created_at, 'seconds')}</dd>" in body
    assert f"<dd>{utc_time(job.finished_at, 'seconds')}</dd>" in body


def test_recover_dry_run_time(owner_client, owner):
    endpoint = EndpointFactory(owner=owner)
    since = datetime(2026, 1, 2, 3, 4, tzinfo=UTC)
    body = get(owner_client, "recover", endpoint.uid, since="2026-01-02T03:04")
    assert f"published since {utc_time(since)}." in body
