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

    inbox_url = f"{live_server.url.replace('localhost', '127.0.0.1')}/demo/inbox/{owner.pk}/"
    endpoint = Endpoint.objects.create(owner=owner, url=inbox_url, all_event_types=True)
    send_test(endpoint, EventType.objects.get(name="new-subscription"), actor=owner)
    row = InboxRequest.objects.get(inbox=str(owner.pk))
    assert row.signature_valid is True
    assert '"type":"new-subscription"' in row.body.replace(" ", "")
    assert row.headers["webhook-id"].startswith("msg_")


def test_inbox_flags_a_forged_signature_and_keeps_only_the_newest(client, owner, settings):
    settings.HOOKHUB_DEMO_INBOX_KEEP = 2
    url = reverse("demo:inbox-receive", args=[owner.pk])
    Endpoint.objects.create(owner=owner, url=f"http://testserver{url}", all_event_types=True)
    forged = {
        "HTTP_WEBHOOK_ID": "msg_x",
        "HTTP_WEBHOOK_TIMESTAMP": "1700000000",
        "HTTP_WEBHOOK_SIGNATURE": "v1,AAAA",
    }
    for n in range(3):
        client.post(url, data=f'{{"n": {n}}}', content_type="application/json", **forged)
    rows = list(InboxRequest.objects.filter(inbox=str(owner.pk)))
    assert [row.body for row in rows] == ['{"n": 2}', '{"n": 1}']
    assert all(row.signature_valid is False for row in rows)


def test_inbox_page_shows_your_inbox_url_and_requests(owner_client, owner):
    InboxRequest.objects.create(inbox=str(owner.pk), method="POST", url="x", body='{"hello": 1}')
    InboxRequest.objects.create(inbox="someone-else", method="POST", url="x", body="not-yours")
    body = owner_client.get(reverse("demo:inbox")).content.decode()
    assert f"/demo/inbox/{owner.pk}/" in body and "hello" in body and "not-yours" not in body


def test_inbox_keeps_no_credentials_and_only_the_start_of_each_signature(client, owner):
    url = reverse("demo:inbox-receive", args=[owner.pk])
    client.post(
        url,
        data="{}",
        content_type="application/json",
        HTTP_AUTHORIZATION="Bearer sk_live_secret",
        HTTP_COOKIE="sessionid=abc123",
        HTTP_X_API_KEY="key-123",
        HTTP_X_TEAM="billing",
        HTTP_WEBHOOK_SIGNATURE="v1,K5oZfzN95Z9UVu1EsfQmfVNQhnkZ2pj9o9NDN/H/pI4= v1,second0000",
    )
    row = InboxRequest.objects.get()
    assert "authorization" not in row.headers and "cookie" not in row.headers
    assert "x-api-key" not in row.headers and row.headers["x-team"] == "billing"
    assert row.headers["webhook-signature"] == "v1,K5oZf… v1,secon…"
    assert "sk_live_secret" not in str(row.headers) and "abc123" not in str(row.headers)


def test_a_signature_counts_only_from_the_inbox_owners_own_endpoint(live_server, owner, outsider):
    from deliveries.actions import send_test
    from subscriptions.models import EventType

    base = live_server.url.replace("localhost", "127.0.0.1")
    # The outsider points an endpoint of theirs at owner's inbox: validly signed by the
    # outsider's secret, but that proves nothing about owner's endpoints.
    foreign = Endpoint.objects.create(
        owner=outsider, url=f"{base}/demo/inbox/{owner.pk}/", all_event_types=True
    )
    send_test(foreign, EventType.objects.get(name="new-subscription"), actor=outsider)
    row = InboxRequest.objects.get(inbox=str(owner.pk))
    assert row.signature_valid is None  # owner has no endpoint there
    Endpoint.objects.create(owner=owner, url=foreign.url, all_event_types=True)
    send_test(foreign, EventType.objects.get(name="new-subscription"), actor=outsider)
    newest = InboxRequest.objects.filter(inbox=str(owner.pk)).order_by("-id").first()
    assert newest.signature_valid is False  # owner's endpoint has another secret
