"""Sign-in protection around django-axes: which address a client has, and sign-ins (failed
and successful) written to the audit log."""

from __future__ import annotations

from django.conf import settings
from django.contrib.auth.signals import user_logged_in, user_login_failed
from django.dispatch import receiver
from django.http import HttpRequest

from subscriptions.models import AuditEntry

ANONYMOUS = "anonymous"
USERNAME_MAX = 150


def client_ip(request: HttpRequest) -> str | None:
    """The client's address for throttling. Behind HOOKHUB_TRUSTED_PROXY_COUNT proxies it is
    that many entries from the right of X-Forwarded-For (entries further left are whatever
    the client claimed); with no trusted proxy, REMOTE_ADDR."""
    count = settings.HOOKHUB_TRUSTED_PROXY_COUNT
    if count > 0:
        forwarded = [
            part.strip()
            for part in request.META.get("HTTP_X_FORWARDED_FOR", "").split(",")
            if part.strip()
        ]
        if len(forwarded) >= count:
            return forwarded[-count]
    return request.META.get("REMOTE_ADDR")


@receiver(user_login_failed, dispatch_uid="hookhub-audit-failed-login")
def audit_failed_login(sender, credentials: dict, request: HttpRequest | None = None, **kwargs):
    """One audit entry per failed sign-in: the attempted username and the address, never the
    password (Django already replaced it in `credentials`; only the username is read)."""
    username = str(credentials.get("username") or "")[:USERNAME_MAX]
    AuditEntry.objects.create(
        actor=None,
        actor_label=ANONYMOUS,
        action="login.failed",
        object_type="user",
        object_label=username,
        details={
            "username": username,
            "locked_out": bool(getattr(request, "axes_locked_out", False)),
        },
        ip_address=client_ip(request) if request is not None else None,
    )


@receiver(user_logged_in, dispatch_uid="hookhub-audit-sign-in")
def audit_sign_in(sender, request: HttpRequest | None, user, **kwargs):
    """One audit entry per sign-in with a password (the login form, the admin's login).
    Sessions made without one (tests' force_login, Client.login) fire the same signal with
    a request that was never posted, and are not sign-ins anyone made."""
    if request is None or request.method != "POST":
        return
    AuditEntry.objects.create(
        actor=user,
        actor_label=str(user.get_username())[:USERNAME_MAX],
        action="login.succeeded",
        object_type="user",
        object_id=str(user.pk),
        object_label=str(user.get_username())[:USERNAME_MAX],
        ip_address=client_ip(request),
    )
