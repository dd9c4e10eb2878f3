"""The endpoint page's "Send the N events missed while paused": the count, the POST that sends
exactly those with their original webhook-ids, and skipped deliveries in the delivery log but
in no health figure or failure list."""

from __future__ import annotations

import pytest
from django.urls import reverse

from deliveries.models import Delivery
from deliveries.stats import endpoint_health
from subscriptions.models import AuditEntry, Endpoint
from tests.factories import DeliveryFactory

pytestmark = pytest.mark.django_db
S = Delivery.Status


def messages_of(response) -> list[str]:
    return [str(message) for message in response.context["messages"]]


@pytest.fixture
def paused_with_missed(make_endpoint, publish_now, owner_client):
    """An endpoint paused from the dashboard, then three events published."""
    endpoint = make_endpoint()
    owner_client.post(reverse("dashboard:endpoint-pause", args=[endpoint.uid]))
    events = [publish_now("order-paid", {"id": n}) for n in range(3)]
    return endpoint, events


def test_a_paused_endpoint_page_says_what_is_kept_and_offers_no_send_button(
    paused_with_missed, owner_client, receiver
):
    endpoint, _ = paused_with_missed
    body = owner_client.get(endpoint.get_absolute_url()).content.decode()
    assert "3 events published while this endpoint was paused or disabled are kept" in body
    assert "Resume it to send them." in body
    assert reverse("dashboard:send-missed", args=[endpoint.uid]) not in body
    assert receiver.requests == []


def test_after_resuming_the_page_offers_them_and_the_post_sends_exactly_those(
    paused_with_missed, owner_client, owner, receiver
):
    endpoint, events = paused_with_missed
    response = owner_client.post(
        reverse("dashboard:endpoint-resume", args=[endpoint.uid]), follow=True
    )
    assert "3 missed events can be sent below." in " ".join(messages_of(response))
    body = response.content.decode()
    url = reverse("dashboard:send-missed", args=[endpoint.uid])
    assert f'action="{url}"' in body
    assert "Send the 3 events missed while paused" in body
    assert receiver.requests == []  # resuming alone sends nothing

    response = owner_client.post(url)

    assert response.status_code == 302 and response["Location"] == endpoint.get_absolute_url()
    assert receiver.wait_for(3)
    assert sorted(r.headers["webhook-id"] for r in receiver.requests) == sorted(
        e.uid for e in events
    )
    assert set(Delivery.objects.values_list("status", flat=True)) == {S.SUCCEEDED}
    entry = AuditEntry.objects.get(action="endpoint.missed_sent")
    assert entry.actor == owner and entry.details == {"count": 3}
    page = owner_client.get(endpoint.get_absolute_url())
    assert "Sending the 3 missed events" in " ".join(messages_of(page))
    assert url not in page.content.decode()  # nothing left to offer


def test_one_missed_event_reads_in_the_singular(make_endpoint, publish_now, owner_client):
    endpoint = make_endpoint(state=Endpoint.State.PAUSED)
    publish_now("order-paid", {"id": 1})
    Endpoint.objects.filter(pk=endpoint.pk).update(state=Endpoint.State.ENABLED)
    body = owner_client.get(endpoint.get_absolute_url()).content.decode()
    assert "Send the 1 event missed while paused" in body
    assert "1 event published while this endpoint was paused or disabled was kept" in body


def test_sending_while_still_paused_is_refused_with_a_message(
    paused_with_missed, owner_client, receiver
):
    endpoint, _ = paused_with_missed
    response = owner_client.post(reverse("dashboard:send-missed", args=[endpoint.uid]), follow=True)
    assert any(m.startswith("Not sent:") for m in messages_of(response))
    assert Delivery.objects.filter(status=S.SKIPPED).count() == 3
    assert receiver.requests == []


def test_nothing_missed_says_so(make_endpoint, owner_client):
    endpoint = make_endpoint()
    response = owner_client.post(reverse("dashboard:send-missed", args=[endpoint.uid]), follow=True)
    assert messages_of(response) == ["There are no missed events to send."]
    assert not AuditEntry.objects.filter(action="endpoint.missed_sent").exists()


def test_others_cannot_send_an_endpoints_missed_events(
    paused_with_missed, client, outsider, receiver
):
    endpoint, _ = paused_with_missed
    Endpoint.objects.filter(pk=endpoint.pk).update(state=Endpoint.State.ENABLED)
    url = reverse("dashboard:send-missed", args=[endpoint.uid])
    client.force_login(outsider)
    assert client.post(url).status_code == 404
    assert client.get(url).status_code == 405
    assert Delivery.objects.filter(status=S.SKIPPED).count() == 3 and receiver.requests == []


def test_the_delivery_log_lists_skipped_deliveries_and_filters_on_them(
    make_endpoint, publish_now, owner_client
):
    endpoint = make_endpoint()
    sent = publish_now("order-paid", {"id": 1})
    Endpoint.objects.filter(pk=endpoint.pk).update(state=Endpoint.State.PAUSED)
    kept = publish_now("order-paid", {"id": 2})
    log = reverse("dashboard:delivery-log", args=[endpoint.uid])

    everything = owner_client.get(log).content.decode()
    assert '<option value="skipped">Skipped (endpoint paused)</option>' in everything
    assert "status-skipped" in everything and sent.uid in everything and kept.uid in everything
    only = owner_client.get(log, {"status": "skipped"}).content.decode()
    assert kept.uid in only and sent.uid not in only

    detail = owner_client.get(Delivery.objects.get(event=kept).get_absolute_url())
    assert 'id="skipped-notice"' in detail.content.decode()


def test_skipped_deliveries_are_in_no_success_rate(
    make_endpoint, publish_now, owner_client, receiver
):
    endpoint = make_endpoint()
    publish_now("order-paid", {"id": 1})
    assert receiver.wait_for(1)
    Endpoint.objects.filter(pk=endpoint.pk).update(state=Endpoint.State.PAUSED)
    for n in range(3):
        publish_now("order-paid", {"id": n})

    health = endpoint_health([endpoint])[endpoint.pk]
    assert (health["rate"], health["attempts"]) == (1.0, 1)
    body = owner_client.get(reverse("dashboard:endpoint-list")).content.decode()
    assert '<span class="rate">100%</span> <span class="muted small">of 1</span>' in body


def test_the_failure_review_lists_no_skipped_delivery(staff_client, make_endpoint):
    endpoint = make_endpoint(state=Endpoint.State.PAUSED)
    skipped = DeliveryFactory(endpoint=endpoint, status=S.SKIPPED)
    failed = DeliveryFactory(endpoint=endpoint, status=S.FAILED, attempt_count=8)
    pages = {
        state: staff_client.get(reverse("dashboard:review-failures"), {"state": state})
        for state in ("failed", "failing")
    }
    assert all(str(skipped.uid) not in page.content.decode() for page in pages.values())
    assert str(failed.uid) in pages["failed"].content.decode()
