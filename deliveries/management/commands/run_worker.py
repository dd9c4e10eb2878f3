from __future__ import annotations

from django.core.management.base import BaseCommand

from deliveries.worker import Worker


class Command(BaseCommand):
    help = (
        "Run the delivery worker: a django-q2 cluster whose processes send, retry and sweep "
        "(`manage.py qcluster` does the same)."
    )

    def handle(self, *args, **options) -> None:
        self.stdout.write("Starting HookHub worker (Ctrl-C stops it).")
        Worker().run()
        self.stdout.write("Worker stopped.")
