"""System checks for delivery settings that contradict each other."""

from __future__ import annotations

from django.conf import settings
from django.core.checks import Warning, register


@register()
def sweep_warning_threshold(app_configs=None, **kwargs) -> list[Warning]:
    """The staff overview warns when no sweep ran for HOOKHUB_SWEEP_STALE_AFTER seconds;
    a threshold not above the sweep interval would warn all the time on a healthy cluster."""
    stale_after = float(settings.HOOKHUB_SWEEP_STALE_AFTER)
    interval = float(settings.HOOKHUB_SWEEP_INTERVAL)
    if stale_after > 2 * interval:
        return []
    return [
        Warning(
            f"HOOKHUB_SWEEP_STALE_AFTER ({stale_after:g} s) is not more than twice "
            f"HOOKHUB_SWEEP_INTERVAL ({interval:g} s): the staff overview would report healthy "
            "workers as silent.",
            hint="Keep HOOKHUB_SWEEP_STALE_AFTER well above the interval (default 60 s).",
            id="hookhub.W002",
        )
    ]
