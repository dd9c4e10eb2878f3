from __future__ import annotations

import re
from datetime import timedelta

from django.conf import settings
from django.core.exceptions import ValidationError as DjangoValidationError
from drf_spectacular.extensions import OpenApiSerializerExtension, OpenApiSerializerFieldExtension
from drf_spectacular.plumbing import ResolvedComponent
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from subscriptions import services
from subscriptions.headers import (
    HEADER_NAME,
    HEADER_VALUE,
    MASK,
    clean_secret_names,
    keep_masked,
    validate_headers,
)
from subscriptions.models import (
    CONTROL_CHARACTERS,
    SECRET_EXPIRY_CHOICES,
    Endpoint,
    EventType,
)
from subscriptions.retries import validate_retry_for
from subscriptions.schemas import check_event_example, check_event_schema, default_schema


@extend_schema_field({"type": ["object", "array", "string", "number", "integer", "boolean"]})
class AnyJSONField(serializers.JSONField):
    """Any JSON value but null, which a JSONField without allow_null refuses: documented
    with every type but "null", where drf-spectacular's `{}` would allow null too."""


class NullableJSONField(AnyJSONField):
    """Any JSON value or null. drf-spectacular renders a nullable free-form field under
    OpenAPI 3.1 as `oneOf: [{}, {type: null}]`, which `null` matches twice (so a valid null
    response fails validation); the type list (plus the "null" allow_null adds) says what
    is meant."""


@extend_schema_field({"type": "object"})
class JSONObjectField(serializers.JSONField):
    """A JSON object (the validators say which); documented as one, where a bare JSONField
    would promise any JSON value."""


def _raise_drf(error: DjangoValidationError):
    raise serializers.ValidationError(list(error.messages)) from None


def model_rule(validator):
    """A model field's validator (a Django ValidationError) as a DRF field validator."""

    def check(value):
        try:
            validator(value)
        except DjangoValidationError as error:
            _raise_drf(error)

    return check


class EventTypeSerializer(serializers.ModelSerializer):
    schema = JSONObjectField(
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


class EventTypeSchema(OpenApiSerializerExtension):
    """The model refuses control characters in a description (they would break the YAML
    document); the pattern says so. Escaped, so the document holds none itself."""

    target_class = EventTypeSerializer

    def map_serializer(self, auto_schema, direction):
        # self.target, not the class: a PATCH's partial serializer documents nothing required.
        schema = auto_schema._map_serializer(self.target, direction, bypass_extensions=True)
        refused = CONTROL_CHARACTERS.pattern.encode("unicode_escape").decode("ascii")
        schema["properties"]["description"]["pattern"] = f"^{refused.replace('[', '[^', 1)}*$"
        return schema


class HeadersField(serializers.DictField):
    """Read: every header, secret values (subscriptions.headers.is_secret) masked. Write: the
    whole set (a name left out is removed); a masked value, or null, keeps the value stored
    under that name, so a client sends back what it read without knowing the secrets."""

    child = serializers.CharField(
        max_length=settings.HOOKHUB_MAX_HEADER_VALUE_LENGTH, allow_blank=True, allow_null=True
    )

    def get_attribute(self, instance):
        return instance.masked_headers

    def to_internal_value(self, data):
        headers = super().to_internal_value(data)
        endpoint = getattr(self.parent, "instance", None)
        try:
            headers = keep_masked(headers, endpoint.headers if endpoint is not None else {})
            validate_headers(headers)
        except DjangoValidationError as error:
            _raise_drf(error)
        return headers


class HeadersFieldSchema(OpenApiSerializerFieldExtension):
    """A request's headers as subscriptions.headers checks them: token names, printable
    values (or the mask, or null), the limits read from settings when the document is made.
    Responses stay plain: rows stored before a rule changed may not match today's rules.
    Reserved names and "keep the stored value" depend on more than the shape: described."""

    target_class = HeadersField

    def map_serializer_field(self, auto_schema, direction):
        schema = auto_schema._map_serializer_field(self.target, direction, bypass_extensions=True)
        if direction != "request":
            return schema
        schema["maxProperties"] = int(settings.HOOKHUB_MAX_CUSTOM_HEADERS)
        schema["propertyNames"] = {
            "pattern": f"^{HEADER_NAME.pattern}$",
            "maxLength": int(settings.HOOKHUB_MAX_HEADER_NAME_LENGTH),
        }
        values = schema["additionalProperties"]
        values["pattern"] = f"^(?:{re.escape(MASK)}|{HEADER_VALUE.pattern})$"
        values["maxLength"] = min(
            values["maxLength"], int(settings.HOOKHUB_MAX_HEADER_VALUE_LENGTH)
        )
        return schema


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
    headers = HeadersField(
        required=False,
        help_text="Extra headers sent with every delivery, as {name: value}. Secret values "
        "(Authorization, Proxy-Authorization, Cookie, names ending in -token, -key, -secret, "
        f"-password…, and `secret_header_names`) read as `{MASK}`. Writing replaces the whole "
        f"set: a name left out is removed, and a value of `{MASK}` or null keeps the value "
        "stored under that name (a PATCH without `headers` changes none).",
    )
    secret_header_names = serializers.ListField(
        child=serializers.CharField(max_length=200),
        required=False,
        help_text="More header names whose values are secret (masked here and in the "
        "delivery log). Credential-like names are always secret and are not listed.",
    )
    retry_for = serializers.IntegerField(
        min_value=0,
        max_value=settings.HOOKHUB_MAX_RETRY_FOR,  # documented; the model's rule decides
        validators=[model_rule(validate_retry_for)],
        allow_null=True,
        required=False,
        help_text="Seconds HookHub keeps retrying a failed delivery to this endpoint (null: "
        "the default schedule; 0: no retries). `retry_schedule` shows the result.",
    )
    retry_schedule = serializers.SerializerMethodField(
        help_text="The effective schedule: seconds to wait before each try, the first try "
        "included (test events are never retried).",
    )

    class Meta:
        model = Endpoint
        fields = [
            "id",
            "url",
            "description",
            "event_types",
            "all_event_types",
            "headers",
            "secret_header_names",
            "state",
            "disabled_reason",
            "disabled_at",
            "rate_limit",
            "retry_for",
            "retry_schedule",
            "owner",
            "created_at",
            "updated_at",
        ]
        read_only_fields = ["disabled_reason", "disabled_at", "created_at", "updated_at"]

    def get_retry_schedule(self, endpoint: Endpoint) -> list[float]:
        return endpoint.retry_schedule

    def validate_secret_header_names(self, value: list[str]) -> list[str]:
        try:
            return clean_secret_names(value)
        except DjangoValidationError as error:
            _raise_drf(error)

    def validate_state(self, value: str) -> str:
        try:
            services.check_requested_state(value)
        except DjangoValidationError as error:
            _raise_drf(error)
        return value


def requestable_states() -> list[str]:
    """The states a request may set, asked of the service's rule so the document and the
    server cannot drift apart."""
    allowed = []
    for state in Endpoint.State.values:
        try:
            services.check_requested_state(state)
        except DjangoValidationError:
            continue
        allowed.append(state)
    return allowed


class EndpointSchema(OpenApiSerializerExtension):
    """Requests and responses of an endpoint get components of their own: a response's
    `state` may be `disabled` (HookHub disables failing endpoints), a request's may not, so
    the request names `RequestedStateEnum` and leaves out the read-only fields."""

    target_class = EndpointSerializer
    match_subclasses = True

    def get_name(self, auto_schema, direction):
        if direction != "request":
            return None
        name = auto_schema.get_serializer_name(self.target, direction)
        return name.removesuffix("Serializer") + "Request"

    def map_serializer(self, auto_schema, direction):
        # self.target, not the class: a PATCH's partial serializer documents nothing required.
        schema = auto_schema._map_serializer(self.target, direction, bypass_extensions=True)
        if direction != "request":
            return schema
        properties = schema["properties"]
        for name in [name for name, field in properties.items() if field.get("readOnly")]:
            del properties[name]
        if "required" in schema:
            schema["required"] = [name for name in schema["required"] if name in properties]
        if "state" in properties:
            properties["state"] = _requested_state_component(auto_schema).ref
        return schema


def _requested_state_component(auto_schema) -> ResolvedComponent:
    states = requestable_states()
    component = ResolvedComponent(
        name="RequestedStateEnum",
        type=ResolvedComponent.SCHEMA,
        object="RequestedStateEnum",
        schema={
            "type": "string",
            "enum": states,
            "description": "The states a request may set: "
            + ", ".join(f"`{state}`" for state in states)
            + ". Only HookHub disables an endpoint (after continuous failures).",
        },
    )
    auto_schema.registry.register_on_missing(component)
    return component


class EndpointWithSecretSerializer(EndpointSerializer):
    secret = serializers.SerializerMethodField(help_text="The signing secret (`whsec_...`).")

    class Meta(EndpointSerializer.Meta):
        fields = [*EndpointSerializer.Meta.fields, "secret"]

    def get_secret(self, instance) -> str:
        return instance.secret


@extend_schema_field(
    {
        "oneOf": [
            {"type": "integer", "minimum": 0},
            {"type": "string", "enum": list(SECRET_EXPIRY_CHOICES)},
        ]
    }
)
class SecretExpiryField(serializers.Field):
    """Seconds (an integer, 0 for now) or one of the dashboard's choices ("now", "1h", "24h",
    "7d"), as a timedelta; at most HOOKHUB_SECRET_ROTATION_MAX_GRACE."""

    default_error_messages = {
        "invalid": "Give seconds (0 or more) or one of: {choices}.",
        "too_long": "At most {longest} seconds ({days:g} days).",
    }

    def to_internal_value(self, data) -> timedelta:
        choices = ", ".join(SECRET_EXPIRY_CHOICES)
        if isinstance(data, str) and data in SECRET_EXPIRY_CHOICES:
            seconds = SECRET_EXPIRY_CHOICES[data][0]
        elif isinstance(data, int) and not isinstance(data, bool) and data >= 0:
            seconds = data
        elif isinstance(data, str) and data.isascii() and data.isdigit():  # a form post
            seconds = int(data)
        else:
            self.fail("invalid", choices=choices)
        longest = int(settings.HOOKHUB_SECRET_ROTATION_MAX_GRACE)
        if seconds > longest:
            self.fail("too_long", longest=longest, days=longest / 86400)
        return timedelta(seconds=seconds)

    def to_representation(self, value: timedelta) -> int:
        return int(value.total_seconds())


class RotateSecretSerializer(serializers.Serializer):
    previous_expires_in = SecretExpiryField(
        required=False,
        help_text="How long the current secret keeps signing after it is replaced: seconds "
        "(0: it stops at once) or `now`, `1h`, `24h`, `7d`. Default "
        "`HOOKHUB_SECRET_ROTATION_GRACE` (24 h).",
    )


class PreviousSecretSerializer(serializers.Serializer):
    expires_at = serializers.DateTimeField(
        read_only=True, help_text="When this old secret stops signing."
    )


class SecretSerializer(serializers.Serializer):
    secret = serializers.CharField(read_only=True, help_text="The new signing secret.")
    previous_secret_expires_at = serializers.DateTimeField(
        read_only=True,
        help_text="Until then the secret just replaced also signs, so receivers can switch "
        "over (now, if it was told to stop at once).",
    )
    previous_secrets = PreviousSecretSerializer(
        many=True,
        read_only=True,
        help_text="Every old secret that still signs, newest first, with its expiry; the "
        "secrets themselves are never returned.",
    )
