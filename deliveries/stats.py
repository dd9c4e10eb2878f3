"""Delivery figures for the dashboard's endpoint pages: the endpoint list's success rate,
24 h chart and last delivery, an endpoint's recent deliveries."""

from __future__ import annotations

from deliveries import charts
from deliveries.models import Delivery


def endpoint_health(endpoints) -> dict[int, dict]:
    """{endpoint id: {"rate", "chart", "last"}} for every endpoint: two queries for the
    charts (the rolled-up rows, the live hours), one per endpoint for the newest delivery."""
    endpoints = list(endpoints)
    ids = [endpoint.pk for endpoint in endpoints]
    buckets = charts.hourly_by_endpoint(ids)
    # The newest delivery of each endpoint: one index probe per endpoint, its id a constant,
    # so PostgreSQL uses that endpoint's statistics; a correlated subquery walked other
    # subscribers' newer deliveries instead and grew with the table.
    last = {
        pk: Delivery.objects.filter(endpoint_id=pk)
        .order_by("-id")
        .only("created_at", "status", "attempt_count")
        .first()
        for pk in ids
    }
    return {
        pk: {
            "rate": charts.success_rate(buckets[pk]),
            "attempts": sum(bucket.total for bucket in buckets[pk]),
            "chart": charts.bar_chart(
                buckets[pk], width=120, height=24, label="Attempts per hour, last 24 hours"
            ),
            "last_at": last[pk].created_at if last[pk] else None,
            # display_status: "retrying", not "pending", after a failed attempt.
            "last_status": last[pk].display_status if last[pk] else None,
        }
        for pk in ids
    }


def missed_count(endpoint) -> int:
    """How many deliveries the endpoint has kept as skipped while it was paused or disabled
    (what deliveries.actions.send_missed would send): one probe of delivery_skipped_idx."""
    return Delivery.objects.skipped().filter(endpoint=endpoint).count()


def recent_deliveries(endpoint, limit: int = 10) -> list:
    """The endpoint's newest deliveries, for its page."""
    return list(
        Delivery.objects.filter(endpoint=endpoint)
        .select_related("event__event_type")
        .order_by("-id")[:limit]
    )
