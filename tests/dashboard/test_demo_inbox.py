"""The demo's built-in inbox: a receiver inside the app, so `make run` needs nothing else."""

from __future__ import annotations

import pytest
from django.core.management import call_command
from django.urls import reverse

from demo.models import InboxRequest
from subscriptions.models import Endpoint

pytestmark = pytest.mark.django_db


def test_load_demo_points_alice_at_her_inbox_once():
    call_command("load_demo", stdout=open("/dev/null", "w"))  # noqa: SIM115
    call_command("load_demo", stdout=open("/dev/null", "w"))  # noqa: SIM115
    endpoint = Endpoint.objects.get(owner__username="alice")
    assert endpoint.url == f"http://127.0.0.1:8000/demo/inbox/{endpoint.owner_id}/"
    assert endpoint.all_event_types


def test_inbox_stores_a_signed_delivery_and_checks_its_signature(live_server, owner):
    from deliveries.actions import send_test
    from subscriptions.models import EventType

    inbox_url = f"{live_server.url.replace('localhost', '127.0.0.1')}/demo/inbox/owner/"
    endpoint = Endpoint.objects.create(owner=owner, url=inbox_url, all_event_types=True)
    send_test(endpoint, EventType.objects.get(name="new-subscription"), actor=owner)
    row = InboxRequest.objects.get(inbox="owner")
    assert row.signature_valid is True
    assert '"type":"new-subscription"' in row.body.replace(" ", "")
    assert row.headers["webhook-id"].startswith("msg_")


def test_inbox_flags_a_forged_signature_and_keeps_only_the_newest(client, owner, settings):
    settings.HOOKHUB_DEMO_INBOX_KEEP = 2
    url = reverse("demo:inbox-receive", args=["owner"])
    Endpoint.objects.create(owner=owner, url=f"http://testserver{url}", all_event_types=True)
    forged = {
        "HTTP_WEBHOOK_ID": "msg_x",
        "HTTP_WEBHOOK_TIMESTAMP": "1700000000",
        "HTTP_WEBHOOK_SIGNATURE": "v1,AAAA",
    }
    for n in range(3):
        client.post(url, data=f'{{"n": {n}}}', content_type="application/json", **forged)
    rows = list(InboxRequest.objects.filter(inbox="owner"))
    assert [row.body for row in rows] == ['{"n": 2}', '{"n": 1}']
    assert all(row.signature_valid is False for row in rows)


def test_inbox_page_shows_your_inbox_url_and_requests(owner_client, owner):
    InboxRequest.objects.create(inbox=str(owner.pk), method="POST", url="x", body='{"hello": 1}')
    InboxRequest.objects.create(inbox="someone-else", method="POST", url="x", body="not-yours")
    body = owner_client.get(reverse("demo:inbox")).content.decode()
    assert f"/demo/inbox/{owner.pk}/" in body and "hello" in body and "not-yours" not in body
