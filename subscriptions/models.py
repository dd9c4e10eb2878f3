from __future__ import annotations

import hashlib
import json
import re
import secrets as pysecrets
import uuid
from datetime import datetime, timedelta

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import MinValueValidator
from django.db import models
from django.urls import reverse
from django.utils import timezone

from subscriptions import secrets
from subscriptions.addresses import validate_endpoint_url
from subscriptions.headers import masked, secret_names, validate_secret_names
from subscriptions.retries import retry_schedule, validate_retry_for


def first_line(text: str | None) -> str:
    """A description's or docstring's first line: the summary lists and documents show."""
    lines = (text or "").strip().splitlines()
    return lines[0].strip() if lines else ""


# C0 controls other than tab, newline and carriage return, DEL, and the C1 controls
# (U+0080-U+009F). JSON may carry them, but YAML readers of the OpenAPI document
# (openapi-spec-validator among them) refuse the whole document over one of them.
CONTROL_CHARACTERS = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]")


def validate_no_control_characters(value: str) -> None:
    """Refuse text holding an invisible control character: descriptions and summaries are
    copied into the OpenAPI document, which it would make unreadable."""
    found = CONTROL_CHARACTERS.search(value or "")
    if found is not None:
        raise ValidationError(
            "Remove the invisible control character U+%(code)04X (character %(position)d): "
            "it would make the API document unreadable. Tabs and line breaks are fine.",
            code="control_character",
            params={"code": ord(found.group()), "position": found.start() + 1},
        )


def _expiry(entry: dict) -> datetime:
    """An Endpoint.previous_secrets entry's expiry (stored as ISO 8601 text in JSON)."""
    return datetime.fromisoformat(entry["expires_at"])


# When a rotated-out secret stops signing, as the dashboard and the API offer it (Stripe's
# "roll secret" choices): name -> (seconds, label).
SECRET_EXPIRY_CHOICES = {
    "now": (0, "Now"),
    "1h": (3600, "In 1 hour"),
    "24h": (24 * 3600, "In 24 hours"),
    "7d": (7 * 24 * 3600, "In 7 days"),
}


class EventType(models.Model):
    class Method(models.TextChoices):
        POST = "POST"
        PUT = "PUT"
        PATCH = "PATCH"

    class Source(models.TextChoices):
        CODE = "code", "Declared in code"
        ADMIN = "admin", "Created by an admin"

    name = models.SlugField(max_length=100, unique=True)
    # Its first line is the type's summary; both are copied into the OpenAPI document.
    description = models.TextField(blank=True, validators=[validate_no_control_characters])
    method = models.CharField(max_length=5, choices=Method.choices, default=Method.POST)
    # JSON Schema (Draft 2020-12) of the event's `data`. For code-declared types it is
    # generated from the serializer at sync time, so the catalogue reads one shape.
    schema = models.JSONField(default=dict, blank=True)
    example = models.JSONField(null=True, blank=True)
    version = models.PositiveIntegerField(default=1)
    archived = models.BooleanField(default=False)
    source = models.CharField(max_length=5, choices=Source.choices, default=Source.ADMIN)
    # HookHub's own events (deliveries/webhooks.py): received only by staff endpoints that
    # chose them, never through "all event types" (see EndpointQuerySet.receiving).
    operational = models.BooleanField(default=False, editable=False)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name

    @property
    def is_code_declared(self) -> bool:
        return self.source == self.Source.CODE

    @property
    def summary(self) -> str:
        return first_line(self.description)


class EndpointQuerySet(models.QuerySet):
    def receiving(self, event_type: EventType) -> EndpointQuerySet:
        """Endpoints that receive `event_type` (explicitly or through "all"), whatever their
        state: publishing gives a paused or system-disabled one a skipped delivery, which it
        can send once enabled again, so nothing published for it vanishes."""
        if event_type.operational:
            # About every tenant's endpoints: for the provider's own staff endpoints only.
            return self.filter(event_types=event_type, owner__is_staff=True).distinct()
        return self.filter(
            models.Q(all_event_types=True) | models.Q(event_types=event_type)
        ).distinct()

    def subscribed_to(self, event_type: EventType) -> EndpointQuerySet:
        """Enabled endpoints that receive `event_type`: those sent its events now."""
        return self.receiving(event_type).filter(state=Endpoint.State.ENABLED)


class Endpoint(models.Model):
    class State(models.TextChoices):
        ENABLED = "enabled", "Enabled"
        PAUSED = "paused", "Paused"
        DISABLED = "disabled", "Disabled by the system"

    uid = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="endpoints"
    )
    # The validators are the address guard's and the header rules, so every ModelForm
    # (dashboard, Django admin) and ModelSerializer (API) refuses what the sender would.
    url = models.URLField(max_length=2000, validators=[validate_endpoint_url])
    description = models.CharField(max_length=300, blank=True)
    event_types = models.ManyToManyField(EventType, blank=True, related_name="endpoints")
    all_event_types = models.BooleanField(
        default=False, help_text="Receive every event type, including ones added later."
    )
    # Custom headers, {name: value} as JSON, encrypted like the secret ("" when none): their
    # values are usually the receiver's credentials. Read and set through `headers`.
    headers_encrypted = models.TextField(blank=True, editable=False)
    # Names the owner marked secret, besides the credential-like ones (headers.is_secret).
    secret_header_names = models.JSONField(
        default=list, blank=True, validators=[validate_secret_names]
    )
    secret_encrypted = models.TextField(editable=False)
    # Replaced secrets that still sign during their grace period, newest first:
    # [{"encrypted": <Fernet token>, "expires_at": <ISO 8601 UTC>}, ...]. See signing_secrets.
    previous_secrets = models.JSONField(default=list, blank=True, editable=False)
    state = models.CharField(max_length=10, choices=State.choices, default=State.ENABLED)
    disabled_reason = models.CharField(max_length=300, blank=True)
    disabled_at = models.DateTimeField(null=True, blank=True)
    # Start of the current unbroken run of failures; any success clears it.
    failing_since = models.DateTimeField(null=True, blank=True)
    # How many of the HOOKHUB_WARN_AFTER warnings this failure streak has had (0 when none);
    # reset with failing_since, so each streak warns once per stage.
    failure_warnings_sent = models.PositiveSmallIntegerField(default=0, editable=False)
    rate_limit = models.PositiveIntegerField(
        null=True,
        blank=True,
        validators=[MinValueValidator(1)],
        help_text="Most deliveries per second; empty for no limit.",
    )
    # Shortens (or lengthens, up to HOOKHUB_MAX_RETRY_FOR) the retry schedule of this
    # endpoint's failed deliveries: deliveries.policy.retry_schedule.
    retry_for = models.PositiveIntegerField(
        null=True,
        blank=True,
        validators=[validate_retry_for],
        help_text="Seconds HookHub keeps retrying a failed delivery; empty for the default "
        "schedule, 0 for no retries.",
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    objects = EndpointQuerySet.as_manager()

    class Meta:
        indexes = [
            # The dashboard's endpoint list: one owner's endpoints, newest first.
            models.Index(fields=["owner", "-created_at"], name="endpoint_owner_recent_idx"),
        ]

    def __str__(self) -> str:
        return self.url

    def save(self, *args, **kwargs) -> None:
        if not self.secret_encrypted:
            self.secret_encrypted = secrets.encrypt(secrets.generate_secret())
        super().save(*args, **kwargs)

    def get_absolute_url(self) -> str:
        return reverse("dashboard:endpoint-detail", args=[self.uid])

    @property
    def disables_at(self) -> datetime | None:
        """When HookHub disables this endpoint if it keeps failing (None: not failing)."""
        if self.failing_since is None:
            return None
        return self.failing_since + timedelta(seconds=float(settings.HOOKHUB_DISABLE_AFTER))

    @property
    def retry_schedule(self) -> list[float]:
        """The waits before each try of this endpoint's deliveries (retry_schedule)."""
        return retry_schedule(self.retry_for)

    @property
    def headers(self) -> dict[str, str]:
        """The custom headers in clear (a copy: assign to change them). Decrypted once per
        stored ciphertext on this instance."""
        token = self.headers_encrypted
        cached = self.__dict__.get("_headers_plain")
        if cached is None or cached[0] != token:
            cached = (token, json.loads(secrets.decrypt(token)) if token else {})
            self.__dict__["_headers_plain"] = cached
        return dict(cached[1])

    @headers.setter
    def headers(self, value: dict[str, str] | None) -> None:
        value = dict(value or {})
        self.headers_encrypted = secrets.encrypt(json.dumps(value)) if value else ""
        self.__dict__["_headers_plain"] = (self.headers_encrypted, value)

    @property
    def masked_headers(self) -> dict[str, str]:
        """The headers as people and API clients see them: secret values masked."""
        return masked(self.headers, self.secret_header_names)

    @property
    def secret_headers(self) -> list[str]:
        """The names of this endpoint's headers whose values are secret."""
        return secret_names(self.headers, self.secret_header_names)

    @property
    def secret(self) -> str:
        return secrets.decrypt(self.secret_encrypted)

    def signing_secrets(self, now=None) -> list[str]:
        """Secrets that sign outgoing requests: the current one, then every replaced one
        whose grace period has not ended, newest first, so a receiver still using any secret
        it was promised keeps verifying (rotating twice within a day keeps all three).

        The replaced secrets are a JSON list on the row (`previous_secrets`), not a related
        model: the delivery engine claims deliveries joined with their endpoint in one
        statement (deliveries.statements), so the list arrives with the row and signing
        costs no extra query; the list is short (HOOKHUB_MAX_PREVIOUS_SECRETS) and is only
        ever rewritten whole, by rotate_secret or rotate_encryption_key."""
        return [secrets.decrypt(token) for token in self.signing_tokens(now)]

    def signing_tokens(self, now=None) -> tuple[str, ...]:
        """The encrypted form of signing_secrets(now): what a cache of decrypted secrets is
        keyed on (a rotation, an expiry or a re-encryption changes it)."""
        now = now or timezone.now()
        return (self.secret_encrypted, *(e["encrypted"] for e in self._previous_signing(now)))

    def previous_secret_expiries(self, now=None) -> list[datetime]:
        """When each replaced secret that still signs stops signing, newest secret first:
        what pages and the API show (never the secrets themselves)."""
        now = now or timezone.now()
        return [_expiry(entry) for entry in self._previous_signing(now)]

    def _previous_signing(self, now: datetime) -> list[dict]:
        return [entry for entry in self.previous_secrets or [] if _expiry(entry) > now]

    @property
    def is_enabled(self) -> bool:
        return self.state == self.State.ENABLED

    @property
    def is_paused(self) -> bool:
        return self.state == self.State.PAUSED

    @property
    def is_disabled(self) -> bool:
        return self.state == self.State.DISABLED

    # State changes are conditional UPDATEs: two callers racing (a worker and the owner, or
    # two workers) change the row once, and only the one whose UPDATE matched acts on it.
    def enable(self, *, now=None) -> bool:
        """Enabled again, from paused or disabled, with a fresh failure streak."""
        return self._change_state(
            Endpoint.objects.filter(pk=self.pk).exclude(state=self.State.ENABLED),
            state=self.State.ENABLED,
            disabled_reason="",
            disabled_at=None,
            failing_since=None,
            failure_warnings_sent=0,
            updated_at=now or timezone.now(),
        )

    def pause(self, *, now=None) -> bool:
        """Paused by its owner: nothing is sent until it is enabled again."""
        now = now or timezone.now()
        return self._change_state(
            Endpoint.objects.filter(pk=self.pk).exclude(state=self.State.PAUSED),
            state=self.State.PAUSED,
            disabled_at=now,
            updated_at=now,
        )

    def disable(self, reason: str, *, now=None) -> bool:
        """Disabled by HookHub (an enabled endpoint only: a paused one stays paused)."""
        now = now or timezone.now()
        return self._change_state(
            Endpoint.objects.filter(pk=self.pk, state=self.State.ENABLED),
            state=self.State.DISABLED,
            disabled_reason=reason[: self._meta.get_field("disabled_reason").max_length],
            disabled_at=now,
            updated_at=now,
        )

    def _change_state(self, queryset, **values) -> bool:
        if not queryset.update(**values):
            return False
        for name, value in values.items():
            setattr(self, name, value)
        return True

    def rotate_secret(self, grace: timedelta | None = None, *, now=None) -> str:
        """Make a new current secret and return it. The one it replaces keeps signing for
        `grace` (default HOOKHUB_SECRET_ROTATION_GRACE; zero: it stops at once), each earlier
        one until its own expiry; expired ones are dropped. Raises ValidationError, changing
        nothing, when more than HOOKHUB_MAX_PREVIOUS_SECRETS would still sign. Saves.
        Afterwards `replaced_secret_expires_at` says until when the replaced one signs (the
        rotation's time if it stopped at once), for the caller's answer and audit entry.
        (subscriptions.services.rotate_secret locks the row and audits; call that.)"""
        if grace is None:
            grace = timedelta(seconds=settings.HOOKHUB_SECRET_ROTATION_GRACE)
        now = now or timezone.now()
        kept = self._previous_signing(now)
        if grace > timedelta(0):
            limit = settings.HOOKHUB_MAX_PREVIOUS_SECRETS
            if len(kept) >= limit:
                soonest = min(_expiry(entry) for entry in kept) if kept else now
                raise ValidationError(
                    f"This endpoint already has {len(kept)} old secrets still signing, the "
                    f"most HookHub keeps ({limit}). Rotate with the current secret expiring "
                    "now, or wait until an old one expires (the next at "
                    f"{soonest:%Y-%m-%d %H:%M} UTC).",
                    code="too_many_previous_secrets",
                )
            entry = {"encrypted": self.secret_encrypted, "expires_at": (now + grace).isoformat()}
            kept.insert(0, entry)
        new_secret = secrets.generate_secret()
        self.secret_encrypted = secrets.encrypt(new_secret)
        self.previous_secrets = kept
        self.save(update_fields=["secret_encrypted", "previous_secrets", "updated_at"])
        self.replaced_secret_expires_at = max(now + grace, now)
        return new_secret


class ApiToken(models.Model):
    """A bearer token for the REST API. Only its SHA-256 is stored; the token is shown once."""

    PREFIX = "hh_"

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="api_tokens"
    )
    name = models.CharField(max_length=100, blank=True)
    key_hash = models.CharField(max_length=64, unique=True, editable=False)
    # The first characters, shown in lists so a user can tell tokens apart.
    key_prefix = models.CharField(max_length=12, editable=False)
    created_at = models.DateTimeField(auto_now_add=True)
    last_used_at = models.DateTimeField(null=True, blank=True)

    def __str__(self) -> str:
        return f"{self.key_prefix}… ({self.user})"

    @staticmethod
    def hash_key(key: str) -> str:
        return hashlib.sha256(key.encode()).hexdigest()

    @classmethod
    def issue(cls, user, name: str = "") -> tuple[ApiToken, str]:
        key = cls.PREFIX + pysecrets.token_urlsafe(32)
        token = cls.objects.create(
            user=user, name=name, key_hash=cls.hash_key(key), key_prefix=key[:10]
        )
        return token, key


class AuditEntryQuerySet(models.QuerySet):
    def update(self, **kwargs):  # noqa: ARG002
        raise TypeError("The audit log is append-only.")

    def delete(self):
        raise TypeError("The audit log is append-only.")


class AuditEntry(models.Model):
    """Who did what to which object, and when. Append-only; never holds secrets."""

    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="audit_entries",
    )
    # Kept as text so the entry still reads right after the user is deleted; "system" for
    # the delivery engine's own decisions.
    actor_label = models.CharField(max_length=150)
    action = models.CharField(max_length=60)
    object_type = models.CharField(max_length=60, blank=True)
    object_id = models.CharField(max_length=64, blank=True)
    object_label = models.CharField(max_length=300, blank=True)
    details = models.JSONField(default=dict, blank=True)
    ip_address = models.GenericIPAddressField(null=True, blank=True)
    created_at = models.DateTimeField(default=timezone.now, editable=False)

    objects = AuditEntryQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [
            # The audit page: newest first, optionally for one object.
            models.Index(fields=["-created_at", "-id"], name="audit_recent_idx"),
            models.Index(fields=["object_type", "object_id"], name="audit_object_idx"),
        ]
        verbose_name_plural = "audit entries"

    def __str__(self) -> str:
        return f"{self.created_at:%Y-%m-%d %H:%M:%S} {self.actor_label} {self.action}"

    def save(self, *args, **kwargs) -> None:
        if self.pk is not None:
            raise TypeError("The audit log is append-only.")
        super().save(*args, **kwargs)

    def delete(self, *args, **kwargs):
        raise TypeError("The audit log is append-only.")
