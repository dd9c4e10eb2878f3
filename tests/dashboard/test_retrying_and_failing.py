"""Issue 13, items 7 and 8: a delivery that failed and will retry reads "Retrying" (not
"Pending"), pages reload only while an attempt is due or in flight, staff see "Failing now"
beside "Failed", and the overview's figures and sentences agree."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from deliveries.models import Delivery, ReplayJob
from tests.factories import DeliveryFactory, EndpointFactory, EventTypeFactory
from tests.receivers import Reply

pytestmark = pytest.mark.django_db

REFRESH = 'http-equiv="refresh"'


@pytest.fixture
def slow_retries(settings):
    """Three tries, the second an hour after the first, without jitter: a failed first
    attempt leaves the delivery waiting through a long back-off."""
    settings.HOOKHUB_RETRY_SCHEDULE = [0, 3600, 7200]
    settings.HOOKHUB_RETRY_JITTER = 0


def _detail(client, delivery) -> str:
    response = client.get(reverse("dashboard:delivery-detail", args=[delivery.uid]))
    assert response.status_code == 200
    return response.content.decode()


def test_a_failed_attempt_with_retries_left_reads_retrying_with_attempt_n_of_m_and_next_try(
    owner_client, receiver, make_endpoint, publish_now, slow_retries
):
    receiver.on("/hook", Reply(503, body=b"down for maintenance"))
    endpoint = make_endpoint()
    publish_now("order-paid", {"id": 1})
    assert len(receiver.requests_to("/hook")) == 1
    delivery = Delivery.objects.get(endpoint=endpoint)
    assert delivery.status == Delivery.Status.PENDING and delivery.attempt_count == 1
    assert delivery.is_retrying and delivery.display_status == Delivery.RETRYING
    assert delivery.next_attempt_at > timezone.now() + timedelta(minutes=59)

    body = _detail(owner_client, delivery)
    assert 'class="status status-retrying" id="delivery-status">Retrying</span>' in body
    assert "Attempt 1 of 3 failed: HTTP 503." in body
    assert "Next try in 59" in body  # minutes: the hour's back-off, already begun
    # An hour of back-off: reloading every 2 s would show nothing new.
    assert REFRESH not in body and "Reload this page after that" in body

    log = owner_client.get(reverse("dashboard:delivery-log", args=[endpoint.uid]))
    assert (
        "status-retrying" in log.content.decode() and ">Pending</span>" not in log.content.decode()
    )
    endpoint_page = owner_client.get(endpoint.get_absolute_url()).content.decode()
    assert ">Retrying</span>" in endpoint_page
    endpoint_list = owner_client.get(reverse("dashboard:endpoint-list")).content.decode()
    assert 'class="status status-retrying">retrying</span>' in endpoint_list


def test_a_never_tried_delivery_still_reads_pending(owner_client, owner):
    delivery = DeliveryFactory(endpoint=EndpointFactory(owner=owner), next_attempt_at=None)
    assert not delivery.is_retrying and delivery.display_status_label == "Pending"
    assert ">Pending</span>" in _detail(owner_client, delivery)


@pytest.mark.parametrize(
    ("status", "due_in", "attempts", "reloads"),
    [
        ("pending", -60, 0, True),  # due now, waiting for a worker
        ("pending", 1, 1, True),  # a retry due within HOOKHUB_PENDING_REFRESH
        ("pending", 300, 1, False),  # a retry five minutes away
        ("pending", 300, 0, False),  # a first try pushed back (a rate-limit slot)
        ("sending", None, 1, True),  # in flight
        ("succeeded", None, 1, False),
        ("failed", None, 3, False),
    ],
)
def test_the_delivery_page_reloads_only_while_an_attempt_is_due_or_in_flight(
    owner_client, owner, settings, status, due_in, attempts, reloads
):
    settings.HOOKHUB_PENDING_REFRESH = 2
    due = timezone.now() + timedelta(seconds=due_in) if due_in is not None else None
    delivery = DeliveryFactory(
        endpoint=EndpointFactory(owner=owner),
        status=status,
        next_attempt_at=due,
        attempt_count=attempts,
    )
    assert (REFRESH in _detail(owner_client, delivery)) is reloads


def test_the_log_status_filter_tells_retrying_from_pending(
    owner_client, owner, receiver, make_endpoint, publish_now, slow_retries
):
    receiver.on("/hook", Reply(500))
    endpoint = make_endpoint()
    publish_now("order-paid", {"id": 1})
    retrying = Delivery.objects.get(endpoint=endpoint)
    fresh = DeliveryFactory(endpoint=endpoint, next_attempt_at=timezone.now() + timedelta(hours=1))
    failed = DeliveryFactory(endpoint=endpoint, status=Delivery.Status.FAILED, attempt_count=3)

    def rows(status: str) -> set[int]:
        response = owner_client.get(
            reverse("dashboard:delivery-log", args=[endpoint.uid]), {"status": status}
        )
        assert response.status_code == 200
        return {d.pk for d in response.context["page"].rows}

    assert rows("retrying") == {retrying.pk}
    assert rows("pending") == {fresh.pk}
    assert rows("failed") == {failed.pk}
    assert rows("") == {retrying.pk, fresh.pk, failed.pk}
    # The property and the queryset are one definition.
    assert {d.pk for d in Delivery.objects.all() if d.is_retrying} == set(
        Delivery.objects.failing().values_list("pk", flat=True)
    )


@pytest.fixture
def outage(settings, receiver, publish_now):
    """One delivery out of retries ("Failed") and one failing with a retry left."""
    settings.HOOKHUB_RETRY_JITTER = 0
    receiver.on("/dead", Reply(500))
    receiver.on("/flaky", Reply(503), Reply(200, body=b"back"))
    paid = EventTypeFactory(name="order-paid", example={"id": 1})
    shipped = EventTypeFactory(name="order-shipped", example={"id": 1})
    EndpointFactory(url=receiver.url("/dead"), event_types=[paid])
    EndpointFactory(url=receiver.url("/flaky"), event_types=[shipped])
    settings.HOOKHUB_RETRY_SCHEDULE = [0]
    publish_now("order-paid", {"id": 1})
    settings.HOOKHUB_RETRY_SCHEDULE = [0, 3600]
    publish_now("order-shipped", {"id": 2})
    dead = Delivery.objects.get(endpoint__url=receiver.url("/dead"))
    flaky = Delivery.objects.get(endpoint__url=receiver.url("/flaky"))
    assert dead.status == Delivery.Status.FAILED and flaky.is_retrying
    return {"dead": dead, "flaky": flaky}


def test_staff_see_failing_now_next_to_failed(staff_client, outage, receiver):
    url = reverse("dashboard:review-failures")
    failed = staff_client.get(url)
    assert [d.pk for d in failed.context["page"].rows] == [outage["dead"].pk]
    assert 'id="tab-failing"' in failed.content.decode()

    failing = staff_client.get(url, {"state": "failing"})
    body = failing.content.decode()
    assert failing.status_code == 200
    assert [d.pk for d in failing.context["page"].rows] == [outage["flaky"].pk]
    assert "<h1>Failing now</h1>" in body and "1 of 2" in body and "HTTP 503" in body
    assert 'name="state" value="failing"' in body  # filtering keeps the tab
    assert "Replay all matching" not in body
    # Other filters combine with the tab.
    assert (
        staff_client.get(url, {"state": "failing", "event_type": "order-paid"}).context["page"].rows
        == []
    )

    # "Retry now" from the tab: the receiver is back, so the delivery succeeds at once.
    staff_client.post(reverse("dashboard:delivery-replay", args=[outage["flaky"].uid]))
    outage["flaky"].refresh_from_db()
    assert outage["flaky"].status == Delivery.Status.SUCCEEDED
    first, second = receiver.requests_to("/flaky")
    assert first.headers["webhook-id"] == second.headers["webhook-id"]
    assert staff_client.get(url, {"state": "failing"}).context["page"].rows == []


def test_bulk_replay_refuses_the_failing_tab(staff_client, outage, receiver):
    response = staff_client.post(
        reverse("dashboard:bulk-replay"), {"state": "failing"}, follow=True
    )
    assert response.redirect_chain[-1][0] == reverse("dashboard:review-failures") + "?state=failing"
    assert any("failing ones retry" in str(m) for m in response.context["messages"])
    assert not ReplayJob.objects.exists()
    assert len(receiver.requests_to("/flaky")) == 1


def test_overview_figures_and_sentences_agree_during_a_back_off(
    staff_client, receiver, make_endpoint, publish_now, slow_retries
):
    receiver.on("/hook", Reply(503))
    make_endpoint()
    for n in range(3):
        publish_now("order-paid", {"id": n})
    assert len(receiver.requests) == 3
    response = staff_client.get(reverse("dashboard:review-overview"))
    body = response.content.decode()
    context = response.context
    assert context["queue_depth"] == 3 and context["due_now"] == 0
    assert context["waiting_later"] == 3 and context["retrying"] == 3
    assert context["oldest_due"] is None
    assert '<span id="due-now">0</span> due now' in body
    assert '<span id="waiting-later">3</span> waiting for a later try' in body
    assert "Nothing is due now" in body
    assert "3 deliveries wait for a later try (3 after a failed attempt)" in body
    assert "Nothing is waiting" not in body and "Nothing is pending" not in body
    assert reverse("dashboard:review-failures") + "?state=failing" in body


def test_overview_says_nothing_is_pending_only_when_nothing_is(staff_client, owner):
    empty = staff_client.get(reverse("dashboard:review-overview")).content.decode()
    assert "Nothing is pending: the worker is keeping up." in empty
    due = DeliveryFactory(
        endpoint=EndpointFactory(owner=owner),
        next_attempt_at=timezone.now() - timedelta(minutes=2),
    )
    response = staff_client.get(reverse("dashboard:review-overview"))
    body = response.content.decode()
    assert response.context["due_now"] == 1 and response.context["oldest_due"] == due
    assert "Nothing is" not in body
