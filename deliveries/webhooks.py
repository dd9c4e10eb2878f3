"""HookHub's own events, for the provider's operators (operational webhooks, as Svix has).

They are event types like any other, declared here and listed in the OpenAPI `webhooks`
section under the "operational" tag, but marked `operational`: only endpoints owned by staff
that chose them receive them (never a subscriber's, never through "all event types"), since
they describe every tenant's endpoints. deliveries/operational.py publishes them through
HookHub's own pipeline, so they are signed, retried and logged like every delivery.
"""

from rest_framework import serializers

from subscriptions.catalog import webhooks

ENDPOINT = {
    "endpoint_id": "5f0b7c8e-3a51-4f0e-9d0c-6c2f1b8a9e10",
    "url": "https://receiver.example.com/hooks",
    "owner": "alice",
}


class EndpointEvent(serializers.Serializer):
    endpoint_id = serializers.UUIDField(help_text="The endpoint's id (as in the API).")
    url = serializers.URLField(help_text="Where the endpoint's deliveries go.")
    owner = serializers.CharField(help_text="The username of the endpoint's owner.")


@webhooks.post(
    "hookhub-endpoint-disabled",
    operational=True,
    example={
        **ENDPOINT,
        "reason": "The receiver answered 410 Gone.",
        "disabled_at": "2026-12-04T10:00:00Z",
    },
)
class EndpointDisabled(EndpointEvent):
    """HookHub disabled an endpoint (410 Gone, or failing for HOOKHUB_DISABLE_AFTER).

    Its events are kept as skipped deliveries until it is enabled again."""

    reason = serializers.CharField()
    disabled_at = serializers.DateTimeField()


@webhooks.post(
    "hookhub-endpoint-failing",
    operational=True,
    example={
        **ENDPOINT,
        "failing_since": "2026-12-03T10:00:00Z",
        "stage": 1,
        "last_error": "HTTP 503",
        "disables_at": "2026-12-08T10:00:00Z",
    },
)
class EndpointFailing(EndpointEvent):
    """An endpoint has failed without a break for a HOOKHUB_WARN_AFTER stage.

    Sent with the owner's warning email, once per stage per failure streak."""

    failing_since = serializers.DateTimeField()
    stage = serializers.IntegerField(min_value=1, help_text="Which warning this is (1, 2, ...).")
    last_error = serializers.CharField()
    disables_at = serializers.DateTimeField(
        help_text="When HookHub disables it, unless one succeeds."
    )


@webhooks.post(
    "hookhub-endpoint-enabled",
    operational=True,
    example={**ENDPOINT, "previous_state": "disabled", "enabled_by": "alice"},
)
class EndpointEnabled(EndpointEvent):
    """A paused or disabled endpoint was enabled again."""

    previous_state = serializers.ChoiceField(choices=["paused", "disabled"])
    enabled_by = serializers.CharField(allow_null=True, help_text="Who enabled it.")


@webhooks.post(
    "hookhub-delivery-exhausted",
    operational=True,
    example={
        **ENDPOINT,
        "delivery_id": "0d9c1f0e-7a2b-4c3d-8e9f-1a2b3c4d5e6f",
        "event_id": "msg_2KWPBgLlAfxdpx2AI54pPJ85f4W",
        "event_type": "new-subscription",
        "attempts": 8,
        "last_error": "HTTP 500",
    },
)
class DeliveryExhausted(EndpointEvent):
    """A delivery used up its retries and is now failed (replayable)."""

    delivery_id = serializers.UUIDField()
    event_id = serializers.CharField(help_text="The event's webhook-id.")
    event_type = serializers.CharField()
    attempts = serializers.IntegerField(min_value=1)
    last_error = serializers.CharField()


@webhooks.post(
    "hookhub-replay-finished",
    operational=True,
    example={
        "job_id": "9a8b7c6d-5e4f-4a3b-9c2d-1e0f9a8b7c6d",
        "status": "finished",
        "total": 120,
        "done": 118,
        "skipped": 2,
        "error": "",
        "started_by": "staffer",
    },
)
class ReplayFinished(serializers.Serializer):
    """A bulk replay job ended (finished, or failed with why)."""

    job_id = serializers.UUIDField()
    status = serializers.ChoiceField(choices=["finished", "failed"])
    total = serializers.IntegerField(min_value=0)
    done = serializers.IntegerField(min_value=0)
    skipped = serializers.IntegerField(min_value=0)
    error = serializers.CharField(allow_blank=True)
    started_by = serializers.CharField(allow_null=True)
