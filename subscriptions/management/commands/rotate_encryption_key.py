"""Re-encrypt every stored signing secret (and every endpoint's custom headers) under the
first key of HOOKHUB_ENCRYPTION_KEYS.

Procedure (no downtime): put the new key first and keep the old one after it
(HOOKHUB_ENCRYPTION_KEYS=new,old) on every process; run this command; then drop the old key.
Safe to run again and while the service runs: rows already under the new key are skipped,
and each row is written only if it still holds the value that was read.

Every previous secret still in its rotation grace period (Endpoint.previous_secrets) is
re-encrypted too; expired ones, which never sign again, are dropped instead.
"""

from __future__ import annotations

from datetime import datetime

from cryptography.fernet import InvalidToken
from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone

from subscriptions import secrets
from subscriptions.models import Endpoint

# The custom headers are encrypted under the same keys (their values are receivers'
# credentials); "" means none and is skipped.
FIELDS = ("secret_encrypted", "headers_encrypted")


class Command(BaseCommand):
    help = "Re-encrypt endpoint signing secrets under the current (first) encryption key."

    def add_arguments(self, parser):
        parser.add_argument("--dry-run", action="store_true", help="Count, change nothing.")
        parser.add_argument("--batch-size", type=int, default=500)

    def handle(self, *args, dry_run: bool = False, batch_size: int = 500, **options):
        if batch_size < 1:
            raise CommandError("--batch-size must be at least 1.")
        rotated = current = raced = 0
        last_pk = 0
        now = timezone.now()
        while True:
            batch = list(
                Endpoint.objects.filter(pk__gt=last_pk)
                .order_by("pk")
                .values_list("pk", "previous_secrets", *FIELDS)[:batch_size]
            )
            if not batch:
                break
            last_pk = batch[-1][0]
            for pk, previous, *tokens in batch:
                changes = {}
                for field, token in zip(FIELDS, tokens, strict=True):
                    if token and not secrets.is_current(token):
                        changes[field] = _reencrypt(token, pk, field)
                kept = _previous_reencrypted(previous or [], now, pk)
                if kept != (previous or []):
                    changes["previous_secrets"] = kept
                if not changes:
                    current += 1
                    continue
                if dry_run:
                    rotated += 1
                    continue
                # Conditional on the values read: a secret rotated by its owner meanwhile is
                # already under the new key and must not be overwritten with the old one.
                # previous_secrets is not compared: only a rotation rewrites it, and a
                # rotation always changes secret_encrypted.
                unchanged = dict(zip(FIELDS, tokens, strict=True))
                if Endpoint.objects.filter(pk=pk, **unchanged).update(**changes):
                    rotated += 1
                else:
                    raced += 1
        verb = "would re-encrypt" if dry_run else "re-encrypted"
        self.stdout.write(
            f"{verb} {rotated} endpoints; {current} already under the current key"
            + (f"; {raced} changed meanwhile (run again)" if raced else "")
            + "."
        )


def _reencrypt(token: str, pk: int, field: str) -> str:
    try:
        return secrets.reencrypt(token)
    except InvalidToken:
        raise CommandError(
            f"Endpoint {pk}: {field} is encrypted with a key that is not in "
            "HOOKHUB_ENCRYPTION_KEYS; add the old key after the new one."
        ) from None


def _previous_reencrypted(entries: list[dict], now, pk: int) -> list[dict]:
    """The previous secrets still signing, each under the current key; expired ones dropped."""
    kept = []
    for position, entry in enumerate(entries):
        if datetime.fromisoformat(entry["expires_at"]) <= now:
            continue
        token = entry["encrypted"]
        if not secrets.is_current(token):
            token = _reencrypt(token, pk, f"previous secret {position + 1}")
        kept.append({**entry, "encrypted": token})
    return kept
