"""Event types declared in code, FastAPI-style.

    from subscriptions.catalog import webhooks

    @webhooks.post("new-subscription", example={...})
    class NewSubscription(serializers.Serializer):
        \"\"\"Sent when a user subscribes.\"\"\"
        username = serializers.CharField()

Each installed app's `webhooks.py` is imported at startup (autodiscover); `sync()` writes the
declarations into EventType rows (source=code) after every migrate, and by the
`sync_event_types` command, so the database is the one catalogue everything else reads.

Publishing checks a code-declared type's payloads against the schema generated from its
serializer (the one the document shows), not through the serializer; so the schema has to
carry what the serializer enforces. drf-spectacular maps lengths, bounds and formats; the
DecimalField mapping below adds the decimal places it leaves out.
"""

from __future__ import annotations

import inspect
import logging
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from django.core.exceptions import ValidationError
from django.db import DatabaseError, transaction
from django.utils.formats import get_format
from django.utils.module_loading import autodiscover_modules
from drf_spectacular.extensions import OpenApiSerializerFieldExtension
from drf_spectacular.plumbing import ComponentRegistry, build_mocked_view
from drf_spectacular.utils import extend_schema
from rest_framework import serializers
from rest_framework.settings import api_settings

from subscriptions.models import EventType, first_line, validate_no_control_characters
from subscriptions.schemas import check_event_example, map_refs

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class DeclaredWebhook:
    name: str
    method: str
    serializer_class: type[serializers.Serializer]
    description: str
    summary: str
    example: Any = None
    version: int = 1
    operational: bool = False
    extra: dict = field(default_factory=dict)


class WebhookRegistry:
    """The code-level catalogue: `.post(name)`, `.put(name)`, `.patch(name)` decorators."""

    def __init__(self) -> None:
        self._declared: dict[str, DeclaredWebhook] = {}

    def _register(
        self, method: str, name: str, *, example=None, summary="", version=1, operational=False
    ):
        def decorator(serializer_class):
            if not (
                inspect.isclass(serializer_class)
                and issubclass(serializer_class, serializers.BaseSerializer)
            ):
                raise TypeError(f"@webhooks.{method.lower()}({name!r}) decorates a DRF serializer.")
            doc = inspect.getdoc(serializer_class) or ""
            existing = self._declared.get(name)
            if existing and existing.serializer_class is not serializer_class:
                raise ValueError(f"Webhook {name!r} is declared twice.")
            summary_text = summary or first_line(doc) or name
            for what, text in (("summary", summary_text), ("docstring", doc)):
                _check_text(f"@webhooks.{method.lower()}({name!r})", what, text)
            self._declared[name] = DeclaredWebhook(
                name=name,
                method=method,
                serializer_class=serializer_class,
                description=doc,
                summary=summary_text,
                example=example,
                version=version,
                operational=operational,
            )
            return serializer_class

        return decorator

    def post(self, name: str, **options):
        return self._register("POST", name, **options)

    def put(self, name: str, **options):
        return self._register("PUT", name, **options)

    def patch(self, name: str, **options):
        return self._register("PATCH", name, **options)

    def get(self, name: str) -> DeclaredWebhook | None:
        return self._declared.get(name)

    def __iter__(self):
        return iter(sorted(self._declared.values(), key=lambda hook: hook.name))

    def __len__(self) -> int:
        return len(self._declared)


webhooks = WebhookRegistry()


def _check_text(declaration: str, what: str, text: str) -> None:
    """The rule the model applies to descriptions, for what code declares (sync writes rows
    without a model form), raised where the declaration is."""
    try:
        validate_no_control_characters(text)
    except ValidationError as error:
        raise ValueError(f"{declaration}: the {what}: {error.messages[0]}") from None


class DecimalFieldSchema(OpenApiSerializerFieldExtension):
    """A DecimalField as its serializer checks it. drf-spectacular documents a number
    decimal without its decimal places (1.234 passed where decimal_places=2 refuses it) and
    a string decimal without max_digits without any pattern; here a number gets
    `multipleOf` and a string the pattern of its digits, in the API and the webhooks alike.
    (A string decimal's min_value / max_value have no JSON Schema form.)"""

    target_class = "rest_framework.fields.DecimalField"
    match_subclasses = True

    def map_serializer_field(self, auto_schema, direction) -> dict:
        field = self.target
        if getattr(field, "coerce_to_string", api_settings.COERCE_DECIMAL_TO_STRING):
            return _string_decimal_schema(field)
        return _number_decimal_schema(field)


def _string_decimal_schema(field: serializers.DecimalField) -> dict:
    schema = {"type": "string", "format": "decimal"}
    places, whole = field.decimal_places, field.max_whole_digits
    if places is None:
        return schema  # max_digits alone counts digits on both sides: no short pattern
    if whole is None:
        digits = r"\d*"
    else:
        digits = r"0?" if whole == 0 else rf"\d{{0,{whole}}}"
    point = get_format("DECIMAL_SEPARATOR") if field.localize else "."
    schema["pattern"] = rf"^-?{digits}(?:\{point}\d{{0,{places}}})?$"
    return schema


def _number_decimal_schema(field: serializers.DecimalField) -> dict:
    schema: dict[str, Any] = {"type": "number", "format": "double"}
    places, whole = field.decimal_places, field.max_whole_digits
    if places is not None:
        schema["multipleOf"] = _json_number(Decimal(1).scaleb(-places))
    limit = None if whole is None else 10**whole
    # The tighter bound on each side: the field's own (inclusive) or the digits' (exclusive).
    if field.max_value is not None and (limit is None or field.max_value < limit):
        schema["maximum"] = _json_number(field.max_value)
    elif limit is not None:
        schema["exclusiveMaximum"] = limit
    if field.min_value is not None and (limit is None or field.min_value > -limit):
        schema["minimum"] = _json_number(field.min_value)
    elif limit is not None:
        schema["exclusiveMinimum"] = -limit
    return schema


def _json_number(value) -> int | float:
    """An int or Decimal bound as JSON writes it: an integer stays one (10, not 10.0)."""
    value = Decimal(value)
    return int(value) if value == value.to_integral_value() else float(value)


def autodiscover() -> None:
    autodiscover_modules("webhooks")


def body_schema_view(serializer_class, registry):
    """A drf-spectacular view whose request body is `serializer_class`: how a serializer
    that no API view uses gets mapped to a schema (and its components into `registry`)."""

    return build_mocked_view(
        method="POST",
        path="/",
        extend_schema_decorator=extend_schema(request=serializer_class),
        registry=registry,
    )


def serializer_json_schema(serializer_class) -> dict:
    """The JSON Schema of a serializer's request body, as drf-spectacular renders it.

    Nested serializers are inlined so the stored schema stands alone (no `$ref`s)."""

    registry = ComponentRegistry()
    view = body_schema_view(serializer_class, registry)
    schema = view.schema._map_serializer(serializer_class, "request")
    components = {name: comp.schema for (name, _), comp in registry._components.items()}
    return _inline_refs(schema, components)


def _inline_refs(node, components: dict):
    prefix = "#/components/schemas/"

    def inline(ref: str, _path: tuple):
        if ref.startswith(prefix):
            return _inline_refs(components[ref[len(prefix) :]], components)
        return ref

    return map_refs(node, inline)


def sync(registry: WebhookRegistry | None = None) -> dict[str, int]:
    """Write code-declared webhooks into EventType rows; archive code rows no longer declared.

    Admin-created rows are never touched. Returns counts for the caller to report."""
    registry = registry or webhooks
    counts = {"created": 0, "updated": 0, "archived": 0}
    with transaction.atomic():
        declared_names = set()
        for hook in registry:
            declared_names.add(hook.name)
            schema = serializer_json_schema(hook.serializer_class)
            _check_example(hook, schema)
            values = {
                "description": hook.description,
                "method": hook.method,
                "schema": schema,
                "example": hook.example,
                "version": hook.version,
                "source": EventType.Source.CODE,
                "archived": False,
                "operational": hook.operational,
            }
            row = EventType.objects.filter(name=hook.name).first()
            if row is None:
                EventType.objects.create(name=hook.name, **values)
                counts["created"] += 1
            elif any(getattr(row, key) != value for key, value in values.items()):
                for key, value in values.items():
                    setattr(row, key, value)
                row.save()
                counts["updated"] += 1
        counts["archived"] = (
            EventType.objects.filter(source=EventType.Source.CODE, archived=False)
            .exclude(name__in=declared_names)
            .update(archived=True)
        )
    return counts


def _check_example(hook: DeclaredWebhook, schema: dict) -> None:
    """A declared example must pass the check its events pass on publish: the document
    shows it to receivers as what they will get."""
    try:
        check_event_example(schema, hook.example)
    except ValidationError as error:
        raise ValueError(f"Webhook {hook.name!r}: {error.messages[0]}") from None


def sync_after_migrate(sender, using="default", **kwargs) -> None:
    try:
        counts = sync()
    except DatabaseError:
        # A partial migrate (e.g. `migrate subscriptions 0001`) may not have the table yet.
        logger.warning("Event types not synced: the database is not migrated yet.")
        return
    if any(counts.values()):
        logger.info("Event types synced from code: %s", counts)
