"""The demo inbox is keyed by user id: "alice" and "Alice" (one slug, two users) each read
only their own requests; staff may pick any inbox; rows keyed by a username slug before are
moved to their user when exactly one user has that slug."""

from __future__ import annotations

import importlib

import pytest
from django.apps import apps
from django.test import Client
from django.urls import reverse

from demo.inbox import inbox_key
from demo.models import InboxRequest
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db


def signed_in(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def deliver(user, body: str) -> None:
    url = reverse("demo:inbox-receive", args=[inbox_key(user)])
    assert Client().post(url, data=body, content_type="application/json").status_code == 200


def test_alice_and_Alice_each_see_only_their_own_requests():
    lower, upper = UserFactory(username="alice"), UserFactory(username="Alice")
    deliver(lower, '{"for": "lower-alice"}')
    deliver(upper, '{"for": "upper-Alice"}')
    lower_page = signed_in(lower).get(reverse("demo:inbox")).content.decode()
    upper_page = signed_in(upper).get(reverse("demo:inbox")).content.decode()
    assert "lower-alice" in lower_page and "upper-Alice" not in lower_page
    assert "upper-Alice" in upper_page and "lower-alice" not in upper_page
    assert f"/demo/inbox/{lower.pk}/" in lower_page
    assert f"/demo/inbox/{upper.pk}/" in upper_page


def test_a_subscriber_cannot_pick_another_inbox(owner, outsider):
    deliver(outsider, '{"secret": "outsiders"}')
    page = signed_in(owner).get(reverse("demo:inbox"), {"inbox": inbox_key(outsider)})
    assert "outsiders" not in page.content.decode()


def test_staff_pick_any_inbox_by_its_owners_name(staff, owner):
    deliver(owner, '{"hello": "from-owner"}')
    client = signed_in(staff)
    listing = client.get(reverse("demo:inbox")).content.decode()
    assert f'href="?inbox={inbox_key(owner)}">owner</a>' in listing
    page = client.get(reverse("demo:inbox"), {"inbox": inbox_key(owner)}).content.decode()
    assert "Demo inbox of owner" in page and "from-owner" in page
    assert client.get(reverse("demo:inbox"), {"inbox": "../x"}).status_code == 200


def test_migration_moves_slug_keyed_rows_to_their_only_user():
    migration = importlib.import_module("demo.migrations.0002_inbox_per_user")
    bob = UserFactory(username="Bob")
    UserFactory(username="carol")
    UserFactory(username="Carol")
    InboxRequest.objects.create(inbox="bob", method="POST", url="x", body="bobs")
    InboxRequest.objects.create(inbox="carol", method="POST", url="x", body="whose?")
    migration.rekey_by_user_id(apps, None)
    assert InboxRequest.objects.get(body="bobs").inbox == inbox_key(bob)
    # Two users slugify to "carol": nobody can tell whose it was, so it stays staff-only.
    assert InboxRequest.objects.get(body="whose?").inbox == "carol"
