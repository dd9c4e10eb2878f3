"""Publishing HookHub's operational webhooks (declared in deliveries/webhooks.py).

Each event goes through publish() like a provider's, so it is signed, retried and in the
delivery log; only staff endpoints that chose its type receive it. Two rules keep it cheap
and finite:
- nothing is stored when no endpoint receives the type (one EXISTS query), so a HookHub
  without operational endpoints pays nothing but that;
- events about an operational endpoint itself, or about a delivery of an operational event,
  are not published: a failing operational endpoint would otherwise report its own failures
  to itself forever.
Publishing never fails its caller (the engine's record, the sweeper, a state change): an
error is logged and the event is lost, while the state change it describes stands.
"""

from __future__ import annotations

import logging
from datetime import datetime

from django.db import transaction

from deliveries import publishing
from deliveries.models import Delivery, ReplayJob
from subscriptions.models import Endpoint, EventType

logger = logging.getLogger(__name__)

DISABLED = "hookhub-endpoint-disabled"
FAILING = "hookhub-endpoint-failing"
ENABLED = "hookhub-endpoint-enabled"
EXHAUSTED = "hookhub-delivery-exhausted"
REPLAY_FINISHED = "hookhub-replay-finished"


def _receivers_exist(type_name: str) -> bool:
    event_type = EventType.objects.filter(name=type_name, archived=False).first()
    return event_type is not None and Endpoint.objects.receiving(event_type).exists()


def _is_operational_endpoint(endpoint: Endpoint) -> bool:
    return endpoint.event_types.filter(operational=True).exists()


def _emit(type_name: str, items: list[dict]) -> None:
    if not items or not _receivers_exist(type_name):
        return
    try:
        # A savepoint: a refused event must not break the caller's transaction.
        with transaction.atomic():
            publishing.publish_many(type_name, items)
    except Exception:  # noqa: BLE001 - see the module docstring
        logger.exception("Could not publish %s operational event(s) %s", len(items), type_name)


def _endpoint_fields(endpoint: Endpoint) -> dict:
    return {
        "endpoint_id": str(endpoint.uid),
        "url": endpoint.url,
        "owner": endpoint.owner.get_username(),
    }


def endpoint_disabled(sender, *, endpoint: Endpoint, reason: str, at: datetime, **kwargs) -> None:
    if _is_operational_endpoint(endpoint):
        return
    _emit(
        DISABLED, [{**_endpoint_fields(endpoint), "reason": reason, "disabled_at": at.isoformat()}]
    )


def endpoint_enabled(sender, *, endpoint: Endpoint, previous_state: str, actor, **kwargs) -> None:
    if _is_operational_endpoint(endpoint):
        return
    who = actor.get_username() if actor is not None else None
    _emit(
        ENABLED,
        [{**_endpoint_fields(endpoint), "previous_state": previous_state, "enabled_by": who}],
    )


def endpoint_failing(
    endpoint: Endpoint, *, stage: int, last_error: str, disables_at: datetime
) -> None:
    if _is_operational_endpoint(endpoint):
        return
    _emit(
        FAILING,
        [
            {
                **_endpoint_fields(endpoint),
                "failing_since": endpoint.failing_since.isoformat(),
                "stage": stage,
                "last_error": last_error or "unknown",
                "disables_at": disables_at.isoformat(),
            }
        ],
    )


def deliveries_exhausted(deliveries: list[Delivery]) -> None:
    """Deliveries that used up their retries (engine.record calls this after storing them)."""
    about = [d for d in deliveries if not d.event.event_type.operational]
    _emit(
        EXHAUSTED,
        [
            {
                **_endpoint_fields(d.endpoint),
                "delivery_id": str(d.uid),
                "event_id": d.event.uid,
                "event_type": d.event.event_type.name,
                "attempts": d.attempt_count,
                "last_error": d.last_error_label or "unknown",
            }
            for d in about
        ],
    )


def replay_finished(job: ReplayJob) -> None:
    job.refresh_from_db()
    who = job.created_by.get_username() if job.created_by else None
    _emit(
        REPLAY_FINISHED,
        [
            {
                "job_id": str(job.uid),
                "status": job.status,
                "total": job.total,
                "done": job.done,
                "skipped": job.skipped,
                "error": job.error,
                "started_by": who,
            }
        ],
    )
