"""Demo data for `make run`. Idempotent: running it again changes nothing (but the demo
endpoint's URL, which follows --base-url), whatever the user added meanwhile."""

from __future__ import annotations

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand
from django.db import transaction
from django.urls import reverse

from deliveries.publishing import publish
from demo.inbox import inbox_key
from demo.models import DemoEndpoint
from subscriptions import catalog, services
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


# The DemoEndpoint name of alice's endpoint at her inbox.
ALICE_INBOX = "alice-inbox"
DEMO_DESCRIPTION = "The demo's built-in inbox"


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
        base_url = options["base_url"].rstrip("/")
        alice = User.objects.get(username="alice")
        inbox_url = base_url + reverse("demo:inbox-receive", args=[inbox_key(alice)])
        alice_inbox_endpoint(alice, inbox_url)
        if options["publish_sample"]:
            # The idempotency key makes a second `make run` publish nothing new.
            publish(
                "new-subscription",
                {"username": "ada", "monthly_fee": 9.99, "start_date": "2026-11-28T10:00:00Z"},
                idempotency_key="demo-sample-1",
                scope="demo",
            )
            self.stdout.write(f"Published a sample event; watch it arrive at {inbox_url}")
        self.stdout.write(f"Demo data ready. Sign in at {base_url}{reverse('login')}")
        for username, password, is_staff in DEMO_USERS:
            role = "admin (staff)" if is_staff else "subscriber"
            self.stdout.write(f"  {role:14} username: {username:6} password: {password}")


def alice_inbox_endpoint(alice, inbox_url: str) -> Endpoint:
    """The demo's endpoint at alice's inbox, found by its DemoEndpoint row (never by URL:
    alice may add her own there) and moved to `inbox_url` if the server moved."""
    role = DemoEndpoint.objects.select_related("endpoint").filter(name=ALICE_INBOX).first()
    if role is None:
        # A load_demo from before DemoEndpoint made it: the oldest with its description,
        # since that run came before anything alice added.
        endpoint = (
            Endpoint.objects.filter(owner=alice, description=DEMO_DESCRIPTION)
            .order_by("id")
            .first()
        )
        if endpoint is None:
            values = {"url": inbox_url, "description": DEMO_DESCRIPTION, "all_event_types": True}
            endpoint = services.create_endpoint(alice, values, actor=None)
        role = DemoEndpoint.objects.create(name=ALICE_INBOX, endpoint=endpoint)
    if role.endpoint.url != inbox_url:
        services.update_endpoint(role.endpoint, {"url": inbox_url}, actor=None)
    return role.endpoint
