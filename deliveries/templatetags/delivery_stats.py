"""Delivery figures for pages owned by `subscriptions` (which never imports `deliveries`):
the endpoint list's success rate, 24 h chart and last delivery, an endpoint's recent
deliveries."""

from __future__ import annotations

from django import template
from django.db.models import OuterRef, Subquery

from deliveries import charts
from deliveries.models import Delivery

register = template.Library()


@register.simple_tag
def endpoint_health(endpoints) -> dict[int, dict]:
    """{endpoint id: {"rate", "chart", "last"}} for every endpoint, in three queries."""
    endpoints = list(endpoints)
    ids = [endpoint.pk for endpoint in endpoints]
    buckets = charts.hourly_by_endpoint(ids)
    # The newest delivery per endpoint, found through delivery_endpoint_log_idx.
    newest = Delivery.objects.filter(endpoint=OuterRef("pk")).order_by("-id")
    last = (
        {
            row["pk"]: row
            for row in type(endpoints[0])
            .objects.filter(pk__in=ids)
            .annotate(
                last_created=Subquery(newest.values("created_at")[:1]),
                last_status=Subquery(newest.values("status")[:1]),
            )
            .values("pk", "last_created", "last_status")
        }
        if endpoints
        else {}
    )
    return {
        pk: {
            "rate": charts.success_rate(buckets[pk]),
            "attempts": sum(bucket.total for bucket in buckets[pk]),
            "chart": charts.bars_svg(
                buckets[pk], width=120, height=24, label="Attempts per hour, last 24 hours"
            ),
            "last_at": last.get(pk, {}).get("last_created"),
            "last_status": last.get(pk, {}).get("last_status"),
        }
        for pk in ids
    }


@register.filter
def lookup(mapping, key):
    return (mapping or {}).get(key)


@register.simple_tag
def recent_deliveries(endpoint, limit: int = 10) -> list:
    return list(
        Delivery.objects.filter(endpoint=endpoint)
        .select_related("event__event_type")
        .order_by("-id")[:limit]
    )
