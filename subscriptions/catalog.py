"""Event types declared in code, FastAPI-style.

    from subscriptions.catalog import webhooks

    @webhooks.post("new-subscription", example={...})
    class NewSubscription(serializers.Serializer):
        \"\"\"Sent when a user subscribes.\"\"\"
        username = serializers.CharField()

Each installed app's `webhooks.py` is imported at startup (autodiscover); `sync()` writes the
declarations into EventType rows (source=code) after every migrate, and by the
`sync_event_types` command, so the database is the one catalogue everything else reads.
"""

from __future__ import annotations

import inspect
import logging
from dataclasses import dataclass, field
from typing import Any

from django.db import DatabaseError, transaction
from django.utils.module_loading import autodiscover_modules
from drf_spectacular.plumbing import ComponentRegistry, build_mocked_view
from drf_spectacular.utils import extend_schema
from rest_framework import serializers

from subscriptions.models import EventType, first_line
from subscriptions.schemas import map_refs

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
    extra: dict = field(default_factory=dict)


class WebhookRegistry:
    """The code-level catalogue: `.post(name)`, `.put(name)`, `.patch(name)` decorators."""

    def __init__(self) -> None:
        self._declared: dict[str, DeclaredWebhook] = {}

    def _register(self, method: str, name: str, *, example=None, summary="", version=1):
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
            self._declared[name] = DeclaredWebhook(
                name=name,
                method=method,
                serializer_class=serializer_class,
                description=doc,
                summary=summary or first_line(doc) or name,
                example=example,
                version=version,
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
            values = {
                "description": hook.description,
                "method": hook.method,
                "schema": serializer_json_schema(hook.serializer_class),
                "example": hook.example,
                "version": hook.version,
                "source": EventType.Source.CODE,
                "archived": False,
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


def sync_after_migrate(sender, using="default", **kwargs) -> None:
    try:
        counts = sync()
    except DatabaseError:
        # A partial migrate (e.g. `migrate subscriptions 0001`) may not have the table yet.
        logger.warning("Event types not synced: the database is not migrated yet.")
        return
    if any(counts.values()):
        logger.info("Event types synced from code: %s", counts)
