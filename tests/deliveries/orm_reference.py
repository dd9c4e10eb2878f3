"""The claim, the record and the fan-out written with the ORM, as the hand-written
statements in deliveries.statements must behave: an oracle for the equivalence tests (and a
baseline for the bench). Slower and plainer on purpose; nothing in the product calls it."""

from __future__ import annotations

from collections import Counter
from datetime import datetime

from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from deliveries import engine, policy
from deliveries.models import Attempt, Delivery, Event
from subscriptions import services
from subscriptions.models import Endpoint, EventType

S = Delivery.Status


def claim_due(
    limit: int, busy: dict[int, int], *, cap: int, scan: int, now: datetime, lease: datetime
) -> list[Delivery]:
    """engine.claim_due's rule: of the `scan` oldest due rows of endpoints not already at the
    cap, take the oldest `limit`, at most `cap` per endpoint counting `busy`."""
    saturated = [endpoint for endpoint, used in busy.items() if used >= cap]
    window = list(
        Delivery.objects.filter(status=S.PENDING, next_attempt_at__lte=now)
        .exclude(endpoint_id__in=saturated)
        .order_by("next_attempt_at")
        .values_list("id", "endpoint_id", "next_attempt_at")[:scan]
    )
    placed: Counter[int] = Counter(busy)
    eligible = []
    for pk, endpoint_id, _due_at in sorted(window, key=lambda row: (row[2], row[0])):
        placed[endpoint_id] += 1
        if placed[endpoint_id] <= cap:
            eligible.append(pk)
    picked = eligible[:limit]
    with transaction.atomic():
        won = list(
            Delivery.objects.filter(id__in=picked, status=S.PENDING)
            .select_for_update(skip_locked=True)
            .values_list("id", flat=True)
        )
        Delivery.objects.filter(id__in=won).update(
            status=S.SENDING, claimed_until=lease, updated_at=now
        )
    return list(
        Delivery.objects.filter(id__in=won)
        .select_related("event__event_type", "endpoint")
        .order_by("id")
    )


def record(finished: list[engine.Finished], now: datetime | None = None) -> None:
    """engine.record with bulk_create, bulk_update and the policy's own health updates."""
    now = now or timezone.now()
    attempts, changed = [], []
    succeeded, failed, gone = set(), set(), {}
    for item in finished:
        delivery = item.delivery
        changed.append(delivery)
        delivery.claimed_until = None
        delivery.updated_at = now
        if item.release_until is not None:
            delivery.status, delivery.next_attempt_at = S.PENDING, item.release_until
            continue
        trigger, delivery.trigger = delivery.trigger, Attempt.Trigger.SCHEDULED
        if item.result is None:
            delivery.status, delivery.next_attempt_at = S.CANCELLED, None
            continue
        result, request = item.result, item.request
        number = delivery.attempt_count + 1
        attempts.append(
            Attempt(
                delivery=delivery,
                number=number,
                trigger=trigger,
                started_at=result.started_at,
                finished_at=result.finished_at,
                duration_ms=result.duration_ms,
                request_method=request.method,
                request_url=request.url,
                request_headers=engine.signing.redact(request.headers),
                request_body=request.body.decode(),
                response_status=result.status,
                response_headers=result.headers,
                response_body=result.body,
                error_class=result.error_class,
                error_message=result.error_message,
            )
        )
        outcome = policy.decide(result, number, trigger, now)
        delivery.status, delivery.next_attempt_at = outcome.status, outcome.next_attempt_at
        delivery.attempt_count = number
        delivery.last_attempt_at = result.started_at
        delivery.last_response_status = result.status
        delivery.last_error_class = result.error_class
        if trigger != Attempt.Trigger.TEST:
            (succeeded if result.succeeded else failed).add(delivery.endpoint_id)
            if outcome.disable_reason:
                gone[delivery.endpoint_id] = (delivery.endpoint, outcome.disable_reason)
    with transaction.atomic():
        Attempt.objects.bulk_create(attempts)
        Delivery.objects.bulk_update(
            changed,
            [
                "status",
                "trigger",
                "attempt_count",
                "next_attempt_at",
                "claimed_until",
                "last_attempt_at",
                "last_response_status",
                "last_error_class",
                "updated_at",
            ],
        )
        policy.record_endpoint_health(succeeded, failed, now)
    for endpoint, reason in gone.values():
        services.disable_endpoint(Endpoint.objects.get(pk=endpoint.pk), reason, now=now)


def publish_many(event_type: EventType, payloads: list) -> tuple[list[Event], list[int]]:
    """publishing.publish_many's store (and publish's, for one payload): the events, and one
    delivery per (event, endpoint receiving the type in any state), pending and due now for
    an enabled endpoint, skipped and never due for a paused or system-disabled one. Returns
    the events and the ids to enqueue (the pending deliveries')."""
    now = timezone.now()
    receiving = (
        Endpoint.objects.filter(Q(all_event_types=True) | Q(event_types=event_type))
        .distinct()
        .order_by("id")
    )
    with transaction.atomic():
        events = Event.objects.bulk_create(
            [Event(event_type=event_type, payload=payload) for payload in payloads]
        )
        made = Delivery.objects.bulk_create(
            [
                Delivery(event=event, endpoint=endpoint, status=S.PENDING, next_attempt_at=now)
                if endpoint.state == Endpoint.State.ENABLED
                else Delivery(event=event, endpoint=endpoint, status=S.SKIPPED)
                for event in events
                for endpoint in receiving
            ]
        )
    return events, [delivery.pk for delivery in made if delivery.status == S.PENDING]
