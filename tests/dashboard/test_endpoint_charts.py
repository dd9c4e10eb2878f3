"""The endpoint page's success-rate and response-time charts (deliveries.activity): 24
hourly and 7 daily buckets, axes and labels, every value readable without hovering, a text
equivalent, and test events left out of the figures (deliveries.rollups.tally)."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

import pytest
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone

from deliveries import activity, charts, rollups
from deliveries.models import HourlyAttempts
from tests.factories import AttemptFactory, DeliveryFactory, EndpointFactory

pytestmark = pytest.mark.django_db

NOW = datetime(2026, 11, 28, 12, 30, tzinfo=UTC)  # a Saturday; the current hour is 12:00


def attempt(endpoint, at, *, status=200, ms=100, trigger="scheduled"):
    return AttemptFactory(
        delivery=DeliveryFactory(endpoint=endpoint),
        started_at=at,
        response_status=status,
        duration_ms=ms,
        trigger=trigger,
    )


def test_windows_are_24_hours_and_7_utc_days_ending_now():
    day, week = activity.endpoint_activity(EndpointFactory().pk, now=NOW)
    assert [b.start for b in day.buckets][-1] == datetime(2026, 11, 28, 12, tzinfo=UTC)
    assert len(day.buckets) == 24 and day.buckets[0].start.hour == 13
    assert [b.start.day for b in week.buckets] == [22, 23, 24, 25, 26, 27, 28]
    assert week.rows[-1]["label"] == "Sat 2026-11-28" and day.rows[-1]["label"].endswith("12:00")


def test_each_bucket_counts_its_attempts_and_answered_durations():
    endpoint = EndpointFactory()
    for ms in (100, 200, 300, 400):
        attempt(endpoint, NOW - timedelta(minutes=10), ms=ms)
    attempt(endpoint, NOW - timedelta(minutes=5), status=500, ms=900)
    attempt(endpoint, NOW - timedelta(minutes=5), status=None, ms=30_000)  # a timeout
    attempt(endpoint, NOW - timedelta(days=3), ms=50)
    attempt(EndpointFactory(), NOW, ms=5)  # someone else's

    day, week = activity.endpoint_activity(endpoint.pk, now=NOW)
    current = day.buckets[-1]
    assert (current.succeeded, current.failed) == (4, 2)
    assert sorted(current.durations) == [100, 200, 300, 400, 900]  # no answer, no duration
    assert (current.median, current.p95) == (300, 900)  # nearest rank
    assert day.rows[-1] == {
        "label": "2026-11-28 12:00",
        "total": 6,
        "succeeded": 4,
        "rate": "66.6%",  # rounded down
        "median": "300 ms",
        "p95": "900 ms",
    }
    three_days_ago = week.buckets[3]
    assert three_days_ago.start.day == 25 and three_days_ago.durations == [50]
    assert week.total == 7 and week.rate_text == "71.4%"


def test_test_events_count_neither_in_the_rate_nor_in_the_response_time():
    endpoint = EndpointFactory()
    attempt(endpoint, NOW - timedelta(minutes=1), ms=100)
    attempt(endpoint, NOW - timedelta(minutes=1), status=500, ms=9000, trigger="test")
    attempt(endpoint, NOW - timedelta(hours=2), status=None, trigger="test")
    attempt(endpoint, NOW - timedelta(hours=2), trigger="replay", ms=120)

    day, _ = activity.endpoint_activity(endpoint.pk, now=NOW)
    assert day.total == 2 and day.rate_text == "100%"
    assert day.p95_text == "120 ms"
    live = charts.hourly_by_endpoint([endpoint.pk], now=NOW)[endpoint.pk]
    assert charts.success_rate(live) == 1.0


def test_rolled_up_hours_leave_test_events_out_too():
    endpoint = EndpointFactory()
    hour = datetime(2026, 11, 28, 10, tzinfo=UTC)
    attempt(endpoint, hour + timedelta(minutes=5))
    attempt(endpoint, hour + timedelta(minutes=6), status=500, trigger="test")
    rollups.roll_up(now=NOW)
    row = HourlyAttempts.objects.get(endpoint=endpoint, hour=hour)
    total = HourlyAttempts.objects.get(endpoint=None, hour=hour)
    assert (row.succeeded, row.failed) == (1, 0) and (total.succeeded, total.failed) == (1, 0)
    day, _ = activity.endpoint_activity(endpoint.pk, now=NOW)
    assert day.total == 1 and day.buckets[-3].durations == [100]  # durations stay live


def test_the_figures_cost_three_queries_whatever_the_traffic(django_assert_num_queries):
    endpoint = EndpointFactory()
    for minutes in range(0, 7 * 24 * 60, 97):
        attempt(endpoint, NOW - timedelta(minutes=minutes), ms=minutes % 700)
    # The rolled-up rows, the hours not rolled up, the answered durations.
    with django_assert_num_queries(3):
        activity.endpoint_activity(endpoint.pk, now=NOW)


def test_rate_bars_have_axes_labels_and_a_value_above_each():
    endpoint = EndpointFactory()
    attempt(endpoint, NOW - timedelta(minutes=1))
    attempt(endpoint, NOW - timedelta(minutes=1), status=503)
    day, week = activity.endpoint_activity(endpoint.pk, now=NOW)
    chart = day.rate_chart
    assert [tick.text for tick in chart.ticks] == ["0%", "50%", "100%"]
    last = chart.bars[-1]
    assert last.value == "50" and last.axis_label == "12:00"  # the axis says %
    failed, succeeded = last.segments
    assert (failed.css, succeeded.css) == ("bar-bad", "bar-ok")
    assert failed.height == succeeded.height == (chart.base - chart.top) / 2
    assert chart.bars[0].value == "–" and chart.bars[0].segments == []
    labelled = [bar.axis_label for bar in chart.bars if bar.axis_label]
    assert labelled == ["15:00", "18:00", "21:00", "00:00", "03:00", "06:00", "09:00", "12:00"]
    assert [bar.axis_label for bar in week.rate_chart.bars][-1] == "Sat 28"
    assert week.rate_chart.bars[-1].value == "50%"


def test_hour_labels_count_back_from_the_current_hour():
    chart = activity.endpoint_activity(EndpointFactory().pk, now=NOW + timedelta(hours=1))[0]
    labelled = [bar.axis_label for bar in chart.rate_chart.bars if bar.axis_label]
    assert labelled[-2:] == ["10:00", "13:00"]  # never two labels side by side


def test_latency_bars_scale_to_a_round_axis_and_label_the_p95():
    endpoint = EndpointFactory()
    for ms in (100, 120, 1300):
        attempt(endpoint, NOW - timedelta(minutes=1), ms=ms)
    chart = activity.endpoint_activity(endpoint.pk, now=NOW)[0].latency_chart
    assert [tick.text for tick in chart.ticks] == ["0 ms", "1.0 s", "2.0 s"]
    last = chart.bars[-1]
    assert last.value == "1.3s"
    p95, median = last.segments
    assert (p95.css, median.css) == ("bar-p95", "bar-p50")
    assert p95.height == round(1300 / 2000 * (chart.base - chart.top), 2)
    assert "median 120 ms, p95 1.3 s" in last.tip


def test_chart_template_draws_axes_values_and_a_description():
    endpoint = EndpointFactory()
    attempt(endpoint, NOW - timedelta(minutes=1))
    chart = activity.endpoint_activity(endpoint.pk, now=NOW)[0].rate_chart
    svg = render_to_string("deliveries/partials/activity_chart.html", {"chart": chart})
    assert 'role="img" aria-label="Success rate per hour (%)"' in svg
    assert "<desc>100% of 1 attempts succeeded over 24 hours; lowest hour: 100%.</desc>" in svg
    assert svg.count('class="tick"') == 3 and svg.count('class="axis"') == 2
    assert svg.count('class="axis-label"') == 8
    assert '<text class="value"' in svg and ">100</text>" in svg
    assert "2026-11-28 12:00 UTC: 100% of 1 attempts succeeded" in svg
    assert "style=" not in svg  # the CSP allows no inline styles


def test_endpoint_page_shows_both_windows_with_summaries_and_hidden_tables(owner_client, owner):
    endpoint = EndpointFactory(owner=owner)
    now = timezone.now()
    attempt(endpoint, now - timedelta(minutes=1), ms=80)
    attempt(endpoint, now - timedelta(minutes=1), status=500, ms=400)
    attempt(endpoint, now - timedelta(minutes=1), ms=9000, trigger="test")
    response = owner_client.get(reverse("dashboard:endpoint-detail", args=[endpoint.uid]))
    body = response.content.decode()
    assert response.status_code == 200
    assert "Success rate and response time" in body
    assert "Last 24 hours, per hour (UTC)" in body and "Last 7 days, per day (UTC)" in body
    assert body.count('class="chart axis-chart"') == 4
    summary = re.search(r'id="activity-day">.*?<p class="activity-summary">(.*?)</p>', body, re.S)
    assert summary and re.sub(r"<[^>]+>", "", summary.group(1)) == (
        "50% of 2 attempts succeeded · median 80 ms · 95th percentile 400 ms"
    )
    tables = re.findall(r'<table class="visually-hidden">(.*?)</table>', body, re.S)
    assert len(tables) == 2
    assert tables[0].count('<th scope="row">') == 24 and tables[1].count('<th scope="row">') == 7
    assert "<td>2</td><td>1</td><td>50%</td><td>80 ms</td><td>400 ms</td>" in tables[0]


def test_an_endpoint_without_attempts_says_so(owner_client, owner):
    endpoint = EndpointFactory(owner=owner)
    body = owner_client.get(endpoint.get_absolute_url()).content.decode()
    assert body.count("No attempts in this period.") == 2
    assert "<desc>No attempts in 24 hours.</desc>" in body


@pytest.mark.parametrize(
    ("rate", "decimals", "text"),
    [(1.0, 1, "100%"), (0.9999, 1, "99.9%"), (0.5, 1, "50%"), (0.0, 0, "0%"), (None, 1, "–")],
)
def test_percent_text_rounds_down(rate, decimals, text):
    assert activity.percent_text(rate, decimals) == text


def test_small_helpers():
    assert activity.percentile([5, 1, 3], 0.5) == 3 and activity.percentile([], 0.5) is None
    assert activity.percentile(list(range(1, 101)), 0.95) == 95
    assert [activity.ms_text(ms) for ms in (0, 999, 1234, 25_000, None)] == [
        "0 ms",
        "999 ms",
        "1.2 s",
        "25 s",
        "–",
    ]
    assert [activity.nice_ceiling(v) for v in (0, 1, 7, 130, 450, 1300, 6000)] == [
        1,
        1,
        10,
        200,
        500,
        2000,
        10_000,
    ]
