"""The SVG bar charts: deliveries.charts.bar_chart() works out the geometry, the template
deliveries/partials/chart.html draws it."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from django.template.loader import render_to_string

from deliveries.charts import HourBucket, bar_chart

START = datetime(2026, 1, 1, tzinfo=UTC)


def buckets(*counts: tuple[int, int]) -> list[HourBucket]:
    return [
        HourBucket(start=START + timedelta(hours=i), succeeded=ok, failed=bad)
        for i, (ok, bad) in enumerate(counts)
    ]


def test_bars_are_stacked_and_scaled_to_the_busiest_hour():
    chart = bar_chart(buckets((3, 1), (0, 0), (1, 1)), width=30, height=41)
    busiest, empty, last = chart.bars
    assert (busiest.x, empty.x, last.x) == (0, 10, 20)
    assert busiest.width == 9
    assert (busiest.ok_height, busiest.bad_height) == (30, 10)  # 4 attempts fill 40 units
    assert (busiest.ok_y, busiest.bad_y) == (11, 1)
    assert (empty.ok_height, empty.bad_height, empty.base_y) == (0, 0, 40)
    assert last.tip == "02:00 UTC: 1 succeeded, 1 failed"


def test_chart_is_a_labelled_image_with_a_text_summary_and_bar_tooltips():
    chart = bar_chart(buckets((3, 1), (0, 2)), width=720, height=160, label="Attempts")
    svg = render_to_string("deliveries/partials/chart.html", {"chart": chart}).strip()
    assert svg.startswith(
        '<svg class="chart" role="img" aria-label="Attempts" viewBox="0 0 720 160" '
        'width="720" height="160" xmlns="http://www.w3.org/2000/svg">'
    )
    assert "<desc>3 attempts succeeded and 3 failed in 2 hours.</desc>" in svg
    assert svg.count("<g><title>") == 2 and "00:00 UTC: 3 succeeded, 1 failed" in svg
    assert '<rect class="bar-ok" x="0.0" y="40.75" width="359.0" height="119.25"/>' in svg


def test_coordinates_are_never_localized(settings):
    settings.USE_THOUSAND_SEPARATOR = True
    settings.LANGUAGE_CODE = "de"
    chart = bar_chart(buckets(*[(1, 0)] * 3), width=4000, height=24)
    svg = render_to_string("deliveries/partials/chart.html", {"chart": chart})
    assert 'viewBox="0 0 4000 24"' in svg and 'x="1333.33"' in svg
