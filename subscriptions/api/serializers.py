from __future__ import annotations

from django.core.exceptions import ValidationError as DjangoValidationError
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from subscriptions import services
from subscriptions.headers import validate_headers
from subscriptions.models import Endpoint, EventType
from subscriptions.schemas import check_event_example, check_event_schema, default_schema


@extend_schema_field({"type": ["object", "array", "string", "number", "integer", "boolean"]})
class NullableJSONField(serializers.JSONField):
    """Any JSON value or null. drf-spectacular renders a nullable free-form field under
    OpenAPI 3.1 as `oneOf: [{}, {type: null}]`, which `null` matches twice (so a valid null
    response fails validation); an explicit type list plus "null" says what is meant."""


def _raise_drf(error: DjangoValidationError):
    raise serializers.ValidationError(list(error.messages)) from None


class EventTypeSerializer(serializers.ModelSerializer):
    schema = serializers.JSONField(
        required=False, help_text="JSON Schema (Draft 2020-12) of the event's `data`."
    )
    example = NullableJSONField(
        required=False, allow_null=True, help_text="An example `data` payload."
    )

    class Meta:
        model = EventType
        fields = [
            "name",
            "description",
            "method",
            "schema",
            "example",
            "version",
            "archived",
            "source",
            "created_at",
            "updated_at",
        ]
        read_only_fields = ["source", "version", "created_at", "updated_at"]

    def validate_schema(self, value):
        try:
            check_event_schema(value)
        except DjangoValidationError as error:
            _raise_drf(error)
        return value

    def validate(self, attrs):
        # Checked here too (not only in the service) so the 400 names the field at fault.
        if self.instance is not None:
            try:
                services.check_editable(self.instance)
            except DjangoValidationError as error:
                _raise_drf(error)
        schema = attrs.get("schema", getattr(self.instance, "schema", None))
        example = attrs.get("example", getattr(self.instance, "example", None))
        if "schema" in attrs or "example" in attrs:
            try:
                check_event_example(schema or default_schema(), example)
            except DjangoValidationError as error:
                raise serializers.ValidationError({"example": list(error.messages)}) from None
        return attrs


class HeadersField(serializers.DictField):
    child = serializers.CharField(max_length=1000, allow_blank=True)

    def to_internal_value(self, data):
        headers = super().to_internal_value(data)
        try:
            validate_headers(headers)
        except DjangoValidationError as error:
            _raise_drf(error)
        return headers


class EndpointSerializer(serializers.ModelSerializer):
    id = serializers.UUIDField(source="uid", read_only=True)
    owner = serializers.CharField(source="owner.username", read_only=True)
    event_types = serializers.SlugRelatedField(
        many=True,
        slug_field="name",
        queryset=EventType.objects.filter(archived=False),
        required=False,
        help_text="Names of the event types this endpoint receives.",
    )
    headers = HeadersField(required=False, help_text="Extra headers sent with every delivery.")

    class Meta:
        model = Endpoint
        fields = [
            "id",
            "url",
            "description",
            "event_types",
            "all_event_types",
            "headers",
            "state",
            "disabled_reason",
            "disabled_at",
            "rate_limit",
            "owner",
            "created_at",
            "updated_at",
        ]
        read_only_fields = ["disabled_reason", "disabled_at", "created_at", "updated_at"]

    def validate_state(self, value: str) -> str:
        try:
            services.check_requested_state(value)
        except DjangoValidationError as error:
            _raise_drf(error)
        return value


class EndpointWithSecretSerializer(EndpointSerializer):
    secret = serializers.SerializerMethodField(help_text="The signing secret (`whsec_...`).")

    class Meta(EndpointSerializer.Meta):
        fields = [*EndpointSerializer.Meta.fields, "secret"]

    def get_secret(self, instance) -> str:
        return instance.secret


class SecretSerializer(serializers.Serializer):
    secret = serializers.CharField(read_only=True, help_text="The new signing secret.")
    previous_secret_expires_at = serializers.DateTimeField(
        read_only=True,
        help_text="Until then the old secret also signs, so receivers can switch over.",
    )
