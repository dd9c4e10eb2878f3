"""Retries, the status-code matrix, dead letters and auto-disable, against a real receiver."""

from __future__ import annotations

import time
from datetime import timedelta

import pytest
from django.core import mail
from django.utils import timezone

from deliveries import engine
from deliveries.models import Attempt, Delivery
from deliveries.policy import retry_after_seconds
from subscriptions.models import AuditEntry, Endpoint
from tests.receivers import Reply

S = Delivery.Status


@pytest.fixture
def fast_schedule(settings) -> list[float]:
    settings.HOOKHUB_RETRY_SCHEDULE = [0, 0.3, 0.6]
    settings.HOOKHUB_RETRY_JITTER = 0.0
    return settings.HOOKHUB_RETRY_SCHEDULE


def deliver_due() -> None:
    """What a worker's dispatcher does when it polls: claim what is due, send, record."""
    engine.deliver_now(engine.claim_due(100))


def run_due_retries(deadline: float = 5.0) -> None:
    """A worker's polling, run here until nothing is pending."""
    end = time.monotonic() + deadline
    while time.monotonic() < end:
        deliver_due()
        if not Delivery.objects.filter(status=S.PENDING).exists():
            return
        time.sleep(0.05)


@pytest.mark.django_db
def test_retries_follow_the_schedule_with_the_same_webhook_id(
    receiver, make_endpoint, publish_now, fast_schedule
):
    receiver.on("/hook", Reply(500), Reply(503), Reply(200))
    make_endpoint()
    event = publish_now("order-paid", {"id": 1})
    run_due_retries()
    assert receiver.wait_for(3)
    got = receiver.requests
    assert {r.headers["webhook-id"] for r in got} == {event.uid}
    gaps = [b.received_at - a.received_at for a, b in zip(got, got[1:], strict=False)]
    # Each retry waits its scheduled delay (less a little for reading the clock), and is
    # late by less than the whole schedule's length.
    for gap, delay in zip(gaps, fast_schedule[1:], strict=True):
        assert 0.8 * delay <= gap < delay + sum(fast_schedule), gaps
    delivery = Delivery.objects.get()
    assert delivery.status == S.SUCCEEDED and delivery.attempt_count == 3
    assert list(delivery.attempts.order_by("number").values_list("response_status", flat=True)) == [
        500,
        503,
        200,
    ]


@pytest.mark.django_db
def test_after_the_last_attempt_the_delivery_is_dead_lettered(
    receiver, make_endpoint, publish_now, fast_schedule
):
    receiver.on("/hook", Reply(500))
    make_endpoint()
    publish_now("order-paid", {"id": 1})
    run_due_retries()
    delivery = Delivery.objects.get()
    assert delivery.status == S.FAILED and delivery.attempt_count == 3
    assert len(receiver.requests) == 3


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("status", "outcome"),
    [
        (200, S.SUCCEEDED),
        (201, S.SUCCEEDED),
        (204, S.SUCCEEDED),
        (299, S.SUCCEEDED),
        (301, S.PENDING),
        (304, S.PENDING),
        (400, S.PENDING),
        (401, S.PENDING),
        (404, S.PENDING),
        (410, S.FAILED),
        (429, S.PENDING),
        (500, S.PENDING),
        (502, S.PENDING),
        (503, S.PENDING),
        (504, S.PENDING),
    ],
)
def test_status_code_matrix(status, outcome, receiver, make_endpoint, publish_now):
    headers = {"Location": "/x"} if 300 <= status < 400 else {}
    receiver.on("/hook", Reply(status, headers=headers, body=b""))
    endpoint = make_endpoint()
    publish_now("order-paid", {"id": 1})
    delivery = Delivery.objects.get()
    assert delivery.status == outcome
    assert delivery.last_response_status == status
    endpoint.refresh_from_db()
    if status == 410:
        assert endpoint.state == Endpoint.State.DISABLED
        assert "410" in endpoint.disabled_reason
    else:
        assert endpoint.state == Endpoint.State.ENABLED
    if outcome == S.PENDING:
        # Second entry of the default schedule: 5 s, +/- 20 %.
        wait = (delivery.next_attempt_at - delivery.last_attempt_at).total_seconds()
        assert 3.9 <= wait <= 6.1


@pytest.mark.django_db
@pytest.mark.parametrize("status", [429, 503])
def test_retry_after_is_honoured_within_bounds(
    status, receiver, make_endpoint, publish_now, settings
):
    settings.HOOKHUB_RETRY_AFTER_MAX = 600
    receiver.on("/hook", Reply(status, headers={"Retry-After": "120"}))
    make_endpoint()
    publish_now("order-paid", {"id": 1})
    delivery = Delivery.objects.get()
    wait = (delivery.next_attempt_at - delivery.last_attempt_at).total_seconds()
    assert 119 <= wait <= 121
    receiver.on("/hook", Reply(status, headers={"Retry-After": "99999"}))
    Delivery.objects.update(next_attempt_at=timezone.now(), status=S.PENDING)
    deliver_due()
    delivery.refresh_from_db()
    wait = (delivery.next_attempt_at - delivery.last_attempt_at).total_seconds()
    assert 599 <= wait <= 601


def test_retry_after_accepts_http_dates_and_ignores_garbage():
    now = timezone.now()
    stamp = (now + timedelta(seconds=30)).strftime("%a, %d %b %Y %H:%M:%S GMT")
    assert 28 <= retry_after_seconds({"Retry-After": stamp}, now) <= 31
    assert retry_after_seconds({"Retry-After": "soon"}, now) is None
    assert retry_after_seconds({}, now) is None


@pytest.mark.django_db
def test_an_endpoint_failing_for_the_whole_window_is_disabled_once_with_email_and_audit(
    receiver, make_endpoint, publish_now, settings
):
    settings.HOOKHUB_DISABLE_AFTER = 3600
    receiver.on("/hook", Reply(500))
    endpoint = make_endpoint()
    publish_now("order-paid", {"id": 1})
    endpoint.refresh_from_db()
    assert endpoint.failing_since is not None and endpoint.state == Endpoint.State.ENABLED
    # The streak started more than the window ago: the next failure disables it.
    Endpoint.objects.filter(pk=endpoint.pk).update(
        failing_since=timezone.now() - timedelta(seconds=3601)
    )
    publish_now("order-paid", {"id": 2})
    endpoint.refresh_from_db()
    assert endpoint.state == Endpoint.State.DISABLED
    assert "without a single success" in endpoint.disabled_reason
    assert len(mail.outbox) == 1 and mail.outbox[0].to == [endpoint.owner.email]
    entry = AuditEntry.objects.get(action="endpoint.disabled_by_system")
    assert entry.actor is None and entry.actor_label == "system"
    # Further deliveries to a disabled endpoint are not sent.
    receiver.clear()
    publish_now("order-paid", {"id": 3})
    assert receiver.requests == [] and len(mail.outbox) == 1


@pytest.mark.django_db
def test_any_success_resets_the_failure_streak(receiver, make_endpoint, publish_now):
    receiver.on("/hook", Reply(500), Reply(200))
    endpoint = make_endpoint()
    publish_now("order-paid", {"id": 1})
    endpoint.refresh_from_db()
    assert endpoint.failing_since is not None
    publish_now("order-paid", {"id": 2})
    endpoint.refresh_from_db()
    assert endpoint.failing_since is None


@pytest.mark.django_db
def test_pending_deliveries_of_a_paused_endpoint_are_cancelled_not_sent(
    receiver, make_endpoint, publish_now, fast_schedule
):
    receiver.on("/hook", Reply(500))
    endpoint = make_endpoint()
    publish_now("order-paid", {"id": 1})
    Endpoint.objects.filter(pk=endpoint.pk).update(state=Endpoint.State.PAUSED)
    run_due_retries()
    assert Delivery.objects.get().status == S.CANCELLED
    assert Attempt.objects.count() == 1 and len(receiver.requests) == 1
