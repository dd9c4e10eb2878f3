"""Delete attempts, and finished events with their deliveries, past the retention period."""

from __future__ import annotations

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from deliveries import retention


class Command(BaseCommand):
    help = (
        "Delete attempts older than HOOKHUB_ATTEMPT_RETENTION_DAYS, and older events whose "
        "deliveries are all finished (with those deliveries), in small batches."
    )

    def add_arguments(self, parser):
        parser.add_argument("--dry-run", action="store_true", help="Print counts only.")
        parser.add_argument("--days", type=int, help="Override the retention period.")
        parser.add_argument("--batch-size", type=int, help="Override HOOKHUB_PRUNE_BATCH_SIZE.")

    def handle(self, *args, dry_run=False, days=None, batch_size=None, **options):
        if days is not None and days < 1:
            raise CommandError("--days must be at least 1.")
        if batch_size is not None and batch_size < 1:
            raise CommandError("--batch-size must be at least 1.")
        result = retention.prune(dry_run=dry_run, days=days, batch_size=batch_size)
        verb = "Would delete" if dry_run else "Deleted"
        kept = days if days is not None else settings.HOOKHUB_ATTEMPT_RETENTION_DAYS
        self.stdout.write(
            f"{verb} {result.attempts} attempts, {result.deliveries} deliveries and "
            f"{result.events} events older than {kept} days."
        )
