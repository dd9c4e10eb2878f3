from django.core.management.base import BaseCommand

from subscriptions import catalog


class Command(BaseCommand):
    help = "Write the event types declared in code (webhooks.py) into the database."

    def handle(self, *args, **options):
        counts = catalog.sync()
        self.stdout.write(
            "Event types: {created} created, {updated} updated, {archived} archived.".format(
                **counts
            )
        )
