"""Helpers that walk every URL pattern of the project, for the access and CSRF tests.

New routes are picked up automatically; a route whose URL parameters this module can't fill
fails the walk loudly, so nobody adds a page that escapes the access tests by accident.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from django.apps import apps
from django.urls import NoReverseMatch, URLPattern, URLResolver, get_resolver, reverse
from django.urls.resolvers import RoutePattern

# Namespaces and names left out of the walk, each with the reason.
SKIPPED_NAMESPACES = {
    # Django's admin: staff-only by Django itself, and hundreds of generated routes.
    "admin",
}
SKIPPED_NAMES = {
    # The demo's webhook receiver: public by design (a sender has no session), it stores
    # what is posted to it and owns nothing else.
    "demo:inbox-receive",
}
# Tables whose rows change as a side effect of just making requests.
VOLATILE_TABLES = {"django_session", "axes_accesslog", "axes_accessattempt"}
VOLATILE_COLUMNS = {"subscriptions_apitoken": {"last_used_at"}}


@dataclass(frozen=True)
class Route:
    name: str  # namespaced, e.g. "dashboard:endpoint-detail"
    pattern: str  # the full pattern text, for messages and for guessing parameter kinds
    params: tuple[str, ...]

    def reverse(self, kwargs: dict[str, Any] | None) -> str | None:
        if kwargs is None:
            return None
        try:
            return reverse(self.name, kwargs=kwargs)
        except NoReverseMatch:
            return None

    def owner_segment(self, param: str) -> str:
        """The path segment just before a parameter: `endpoints` in endpoints/<uid>/..."""
        match = re.search(rf"([A-Za-z_-]+)/(?:<(?:[a-z]+:)?{param}>|\(\?P<{param}>)", self.pattern)
        return match.group(1) if match else ""


def _params(pattern) -> list[str]:
    if isinstance(pattern, RoutePattern):
        return list(pattern.converters)
    return list(pattern.regex.groupindex)  # RegexPattern (DRF's router)


def _walk(patterns, prefix: str, namespace: str, params: list[str]):
    for entry in patterns:
        text = prefix + str(entry.pattern)
        found = params + _params(entry.pattern)
        if isinstance(entry, URLResolver):
            inner = namespace
            if entry.namespace:
                inner = f"{namespace}:{entry.namespace}" if namespace else entry.namespace
            if inner.split(":")[0] in SKIPPED_NAMESPACES:
                continue
            yield from _walk(entry.url_patterns, text, inner, found)
        elif isinstance(entry, URLPattern) and entry.name:
            name = f"{namespace}:{entry.name}" if namespace else entry.name
            if name in SKIPPED_NAMES:
                continue
            yield Route(name=name, pattern=text, params=tuple(dict.fromkeys(found)))


def iter_routes() -> list[Route]:
    routes = {route.name: route for route in _walk(get_resolver().url_patterns, "", "", [])}
    return sorted(routes.values(), key=lambda route: route.name)


def fill_kwargs(route: Route, **objects: Any) -> dict[str, Any]:
    """URL parameters for `route` from real objects: `endpoint`, `delivery`, `event_type`,
    `replay_job`. Raises LookupError for a parameter it can't place."""
    values = {
        "endpoints": lambda: objects["endpoint"].uid,
        "deliveries": lambda: objects["delivery"].uid,
        "event-types": lambda: objects["event_type"].name,
        "replays": lambda: objects["replay_job"].uid,
    }
    kwargs = {}
    for param in route.params:
        segment = route.owner_segment(param)
        if segment not in values:
            raise LookupError(f"{route.name} ({route.pattern}): no object for <{param}>")
        try:
            kwargs[param] = values[segment]()
        except KeyError as missing:
            raise LookupError(f"{route.name}: pass {missing} to fill <{param}>") from None
    return kwargs


Snapshot = dict[str, dict[Any, tuple]]


def snapshot_all_tables() -> Snapshot:
    """Every row of every model table (except VOLATILE_TABLES) by primary key, to prove
    nothing changed."""
    snapshot = {}
    for model in apps.get_models(include_auto_created=True):
        table = model._meta.db_table
        if table in VOLATILE_TABLES or model._meta.proxy:
            continue
        columns = [
            field.attname
            for field in model._meta.concrete_fields
            if field.attname not in VOLATILE_COLUMNS.get(table, set())
        ]
        rows = model._default_manager.order_by("pk").values_list(*columns)
        pk_index = columns.index(model._meta.pk.attname)
        snapshot[table] = {row[pk_index]: tuple(map(_comparable, row)) for row in rows}
    return snapshot


def _comparable(value: Any) -> Any:
    return repr(value) if isinstance(value, dict | list) else value


def changed_tables(before: Snapshot, after: Snapshot) -> list[str]:
    return sorted(
        table for table in before.keys() | after.keys() if before.get(table) != after.get(table)
    )


def altered_rows(before: Snapshot, after: Snapshot) -> dict[str, list]:
    """Rows that existed before and were changed or deleted, by table."""
    altered = {}
    for table, rows in before.items():
        now = after.get(table, {})
        keys = [pk for pk, row in rows.items() if now.get(pk) != row]
        if keys:
            altered[table] = keys
    return altered


def added_rows(before: Snapshot, after: Snapshot) -> dict[str, list]:
    added = {}
    for table, rows in after.items():
        keys = [pk for pk in rows if pk not in before.get(table, {})]
        if keys:
            added[table] = keys
    return added
