"""Warn before disabling: an endpoint failing without a break warns its owner at each
HOOKHUB_WARN_AFTER stage (1 and 3 days by default), once per stage per failure streak,
with what failed, since when, the last error and a link; tested with a moving clock."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.core import mail
from django.utils import timezone

from deliveries import failure_warnings, policy, sweeper
from deliveries.models import Attempt, Delivery
from subscriptions.models import AuditEntry, Endpoint
from tests.factories import DeliveryFactory, EndpointFactory

pytestmark = pytest.mark.django_db

DAY = 24 * 3600
START = timezone.now().replace(microsecond=0) - timedelta(days=10)


@pytest.fixture(autouse=True)
def stages(settings):
    settings.HOOKHUB_WARN_AFTER = [DAY, 3 * DAY]
    settings.HOOKHUB_DISABLE_AFTER = 5 * DAY
    settings.HOOKHUB_PUBLIC_URL = "https://hooks.example.org"


@pytest.fixture
def failing(owner):
    endpoint = EndpointFactory(owner=owner, url="https://receiver.example.com/hook")
    Endpoint.objects.filter(pk=endpoint.pk).update(failing_since=START)
    delivery = DeliveryFactory(
        endpoint=endpoint,
        status=Delivery.Status.PENDING,
        attempt_count=3,
        last_response_status=503,
    )
    Attempt.objects.create(
        delivery=delivery,
        number=3,
        started_at=START,
        finished_at=START,
        duration_ms=12,
        request_url=endpoint.url,
        request_body="{}",
        response_status=503,
        error_message="upstream unavailable",
    )
    endpoint.refresh_from_db()
    return endpoint


def at(hours: float):
    return START + timedelta(hours=hours)


def warnings_sent(endpoint) -> int:
    return Endpoint.objects.values_list("failure_warnings_sent", flat=True).get(pk=endpoint.pk)


def test_one_email_per_stage_as_the_clock_moves(failing, owner):
    timeline = [(23, 0), (24, 1), (30, 1), (71.9, 1), (72, 2), (100, 2), (119, 2)]
    for hours, expected_emails in timeline:
        failure_warnings.warn_failing_endpoints(now=at(hours))
        assert len(mail.outbox) == expected_emails, f"at {hours} h"
    first, second = mail.outbox
    assert first.to == [owner.email]
    assert first.subject == "Webhooks to https://receiver.example.com/hook have failed for 24 hours"
    assert f"since {START:%Y-%m-%d %H:%M} UTC (24 hours)" in first.body
    assert "Last error: HTTP 503: upstream unavailable" in first.body
    disable_at = START + timedelta(days=5)
    assert f"If nothing succeeds by {disable_at:%Y-%m-%d %H:%M} UTC" in first.body
    assert f"https://hooks.example.org/endpoints/{failing.uid}/" in first.body
    assert "72 hours" in second.subject
    stages = AuditEntry.objects.filter(action="endpoint.failure_warning").order_by("id")
    assert [entry.details["stage"] for entry in stages] == [1, 2]


def test_a_sweeper_that_missed_both_stages_sends_only_the_latest(failing):
    failure_warnings.warn_failing_endpoints(now=at(80))
    assert len(mail.outbox) == 1 and "80 hours" in mail.outbox[0].subject
    assert warnings_sent(failing) == 2
    failure_warnings.warn_failing_endpoints(now=at(90))
    assert len(mail.outbox) == 1


def test_many_sweepers_at_once_send_each_stage_once(failing):
    for _ in range(5):  # every worker sweeps; the conditional update lets one of them send
        sweeper.sweep()
    assert len(mail.outbox) == 1  # ten days in: the latest stage only
    assert warnings_sent(failing) == 2


def test_a_success_ends_the_streak_and_the_next_streak_warns_again(failing):
    failure_warnings.warn_failing_endpoints(now=at(25))
    assert len(mail.outbox) == 1
    policy.record_endpoint_health({failing.pk}, set(), now=at(26))  # one 2xx
    assert warnings_sent(failing) == 0
    failure_warnings.warn_failing_endpoints(now=at(60))
    assert len(mail.outbox) == 1  # no streak, no warning
    policy.record_endpoint_health(set(), {failing.pk}, now=at(61))  # a new streak begins
    failure_warnings.warn_failing_endpoints(now=at(61 + 24))
    assert len(mail.outbox) == 2


def test_paused_disabled_and_healthy_endpoints_get_no_warning(failing, owner):
    Endpoint.objects.filter(pk=failing.pk).update(state=Endpoint.State.PAUSED)
    EndpointFactory(owner=owner)  # healthy: never failed
    assert failure_warnings.warn_failing_endpoints(now=at(100)) == 0
    assert mail.outbox == []


def test_re_enabling_starts_a_fresh_count(failing):
    failure_warnings.warn_failing_endpoints(now=at(25))
    failing.refresh_from_db()
    failing.pause()
    failing.enable()
    failing.refresh_from_db()
    assert (failing.failing_since, failing.failure_warnings_sent) == (None, 0)


def test_no_stages_means_no_warnings(failing, settings):
    settings.HOOKHUB_WARN_AFTER = []
    assert failure_warnings.warn_failing_endpoints(now=at(100)) == 0
    assert mail.outbox == []
