from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError

from subscriptions.models import ApiToken


class Command(BaseCommand):
    help = "Create an API token for USERNAME and print it (it is shown only once)."

    def add_arguments(self, parser):
        parser.add_argument("username")
        parser.add_argument("--name", default="", help="A label to tell tokens apart.")

    def handle(self, *args, **options):
        User = get_user_model()
        try:
            user = User.objects.get_by_natural_key(options["username"])
        except User.DoesNotExist:
            raise CommandError(f"No user named {options['username']!r}.") from None
        _, key = ApiToken.issue(user, name=options["name"])
        self.stdout.write(key)
