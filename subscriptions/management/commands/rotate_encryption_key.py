"""Re-encrypt every stored signing secret under the first key of HOOKHUB_ENCRYPTION_KEYS.

Procedure (no downtime): put the new key first and keep the old one after it
(HOOKHUB_ENCRYPTION_KEYS=new,old) on every process; run this command; then drop the old key.
Safe to run again and while the service runs: rows already under the new key are skipped,
and each row is written only if it still holds the value that was read.
"""

from __future__ import annotations

from cryptography.fernet import InvalidToken
from django.core.management.base import BaseCommand, CommandError

from subscriptions import secrets
from subscriptions.models import Endpoint

FIELDS = ("secret_encrypted", "previous_secret_encrypted")


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
        while True:
            batch = list(
                Endpoint.objects.filter(pk__gt=last_pk)
                .order_by("pk")
                .values_list("pk", *FIELDS)[:batch_size]
            )
            if not batch:
                break
            last_pk = batch[-1][0]
            for pk, *tokens in batch:
                changes = {}
                for field, token in zip(FIELDS, tokens, strict=True):
                    if not token or secrets.is_current(token):
                        continue
                    try:
                        changes[field] = secrets.reencrypt(token)
                    except InvalidToken:
                        raise CommandError(
                            f"Endpoint {pk}: {field} is encrypted with a key that is not in "
                            "HOOKHUB_ENCRYPTION_KEYS; add the old key after the new one."
                        ) from None
                if not changes:
                    current += 1
                    continue
                if dry_run:
                    rotated += 1
                    continue
                # Conditional on the values read: a secret rotated by its owner meanwhile is
                # already under the new key and must not be overwritten with the old one.
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
