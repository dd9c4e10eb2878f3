"""Retention: old attempts, and old finished events with their deliveries, are pruned in
batches; anything still sending or recent is kept; a daily Schedule runs it."""

from __future__ import annotations

import io
from datetime import timedelta

import pytest
from django.core.management import call_command
from django.test import override_settings
from django.utils import timezone
from django_q.models import Schedule
from django_q.tasks import async_task

from deliveries import retention
from deliveries.models import Attempt, Delivery, Event
from tests.factories import DeliveryFactory, EndpointFactory, EventFactory, EventTypeFactory

pytestmark = pytest.mark.django_db

DAYS = 30


def aged_delivery(endpoint, event_type, *, age_days: float, status: str, attempts: int = 1):
    event = EventFactory(event_type=event_type)
    when = timezone.now() - timedelta(days=age_days)
    Event.objects.filter(pk=event.pk).update(created_at=when)
    delivery = DeliveryFactory(event=event, endpoint=endpoint, status=status)
    for number in range(1, attempts + 1):
        Attempt.objects.create(
            delivery=delivery,
            number=number,
            started_at=when,
            finished_at=when,
            duration_ms=3,
            request_url=endpoint.url,
            request_body="{}",
            response_status=500,
        )
    return delivery


@pytest.fixture
def history(owner):
    event_type = EventTypeFactory(name="order-paid")
    endpoint = EndpointFactory(owner=owner)
    old = [
        aged_delivery(endpoint, event_type, age_days=DAYS + 5, status=status, attempts=2)
        for status in ("succeeded", "failed", "cancelled") * 3
    ]
    still_retrying = aged_delivery(endpoint, event_type, age_days=DAYS + 5, status="pending")
    sending = aged_delivery(endpoint, event_type, age_days=DAYS + 1, status="sending")
    recent = aged_delivery(endpoint, event_type, age_days=DAYS - 1, status="failed")
    return {"old": old, "kept": [still_retrying, sending, recent]}


def prune_command(*args: str) -> str:
    out = io.StringIO()
    call_command("prune_deliveries", *args, stdout=out)
    return out.getvalue()


@override_settings(HOOKHUB_ATTEMPT_RETENTION_DAYS=DAYS, HOOKHUB_PRUNE_BATCH_SIZE=2)
def test_prune_deletes_old_finished_history_in_batches_and_keeps_the_rest(history):
    counts = (Event.objects.count(), Delivery.objects.count(), Attempt.objects.count())
    assert "Would delete 20 attempts, 9 deliveries and 9 events older than 30 days." in (
        prune_command("--dry-run")
    )
    assert (Event.objects.count(), Delivery.objects.count(), Attempt.objects.count()) == counts

    output = prune_command()
    assert "Deleted 20 attempts, 9 deliveries and 9 events older than 30 days." in output
    kept = history["kept"]
    assert set(Delivery.objects.values_list("pk", flat=True)) == {d.pk for d in kept}
    assert set(Event.objects.values_list("pk", flat=True)) == {d.event_id for d in kept}
    # Attempts past the period go even where the delivery is kept; the recent one stays.
    assert list(Attempt.objects.values_list("delivery_id", flat=True)) == [kept[2].pk]

    assert "Deleted 0 attempts, 0 deliveries and 0 events" in prune_command()


@override_settings(HOOKHUB_ATTEMPT_RETENTION_DAYS=DAYS)
def test_days_option_overrides_the_setting(history):
    assert "Deleted 0 attempts, 0 deliveries and 0 events older than 60 days." in (
        prune_command("--days", "60")
    )
    assert Delivery.objects.count() == 12


def test_migrate_creates_one_daily_prune_schedule_and_keeps_it_on_rerun():
    schedule = Schedule.objects.get(name=retention.SCHEDULE_NAME)
    assert schedule.func == "deliveries.retention.scheduled_prune"
    assert schedule.schedule_type == Schedule.DAILY
    assert schedule.repeats == -1
    next_run = schedule.next_run
    retention.ensure_schedule()
    retention.ensure_schedule()
    assert Schedule.objects.filter(name=retention.SCHEDULE_NAME).count() == 1
    assert Schedule.objects.get(name=retention.SCHEDULE_NAME).next_run == next_run


def test_next_daily_run_is_the_next_configured_hour_in_utc():
    now = timezone.now().replace(hour=4, minute=0, second=0, microsecond=0)
    with override_settings(HOOKHUB_PRUNE_HOUR_UTC=3):
        run = retention.next_daily_run(now)
    assert run.utcoffset() == timedelta(0)
    assert (run.hour, run - now) == (3, timedelta(hours=23))


@override_settings(HOOKHUB_ATTEMPT_RETENTION_DAYS=DAYS)
def test_the_scheduled_task_prunes_when_django_q_runs_it(history):
    schedule = Schedule.objects.get(name=retention.SCHEDULE_NAME)
    async_task(schedule.func)  # runs inline under the test settings (sync)
    assert Event.objects.count() == 3
