"""Demo data for `make run`. Idempotent: running it again changes nothing."""

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand
from django.db import transaction

from deliveries.publishing import publish
from subscriptions import catalog
from subscriptions.models import Endpoint, EventType

DEMO_USERS = [
    # username, password, is_staff
    ("admin", "hookhub-admin", True),
    ("alice", "hookhub-alice", False),
]

# An event type defined the way an admin would, with a JSON Schema instead of a serializer.
ADMIN_EVENT_TYPE = {
    "name": "usage-threshold-reached",
    "description": "A customer's API usage crossed a threshold of their plan's quota.",
    "schema": {
        "type": "object",
        "properties": {
            "username": {"type": "string"},
            "quota": {"type": "integer", "minimum": 0},
            "used": {"type": "integer", "minimum": 0},
            "threshold_percent": {"type": "integer", "enum": [50, 80, 100]},
        },
        "required": ["username", "quota", "used", "threshold_percent"],
        "additionalProperties": False,
    },
    "example": {"username": "ada", "quota": 10000, "used": 8000, "threshold_percent": 80},
}


class Command(BaseCommand):
    help = "Create the demo users and event types (safe to run again)."

    def add_arguments(self, parser):
        parser.add_argument(
            "--base-url",
            default="http://127.0.0.1:8000",
            help="Where the web server runs; alice's demo endpoint points at its inbox.",
        )
        parser.add_argument(
            "--publish-sample",
            action="store_true",
            help="Publish one new-subscription event, so a delivery shows up in the inbox.",
        )

    @transaction.atomic
    def handle(self, *args, **options):
        User = get_user_model()
        for username, password, is_staff in DEMO_USERS:
            user, created = User.objects.get_or_create(
                username=username,
                defaults={
                    "is_staff": is_staff,
                    "is_superuser": is_staff,
                    "email": f"{username}@example.com",
                },
            )
            if created:
                user.set_password(password)
                user.save(update_fields=["password"])
        catalog.sync()
        EventType.objects.get_or_create(
            name=ADMIN_EVENT_TYPE["name"],
            defaults={**ADMIN_EVENT_TYPE, "source": EventType.Source.ADMIN},
        )
        alice = User.objects.get(username="alice")
        inbox_url = f"{options['base_url'].rstrip('/')}/demo/inbox/alice/"
        Endpoint.objects.get_or_create(
            owner=alice,
            url=inbox_url,
            defaults={"description": "The demo's built-in inbox", "all_event_types": True},
        )
        if options["publish_sample"]:
            # The idempotency key makes a second `make run` publish nothing new.
            publish(
                "new-subscription",
                {"username": "ada", "monthly_fee": 9.99, "start_date": "2026-11-28T10:00:00Z"},
                idempotency_key="demo-sample-1",
                scope="demo",
            )
            self.stdout.write(f"Published a sample event; watch it arrive at {inbox_url}")
        self.stdout.write("Demo data ready. Sign in at http://127.0.0.1:8000/accounts/login/")
        for username, password, is_staff in DEMO_USERS:
            role = "admin (staff)" if is_staff else "subscriber"
            self.stdout.write(f"  {role:14} username: {username:6} password: {password}")
