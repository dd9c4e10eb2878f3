"""One previous secret per endpoint becomes a list of them, each with its own expiry.

Before, rotating twice within the grace period overwrote the first replaced secret although
the page had promised it would keep signing. `Endpoint.previous_secrets` holds every
replaced secret still in its grace period (see Endpoint.signing_secrets).

Forwards, a previous secret still signing becomes the list's one entry; an expired one no
longer signs and is dropped. Backwards, the newest entry still signing goes back to the
single columns and any older ones are lost (they stop signing at once).
"""

from __future__ import annotations

from datetime import datetime

from django.db import migrations, models
from django.utils import timezone


def previous_secrets_from_single(encrypted: str, expires_at, now) -> list[dict]:
    """The new shape of one endpoint's old columns: [] when none or expired."""
    if not encrypted or expires_at is None or expires_at <= now:
        return []
    return [{"encrypted": encrypted, "expires_at": expires_at.isoformat()}]


def single_from_previous_secrets(entries: list[dict], now) -> tuple[str, datetime | None]:
    """The old columns from the new shape: the newest entry still signing, if any."""
    for entry in entries or []:
        expires_at = datetime.fromisoformat(entry["expires_at"])
        if expires_at > now:
            return entry["encrypted"], expires_at
    return "", None


def forwards(apps, schema_editor) -> None:
    Endpoint = apps.get_model("subscriptions", "Endpoint")
    now = timezone.now()
    rows = Endpoint.objects.exclude(previous_secret_encrypted="").values_list(
        "pk", "previous_secret_encrypted", "previous_secret_expires_at"
    )
    for pk, encrypted, expires_at in rows.iterator():
        entries = previous_secrets_from_single(encrypted, expires_at, now)
        if entries:
            Endpoint.objects.filter(pk=pk).update(previous_secrets=entries)


def backwards(apps, schema_editor) -> None:
    Endpoint = apps.get_model("subscriptions", "Endpoint")
    now = timezone.now()
    rows = Endpoint.objects.values_list("pk", "previous_secrets")
    for pk, entries in rows.iterator():
        if not entries:
            continue
        encrypted, expires_at = single_from_previous_secrets(entries, now)
        Endpoint.objects.filter(pk=pk).update(
            previous_secret_encrypted=encrypted, previous_secret_expires_at=expires_at
        )


class Migration(migrations.Migration):
    dependencies = [
        ("subscriptions", "0002_endpoint_field_validators"),
    ]

    operations = [
        migrations.AddField(
            model_name="endpoint",
            name="previous_secrets",
            field=models.JSONField(blank=True, default=list, editable=False),
        ),
        migrations.RunPython(forwards, backwards),
        migrations.RemoveField(model_name="endpoint", name="previous_secret_encrypted"),
        migrations.RemoveField(model_name="endpoint", name="previous_secret_expires_at"),
    ]
