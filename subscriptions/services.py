"""Every change to endpoints and event types, in one place.

The dashboard views, the REST API, the Django admin and the delivery engine call these
functions and nothing else to write an Endpoint or an EventType, so each rule (what a change
does, which audit entry it leaves, with which detail keys) is written once. Input has been
validated by the caller's form or serializer, whose checks come from the model fields'
validators (subscriptions.models); what only a service can know (a code-declared type, a
rename) raises ValidationError here.

Audit entries, one per call that changed something:
    endpoint.created / endpoint.updated (changed: [field, ...]) / endpoint.deleted (url)
    endpoint.paused / endpoint.enabled (previous_state) / endpoint.disabled_by_system (reason)
    endpoint.failure_warning (stage, failing_since)
    endpoint.secret_rotated (previous_expires_at, previous_secrets_signing) /
    endpoint.secret_revealed
    endpoint.headers_revealed (headers: the secret names shown)
    event_type.created / event_type.updated (changed: [field, ...], version)
    event_type.archived / event_type.restored
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from datetime import timedelta
from typing import Any

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError
from django.core.mail import send_mail
from django.db import transaction
from django.utils import timezone

from subscriptions import audit, schemas, signals
from subscriptions.models import Endpoint, EventType

logger = logging.getLogger(__name__)

ENDPOINT_FIELDS = (
    "url",
    "description",
    "all_event_types",
    "headers",
    "secret_header_names",
    "rate_limit",
    "retry_for",
)
# Endpoint.headers is a property over the encrypted column it is saved in.
ENDPOINT_COLUMNS = {"headers": "headers_encrypted"}
EVENT_TYPE_FIELDS = ("name", "description", "method", "schema", "example")


# --- endpoints ------------------------------------------------------------------------------
def check_endpoint_quota(owner) -> None:
    """Each subscriber has at most HOOKHUB_MAX_ENDPOINTS_PER_USER endpoints: every endpoint
    is a target HookHub sends signed requests to, so their number is bounded."""
    limit = int(settings.HOOKHUB_MAX_ENDPOINTS_PER_USER)
    if Endpoint.objects.filter(owner=owner).count() >= limit:
        raise ValidationError(
            f"{owner.get_username()} already has {limit} endpoints, the most one account may "
            "have. Delete one you no longer use to add another.",
            code="too_many_endpoints",
        )


def check_event_types(owner, event_types) -> None:
    """Operational event types (HookHub's own events, about every tenant's endpoints) are
    for the provider's staff endpoints; a subscriber's endpoint may not receive them."""
    if getattr(owner, "is_staff", False):
        return
    refused = sorted(t.name for t in event_types or () if t.operational)
    if refused:
        raise ValidationError(
            f"{', '.join(refused)}: operational event types are only for staff endpoints.",
            code="operational_event_type",
        )


def create_endpoint(owner, values: Mapping[str, Any], *, actor, request=None) -> Endpoint:
    """A new enabled endpoint of `owner` (fields of ENDPOINT_FIELDS and `event_types`);
    ValidationError past the owner's quota."""
    with transaction.atomic():
        # Locking the owner's row serialises two creates racing past the quota (PostgreSQL;
        # SQLite runs one writer at a time anyway).
        get_user_model().objects.select_for_update().filter(pk=owner.pk).exists()
        check_endpoint_quota(owner)
        check_event_types(owner, values.get("event_types"))
        endpoint = Endpoint(owner=owner)
        for name in ENDPOINT_FIELDS:
            if name in values:
                setattr(endpoint, name, values[name])
        endpoint.save()
        endpoint.event_types.set(values.get("event_types", []))
        audit.record(actor, "endpoint.created", endpoint, request=request)
    return endpoint


def check_requested_state(state: str | None) -> None:
    """People may enable or pause an endpoint; only HookHub disables one."""
    if state == Endpoint.State.DISABLED:
        raise ValidationError(
            "Only HookHub disables an endpoint (after continuous failures); "
            "choose 'enabled' or 'paused'.",
            code="invalid_state",
        )


def update_endpoint(endpoint: Endpoint, values: Mapping[str, Any], *, actor, request=None):
    """Apply what differs from the stored row (locked meanwhile, so two editors can't lose
    each other's changes); a `state` of enabled or paused goes through enable/pause.
    Returns the sorted names of the changed fields (state not included). `endpoint` may
    already hold the new values (a ModelForm sets them while validating); it is reloaded."""
    values = dict(values)
    state = values.pop("state", None)
    check_requested_state(state)
    with transaction.atomic():
        stored = Endpoint.objects.select_for_update().get(pk=endpoint.pk)
        changed = [
            name
            for name in ENDPOINT_FIELDS
            if name in values and getattr(stored, name) != values[name]
        ]
        types = values.get("event_types")
        check_event_types(stored.owner, types)
        if types is not None and {t.pk for t in types} != set(
            stored.event_types.values_list("pk", flat=True)
        ):
            changed.append("event_types")
        if changed:
            for name in changed:
                if name != "event_types":
                    setattr(stored, name, values[name])
            columns = [ENDPOINT_COLUMNS.get(n, n) for n in changed if n != "event_types"]
            stored.save(update_fields=[*columns, "updated_at"])
            if "event_types" in changed:
                stored.event_types.set(types)
            audit.record(
                actor, "endpoint.updated", stored, request=request, changed=sorted(changed)
            )
        if state == Endpoint.State.ENABLED:
            enable_endpoint(stored, actor=actor, request=request)
        elif state == Endpoint.State.PAUSED:
            pause_endpoint(stored, actor=actor, request=request)
    endpoint.refresh_from_db()
    return sorted(changed)


def delete_endpoint(endpoint: Endpoint, *, actor, request=None) -> None:
    with transaction.atomic():
        audit.record(actor, "endpoint.deleted", endpoint, request=request, url=endpoint.url)
        endpoint.delete()


def enable_endpoint(endpoint: Endpoint, *, actor, request=None) -> bool:
    """Re-enable a paused or system-disabled endpoint, with a fresh failure streak. False
    (and no audit entry) if it was already enabled."""
    return _audited_state_change(endpoint, endpoint.enable, "endpoint.enabled", actor, request)


def pause_endpoint(endpoint: Endpoint, *, actor, request=None) -> bool:
    """Stop sending until the owner enables it again. False if it was already paused."""
    return _audited_state_change(endpoint, endpoint.pause, "endpoint.paused", actor, request)


def _audited_state_change(endpoint: Endpoint, change, action: str, actor, request) -> bool:
    previous = endpoint.state
    with transaction.atomic():
        if not change():
            return False
        audit.record(actor, action, endpoint, request=request, previous_state=previous)
        if action == "endpoint.enabled":
            signals.endpoint_enabled.send(
                Endpoint, endpoint=endpoint, previous_state=previous, actor=actor
            )
    return True


def disable_endpoint(endpoint: Endpoint, reason: str, *, now=None) -> bool:
    """HookHub's own decision (the delivery engine's): disable an enabled endpoint, audit it
    and email its owner. Conditional, so two workers disable and email only once."""
    with transaction.atomic():
        if not endpoint.disable(reason, now=now):
            return False
        audit.record(None, "endpoint.disabled_by_system", endpoint, reason=reason)
        signals.endpoint_disabled.send(
            Endpoint, endpoint=endpoint, reason=reason, at=now or timezone.now()
        )
    _tell_owner(endpoint, reason)
    return True


def warn_endpoint_failing(endpoint: Endpoint, stage: int, last_error: str, *, now=None) -> None:
    """HookHub's warning that an endpoint keeps failing (deliveries.failure_warnings decides
    when): an audit entry and an email to its owner saying what, since when, the last
    error, when it will be disabled, and where to look."""
    now = now or timezone.now()
    disable_at = endpoint.disables_at
    audit.record(
        None,
        "endpoint.failure_warning",
        endpoint,
        stage=stage,
        failing_since=endpoint.failing_since.isoformat(),
    )
    email = getattr(endpoint.owner, "email", "")
    if not email:
        return
    link = settings.HOOKHUB_PUBLIC_URL.rstrip("/") + endpoint.get_absolute_url()
    hours = (now - endpoint.failing_since).total_seconds() / 3600
    try:
        send_mail(
            subject=f"Webhooks to {endpoint.url} have failed for {hours:.0f} hours"[:200],
            message=(
                f"Every delivery to {endpoint.url} has failed since "
                f"{endpoint.failing_since:%Y-%m-%d %H:%M} UTC ({hours:.0f} hours).\n\n"
                f"Last error: {last_error}\n\n"
                f"If nothing succeeds by {disable_at:%Y-%m-%d %H:%M} UTC, HookHub disables the "
                "endpoint and keeps its events until you re-enable it. One successful "
                "delivery ends the warnings.\n\n"
                f"Deliveries and their attempts: {link}"
            ),
            from_email=None,
            recipient_list=[email],
        )
    except Exception:  # noqa: BLE001 - an unreachable mail server must not stop the sweeper
        logger.exception("Could not email %s about failing endpoint %s", email, endpoint.pk)


def _tell_owner(endpoint: Endpoint, reason: str) -> None:
    email = getattr(endpoint.owner, "email", "")
    if not email:
        return
    try:
        send_mail(
            subject=f"HookHub disabled your endpoint {endpoint.url}"[:200],
            message=(
                f"HookHub stopped sending webhooks to {endpoint.url}.\n\n"
                f"Why: {reason}\n\n"
                "Events published while it is disabled are kept, not sent, for "
                f"{settings.HOOKHUB_ATTEMPT_RETENTION_DAYS} days. Fix the receiver, "
                "then re-enable the endpoint from your dashboard: its page then offers to send "
                "the events it missed, and you can replay failed deliveries."
            ),
            from_email=None,
            recipient_list=[email],
        )
    except Exception:  # noqa: BLE001 - an unreachable mail server must not stop deliveries
        logger.exception("Could not email %s about disabled endpoint %s", email, endpoint.pk)


def rotate_secret(
    endpoint: Endpoint, *, actor, request=None, grace: timedelta | None = None
) -> str:
    """A new signing secret, returned. The old one keeps signing for `grace` (default
    HOOKHUB_SECRET_ROTATION_GRACE, at most HOOKHUB_SECRET_ROTATION_MAX_GRACE; zero: it stops
    now) and every earlier one until its own expiry (Endpoint.rotate_secret). The row is
    locked meanwhile, so two rotations at once each keep the other's secret. Refused with
    ValidationError beyond HOOKHUB_MAX_PREVIOUS_SECRETS or the longest grace. Afterwards
    `endpoint.replaced_secret_expires_at` says until when the replaced secret signs."""
    if grace is None:
        grace = timedelta(seconds=settings.HOOKHUB_SECRET_ROTATION_GRACE)
    longest = timedelta(seconds=settings.HOOKHUB_SECRET_ROTATION_MAX_GRACE)
    if not timedelta(0) <= grace <= longest:
        raise ValidationError(
            f"The old secret may keep signing for 0 to {int(longest.total_seconds())} seconds.",
            code="invalid_grace",
        )
    now = timezone.now()
    with transaction.atomic():
        stored = (
            Endpoint.objects.select_for_update()
            .only("secret_encrypted", "previous_secrets")
            .get(pk=endpoint.pk)
        )
        endpoint.secret_encrypted = stored.secret_encrypted
        endpoint.previous_secrets = stored.previous_secrets
        secret = endpoint.rotate_secret(grace, now=now)
        audit.record(
            actor,
            "endpoint.secret_rotated",
            endpoint,
            request=request,
            previous_expires_at=endpoint.replaced_secret_expires_at.isoformat(),
            previous_secrets_signing=len(endpoint.previous_secret_expiries(now)),
        )
    return secret


def reveal_secret(endpoint: Endpoint, *, actor, request=None) -> str:
    """The current secret, with an audit entry naming who looked."""
    audit.record(actor, "endpoint.secret_revealed", endpoint, request=request)
    return endpoint.secret


def reveal_headers(endpoint: Endpoint, *, actor, request=None) -> dict[str, str]:
    """The custom headers in clear, secret values included, with an audit entry naming who
    looked and which headers (names only: the log never holds a value)."""
    audit.record(
        actor,
        "endpoint.headers_revealed",
        endpoint,
        request=request,
        headers=endpoint.secret_headers,
    )
    return endpoint.headers


# --- event types ----------------------------------------------------------------------------
def create_event_type(values: Mapping[str, Any], *, actor, request=None) -> EventType:
    """A staff-defined type. No schema (or an empty one) means "any JSON object"."""
    fields = {name: values[name] for name in EVENT_TYPE_FIELDS if name in values}
    fields["schema"] = fields.get("schema") or schemas.default_schema()
    schemas.check_event_schema(fields["schema"])
    schemas.check_event_example(fields["schema"], fields.get("example"))
    with transaction.atomic():
        event_type = EventType.objects.create(source=EventType.Source.ADMIN, **fields)
        audit.record(actor, "event_type.created", event_type, request=request)
    return event_type


def check_editable(event_type: EventType) -> None:
    """Code-declared types change only in code (a deploy re-syncs them)."""
    if event_type.is_code_declared:
        raise ValidationError(
            f"{event_type.name!r} is declared in code; change it there "
            "(a code deploy re-syncs it).",
            code="code_declared",
        )


def update_event_type(event_type: EventType, values: Mapping[str, Any], *, actor, request=None):
    """Apply what differs from the stored row of a staff-defined type and bump its version
    once per change. Returns the sorted names of the changed fields. `event_type` may
    already hold the new values (a ModelForm sets them while validating); it is reloaded."""
    check_editable(event_type)
    values = dict(values)
    if "schema" in values:
        values["schema"] = values["schema"] or schemas.default_schema()
    with transaction.atomic():
        stored = EventType.objects.select_for_update().get(pk=event_type.pk)
        if "name" in values and values["name"] != stored.name:
            raise ValidationError({"name": ["An event type cannot be renamed."]}, code="rename")
        changed = sorted(
            name
            for name in EVENT_TYPE_FIELDS
            if name in values and getattr(stored, name) != values[name]
        )
        if changed:
            schema = values.get("schema", stored.schema)
            schemas.check_event_schema(schema)
            schemas.check_event_example(schema, values.get("example", stored.example))
            for name in changed:
                setattr(stored, name, values[name])
            stored.version += 1
            stored.save(update_fields=[*changed, "version", "updated_at"])
            audit.record(
                actor,
                "event_type.updated",
                stored,
                request=request,
                changed=changed,
                version=stored.version,
            )
    event_type.refresh_from_db()
    return changed


def set_event_type_archived(event_type: EventType, archived: bool, *, actor, request=None) -> bool:
    """Archive (or restore) a staff-defined type: archived types leave the catalogue and the
    OpenAPI document and can't be published; events already sent keep their type. False if
    it already was."""
    check_editable(event_type)
    with transaction.atomic():
        changed = EventType.objects.filter(pk=event_type.pk).exclude(archived=archived)
        if not changed.update(archived=archived, updated_at=timezone.now()):
            return False
        event_type.archived = archived
        action = "event_type.archived" if archived else "event_type.restored"
        audit.record(actor, action, event_type, request=request)
    return True
