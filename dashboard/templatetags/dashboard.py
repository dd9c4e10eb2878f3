"""Formatting for the dashboard's templates: JSON as JSON, times in UTC with a <time>.

Templates only format (the views collect everything), so nothing here queries."""

from __future__ import annotations

import json
from datetime import UTC, datetime

from django import template
from django.utils.html import format_html

register = template.Library()

TIME_FORMATS = {
    "minutes": "%Y-%m-%d %H:%M",
    "seconds": "%Y-%m-%d %H:%M:%S",
    "ms": "%Y-%m-%d %H:%M:%S.%f",
}


@register.filter
def pretty_json(value) -> str:
    """`value` as JSON indented by two spaces: a dict or list from a JSONField, or a string
    that holds JSON (a stored request or response body). Any other string comes back as it
    is: a body that is not JSON, or a response body cut at the size cap."""
    text = value if isinstance(value, str) else None
    if text is not None:
        try:
            value = json.loads(text)
        except (ValueError, RecursionError):
            return text
    try:
        compact = json.dumps(value, ensure_ascii=False, default=str)
        pretty = json.dumps(value, indent=2, ensure_ascii=False, default=str)
    except (ValueError, RecursionError):
        return text if text is not None else str(value)
    # A receiver chooses its response body: a thousand nested arrays would indent into
    # megabytes, so deep nesting stays compact.
    return pretty if len(pretty) <= 8 * len(compact) + 4096 else compact


@register.filter
def utc_time(value, precision: str = "minutes") -> str:
    """A moment as `<time datetime="…">2026-01-02 03:04 UTC</time>`; static/hookhub/
    local-time.js adds the viewer's local time next to it. `precision` is "minutes",
    "seconds" or "ms"."""
    if not isinstance(value, datetime):
        return ""
    moment = value.astimezone(UTC)
    text = moment.strftime(TIME_FORMATS.get(precision, TIME_FORMATS["minutes"]))
    if precision == "ms":
        text = text[:-3]
    machine = moment.isoformat(timespec="milliseconds").replace("+00:00", "Z")
    return format_html('<time class="utc" datetime="{}">{} UTC</time>', machine, text)
