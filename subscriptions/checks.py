"""System checks for settings that make HookHub unsafe in production."""

from __future__ import annotations

from django.conf import settings
from django.core.checks import Error, Tags, register


@register(Tags.security, deploy=False)
def address_guard_enabled(app_configs=None, **kwargs) -> list[Error]:
    """The outbound address guard keeps subscribers from making HookHub call internal hosts
    (metadata services, databases, admin panels). Off is only for local development."""
    if settings.HOOKHUB_ADDRESS_GUARD or settings.DEBUG:
        return []
    return [
        Error(
            "HOOKHUB_ADDRESS_GUARD is off while DEBUG is off: subscribers could make HookHub "
            "send requests to private and internal addresses.",
            hint="Unset HOOKHUB_ADDRESS_GUARD (it defaults to on); to reach private receivers "
            "on purpose, list their networks in HOOKHUB_ALLOWED_CIDRS instead.",
            id="hookhub.E001",
        )
    ]
