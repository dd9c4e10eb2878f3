"""Writing the audit log. Every state change made by a person or by the system calls this."""

from __future__ import annotations

from typing import Any

from django.db import models

from subscriptions.login_security import client_ip
from subscriptions.models import AuditEntry

SYSTEM = "system"


def record(
    actor,
    action: str,
    obj: models.Model | None = None,
    *,
    request=None,
    **details: Any,
) -> AuditEntry:
    """Append one entry. `actor` is a user, or None for the system; `details` must hold no
    secrets (callers pass names, counts and reasons, never keys)."""
    user = actor if getattr(actor, "is_authenticated", False) else None
    # Behind a proxy REMOTE_ADDR is the proxy; client_ip honours HOOKHUB_TRUSTED_PROXY_COUNT.
    ip = client_ip(request) if request is not None else None
    return AuditEntry.objects.create(
        actor=user,
        actor_label=user.get_username() if user else SYSTEM,
        action=action,
        object_type=obj._meta.model_name if obj is not None else "",
        object_id=str(getattr(obj, "uid", None) or getattr(obj, "pk", "") or ""),
        object_label=str(obj)[:300] if obj is not None else "",
        details=details,
        ip_address=ip,
    )
