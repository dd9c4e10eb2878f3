"""`load_demo` (run by every `make run`) finds the demo's own endpoint whatever the user added
at the inbox URL, as the inbox page invites them to; and its URL follows --base-url."""

from __future__ import annotations

import io

import pytest
from django.core.management import call_command

from deliveries.models import Event
from demo.management.commands.load_demo import ALICE_INBOX, DEMO_DESCRIPTION
from demo.models import DemoEndpoint
from subscriptions import services
from subscriptions.models import Endpoint

pytestmark = pytest.mark.django_db


def load_demo(*args: str) -> str:
    out = io.StringIO()
    call_command("load_demo", *args, stdout=out)
    return out.getvalue()


def demo_endpoint() -> Endpoint:
    return DemoEndpoint.objects.get(name=ALICE_INBOX).endpoint


def test_second_load_demo_ignores_alices_own_endpoint_at_the_inbox_url():
    load_demo("--publish-sample")
    inbox = demo_endpoint()
    mine = services.create_endpoint(
        inbox.owner,
        {"url": inbox.url, "description": "mine", "all_event_types": True},
        actor=inbox.owner,
    )
    load_demo("--publish-sample")
    assert demo_endpoint() == inbox
    assert set(Endpoint.objects.filter(url=inbox.url)) == {inbox, mine}
    assert DemoEndpoint.objects.count() == 1
    assert Event.objects.filter(event_type__name="new-subscription").count() == 1


def test_load_demo_adopts_the_endpoint_an_older_load_demo_made():
    load_demo()
    inbox = demo_endpoint()
    DemoEndpoint.objects.all().delete()  # as before DemoEndpoint existed
    services.create_endpoint(
        inbox.owner,
        {"url": inbox.url, "description": DEMO_DESCRIPTION, "all_event_types": True},
        actor=inbox.owner,
    )
    load_demo()
    assert demo_endpoint() == inbox
    assert Endpoint.objects.filter(url=inbox.url).count() == 2


def test_load_demo_makes_a_new_demo_endpoint_after_alice_deleted_it():
    load_demo()
    services.delete_endpoint(demo_endpoint(), actor=None)
    load_demo()
    assert demo_endpoint().description == DEMO_DESCRIPTION
    assert Endpoint.objects.filter(owner__username="alice").count() == 1


def test_demo_endpoint_and_printed_urls_follow_the_base_url():
    out = load_demo("--base-url", "http://127.0.0.1:8001", "--publish-sample")
    endpoint = demo_endpoint()
    assert endpoint.url == f"http://127.0.0.1:8001/demo/inbox/{endpoint.owner_id}/"
    assert f"watch it arrive at {endpoint.url}" in out
    assert "Sign in at http://127.0.0.1:8001/accounts/login/" in out
    assert ":8000" not in out
    load_demo("--base-url", "http://127.0.0.1:8000/")
    moved = demo_endpoint()
    assert moved.pk == endpoint.pk
    assert moved.url == f"http://127.0.0.1:8000/demo/inbox/{endpoint.owner_id}/"
