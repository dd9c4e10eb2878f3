"""Demo data for `make run`. Idempotent: running it again changes nothing."""

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand
from django.db import transaction

from subscriptions import catalog
from subscriptions.models import EventType

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
        self.stdout.write("Demo data ready. Sign in at http://127.0.0.1:8000/accounts/login/")
        for username, password, is_staff in DEMO_USERS:
            role = "admin (staff)" if is_staff else "subscriber"
            self.stdout.write(f"  {role:14} username: {username:6} password: {password}")
