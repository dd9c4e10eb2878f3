from __future__ import annotations

from django.conf import settings
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from deliveries.models import Attempt, Delivery
from subscriptions.api.serializers import AnyJSONField
from subscriptions.models import EventType


class EventIngestSerializer(serializers.Serializer):
    type = serializers.SlugField(max_length=100, help_text="An event type's name.")
    data = AnyJSONField(help_text="The payload; must match the type's schema.")
    idempotency_key = serializers.CharField(
        max_length=200,
        required=False,
        allow_null=True,
        help_text="Send the same key again (e.g. on a timeout) and no second event is made.",
    )


class EventAcceptedSerializer(serializers.Serializer):
    id = serializers.CharField(help_text="The event id (`msg_...`), sent as `webhook-id`.")
    deliveries = serializers.IntegerField(help_text="How many endpoints will receive it.")


class EventBatchItemSerializer(serializers.Serializer):
    data = AnyJSONField(help_text="The payload; must match the type's schema.")
    idempotency_key = serializers.CharField(
        max_length=200,
        required=False,
        allow_null=True,
        help_text="As on `POST /api/v1/events/` (same keys): a key you already used returns "
        "the first event and makes nothing new.",
    )


class EventBatchSerializer(serializers.Serializer):
    type = serializers.SlugField(max_length=100, help_text="The event type of every item.")
    # A ListField, not many=True: an item's errors are keyed by its index
    # (`{"events": {"3": {"data": [...]}}}`), as publish_many's are in the view.
    events = serializers.ListField(
        child=EventBatchItemSerializer(),
        help_text="The events, published in this order; at most `HOOKHUB_PUBLISH_BATCH_MAX` "
        "(default 1000).",
    )


class EventBatchAcceptedSerializer(serializers.Serializer):
    events = EventAcceptedSerializer(many=True, help_text="One entry per item, in input order.")


class AttemptSerializer(serializers.ModelSerializer):
    class Meta:
        model = Attempt
        fields = [
            "number",
            "trigger",
            "started_at",
            "finished_at",
            "duration_ms",
            "request_method",
            "request_url",
            "request_headers",
            "request_body",
            "response_status",
            "response_headers",
            "response_body",
            "error_class",
            "error_message",
        ]
        read_only_fields = fields


class DeliverySerializer(serializers.ModelSerializer):
    id = serializers.UUIDField(source="uid", read_only=True)
    event_id = serializers.CharField(source="event.uid", read_only=True)
    event_type = serializers.CharField(source="event.event_type.name", read_only=True)
    endpoint = serializers.UUIDField(source="endpoint.uid", read_only=True)

    class Meta:
        model = Delivery
        fields = [
            "id",
            "event_id",
            "event_type",
            "endpoint",
            "status",
            "attempt_count",
            "next_attempt_at",
            "last_attempt_at",
            "last_response_status",
            "last_error_class",
            "created_at",
            "updated_at",
        ]
        read_only_fields = fields


class DeliveryDetailSerializer(DeliverySerializer):
    payload = serializers.JSONField(source="event.payload", read_only=True)
    attempts = serializers.SerializerMethodField()

    class Meta(DeliverySerializer.Meta):
        fields = [*DeliverySerializer.Meta.fields, "payload", "attempts"]
        read_only_fields = fields

    @extend_schema_field(AttemptSerializer(many=True))
    def get_attempts(self, delivery) -> list[dict]:
        # Newest attempts are the interesting ones; the cap keeps a pathological retry
        # history from making a multi-megabyte response.
        limit = settings.HOOKHUB_API_ATTEMPTS_LIMIT
        attempts = list(delivery.attempts.order_by("-number")[:limit])
        return AttemptSerializer(reversed(attempts), many=True).data


class DeliveryFilterSerializer(serializers.Serializer):
    status = serializers.ChoiceField(choices=Delivery.Status.choices, required=False)
    endpoint = serializers.UUIDField(required=False, help_text="An endpoint's id.")
    event_type = serializers.SlugField(required=False, help_text="An event type's name.")


class TestEventSerializer(serializers.Serializer):
    event_type = serializers.SlugRelatedField(
        slug_field="name",
        queryset=EventType.objects.filter(archived=False),
        help_text="Which event type to send; its example is the payload unless `data` is given.",
    )
    data = AnyJSONField(required=False, help_text="Payload; default: the example.")


class SendMissedSerializer(serializers.Serializer):
    since = serializers.DateTimeField(
        required=False,
        help_text="Only the events published from this time on; default: every one missed.",
    )


class SendMissedResultSerializer(serializers.Serializer):
    sent = serializers.IntegerField(
        help_text="How many missed deliveries were made due now (0 when there were none)."
    )
