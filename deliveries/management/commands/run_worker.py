from __future__ import annotations

from django.core.management.base import BaseCommand

from deliveries.worker import Worker


class Command(BaseCommand):
    help = "Run the delivery worker: the django-q2 cluster and HookHub's sweeper loop."

    def add_arguments(self, parser) -> None:
        parser.add_argument(
            "--sweep-only",
            action="store_true",
            help="Run only the sweeper (when the cluster runs elsewhere, e.g. `qcluster`).",
        )

    def handle(self, *args, **options) -> None:
        self.stdout.write("Starting HookHub worker (Ctrl-C stops it).")
        Worker().run(sweep_only=options["sweep_only"])
        self.stdout.write("Worker stopped.")
