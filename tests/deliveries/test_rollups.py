"""Hourly chart counts (deliveries.rollups): a finished hour is rolled up once, after its
delay, per endpoint with totals; the charts read the same numbers before and after, and
count live only what is not rolled up."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from django.conf import settings as django_settings
from django.utils import timezone

from deliveries import charts, retention, rollups, sweeper
from deliveries.models import Attempt, Delivery, HourlyAttempts
from tests.factories import AttemptFactory, DeliveryFactory, EndpointFactory, EventFactory

NOW = datetime(2026, 11, 28, 12, 30, tzinfo=UTC)  # the charts' current hour is 12:00
DELAY = timedelta(seconds=django_settings.HOOKHUB_ROLLUP_DELAY)


def attempt(endpoint, at: datetime, status: int | None = 200) -> Attempt:
    return AttemptFactory(
        delivery=DeliveryFactory(endpoint=endpoint, event=EventFactory(), status="succeeded"),
        started_at=at,
        response_status=status,
    )


@pytest.fixture
def traffic(db):
    """Two endpoints' attempts: 10:xx and 11:xx are over, 12:xx is the current hour."""
    first, second = EndpointFactory(), EndpointFactory()
    for minute in (5, 40):
        attempt(first, datetime(2026, 11, 28, 10, minute, tzinfo=UTC))
    attempt(first, datetime(2026, 11, 28, 10, 50, tzinfo=UTC), status=500)
    attempt(second, datetime(2026, 11, 28, 10, 59, 59, tzinfo=UTC), status=None)  # a timeout
    attempt(first, datetime(2026, 11, 28, 11, 1, tzinfo=UTC))
    attempt(second, datetime(2026, 11, 28, 12, 10, tzinfo=UTC))
    return first, second


def counts(rows) -> dict:
    """{(endpoint id, hour of day): (succeeded, failed)} of the rows that counted something."""
    return {
        (r.endpoint_id, r.hour.hour): (r.succeeded, r.failed)
        for r in rows
        if r.succeeded + r.failed
    }


def test_a_finished_hour_is_rolled_up_once_per_endpoint_with_its_totals(traffic):
    first, second = traffic
    # Every finished hour of the last 24 (yesterday 12:00 to today 11:00); 12:00 is not over.
    assert rollups.roll_up(now=NOW) == 24
    assert counts(HourlyAttempts.objects.all()) == {
        (first.pk, 10): (2, 1),
        (second.pk, 10): (0, 1),
        (None, 10): (2, 2),
        (first.pk, 11): (1, 0),
        (None, 11): (1, 0),
    }
    # A quiet hour has its totals row (0, 0): it is rolled up, and never counted live again.
    assert HourlyAttempts.objects.filter(endpoint=None).count() == 24
    assert rollups.roll_up(now=NOW) == 0
    assert HourlyAttempts.objects.count() == 24 + 3


def test_an_hour_waits_for_its_late_records_before_it_is_rolled_up(traffic):
    eleven = datetime(2026, 11, 28, 11, tzinfo=UTC)
    just_before = datetime(2026, 11, 28, 12, tzinfo=UTC) + DELAY - timedelta(seconds=1)
    rollups.roll_up(now=just_before)
    rolled = rollups.rolled_up_hours(NOW - timedelta(days=1))
    assert datetime(2026, 11, 28, 10, tzinfo=UTC) in rolled and eleven not in rolled
    rollups.roll_up(now=just_before + timedelta(seconds=2))
    assert eleven in rollups.rolled_up_hours(NOW - timedelta(days=1))


def test_two_hosts_rolling_up_the_same_hour_store_it_once(traffic):
    hour = datetime(2026, 11, 28, 10, tzinfo=UTC)
    assert rollups._roll_up_hour(hour) is True
    assert rollups._roll_up_hour(hour) is False
    assert HourlyAttempts.objects.filter(hour=hour).count() == 3


def test_charts_show_the_same_counts_from_rollups_as_from_the_attempts(traffic):
    first, second = traffic
    live = charts.hourly_by_endpoint([first.pk, second.pk], now=NOW)
    everyone = charts.hourly(now=NOW)
    rollups.roll_up(now=NOW)
    # The rolled-up hours' attempts are no longer read: remove them to prove it.
    Attempt.objects.filter(started_at__lt=datetime(2026, 11, 28, 12, tzinfo=UTC)).delete()
    assert charts.hourly_by_endpoint([first.pk, second.pk], now=NOW) == live
    assert charts.hourly(now=NOW) == everyone
    assert [(b.succeeded, b.failed) for b in everyone[-3:]] == [(2, 2), (1, 0), (1, 0)]
    assert charts.success_rate(live[first.pk]) == 3 / 4


def test_an_hour_missing_between_rolled_up_ones_is_counted_live_once(traffic):
    first, second = traffic
    before = charts.hourly_by_endpoint([first.pk, second.pk], now=NOW)
    rollups.roll_up(now=NOW)
    HourlyAttempts.objects.filter(hour=datetime(2026, 11, 28, 10, tzinfo=UTC)).delete()
    assert charts.hourly_by_endpoint([first.pk, second.pk], now=NOW) == before


def test_the_sweeper_rolls_up_finished_hours_and_prune_removes_old_ones(traffic, settings):
    settings.HOOKHUB_ROLLUP_DELAY = 0
    rollups._next_roll_up = 0.0
    two_hours_ago = rollups.hour_start(timezone.now()) - timedelta(hours=2)
    Attempt.objects.update(started_at=two_hours_ago)
    old = datetime(2026, 1, 1, tzinfo=UTC)
    HourlyAttempts.objects.create(endpoint=None, hour=old, succeeded=1)
    counted = sweeper.sweep()
    assert counted["hours_rolled_up"] == 24  # every finished hour of the last 24
    assert HourlyAttempts.objects.get(endpoint=None, hour=two_hours_ago).failed == 2
    assert sweeper.sweep()["hours_rolled_up"] == 0  # not again within the interval
    retention.prune(days=30)
    assert not HourlyAttempts.objects.filter(hour=old).exists()
    assert Delivery.objects.exists()  # nothing else was touched by the charts' pruning
