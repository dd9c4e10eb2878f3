"""The delivery settings' system checks."""

from __future__ import annotations

from deliveries.checks import sweep_warning_threshold


def test_a_stale_threshold_at_the_sweep_interval_is_a_warning(settings):
    settings.HOOKHUB_SWEEP_INTERVAL = 30
    settings.HOOKHUB_SWEEP_STALE_AFTER = 30
    (warning,) = sweep_warning_threshold()
    assert warning.id == "hookhub.W002"


def test_the_defaults_pass(settings):
    settings.HOOKHUB_SWEEP_INTERVAL = 1.0
    settings.HOOKHUB_SWEEP_STALE_AFTER = 60.0
    assert sweep_warning_threshold() == []
