"""Tenant isolation: every URL pattern (pages and API), every method, four kinds of client.

The URL parameters are filled with the owner's real objects; another subscriber (by
session and by API token) and an anonymous client must be refused (401/403/404/405 or a
redirect to sign in), must change no row in any table, and must never see the owner's
objects in any list. The owner and staff are the control group: they reach the same URLs,
which proves the parameters point at real objects.
"""

from __future__ import annotations

import json

import pytest
from django.test import Client

from subscriptions.models import ApiToken, AuditEntry, Endpoint
from tests.factories import (
    EndpointFactory,
)
from tests.security.urlwalk import (
    added_rows,
    altered_rows,
    fill_kwargs,
    iter_routes,
    snapshot_all_tables,
)

pytestmark = pytest.mark.django_db

METHODS = ("get", "post", "put", "patch", "delete")
REFUSED = {401, 403, 404, 405}
# What an attacker would send: were any check missing, rows would change.
ATTACK = {
    "url": "https://attacker.example.com/steal",
    "description": "taken over",
    "event_types": [],
    "state": "paused",
    "type": "ignored",
    "data": {},
}
# Anyone signed in may read the event catalogue; only its edit routes are protected.
CATALOGUE_READS = {"api:event-type-detail", "api:event-type-code", "dashboard:webhook-code"}


def session_client(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def token_client(user) -> Client:
    _, key = ApiToken.issue(user, name="walk")
    return Client(HTTP_AUTHORIZATION=f"Bearer {key}")


def send(client: Client, method: str, url: str):
    if method == "get":
        return client.get(url)
    if url.startswith("/api/"):
        return getattr(client, method)(
            url, data=json.dumps(ATTACK), content_type="application/json"
        )
    if method == "post":
        return client.post(url, data=ATTACK)
    return getattr(client, method)(url)


def is_login_redirect(response) -> bool:
    return response.status_code == 302 and "/accounts/login/" in response["Location"]


def own_creations_removed(added: dict[str, list], user) -> dict[str, list]:
    """New rows minus those a subscriber may create for themselves: their own endpoints (and
    the audit entries saying so). Anything else (events, deliveries, attempts, replay jobs,
    another user's rows) is a breach."""
    own = {
        Endpoint._meta.db_table: lambda pks: Endpoint.objects.filter(pk__in=pks, owner=user),
        Endpoint.event_types.through._meta.db_table: lambda pks: (
            Endpoint.event_types.through.objects.filter(pk__in=pks, endpoint__owner=user)
        ),
        AuditEntry._meta.db_table: lambda pks: AuditEntry.objects.filter(pk__in=pks, actor=user),
    }
    foreign = {}
    for table, pks in added.items():
        allowed = set()
        if user is not None and table in own:
            allowed = set(own[table](pks).values_list("pk", flat=True))
        rest = [pk for pk in pks if pk not in allowed]
        if rest:
            foreign[table] = rest
    return foreign


def walk_order(routes):
    # Signing out would end the session for the rest of the walk: last.
    return sorted(routes, key=lambda route: route.name in {"logout", "login"})


def test_outsiders_are_refused_everywhere_change_nothing_and_see_no_owner_data(world, outsider):
    routes = walk_order(iter_routes())
    assert len(routes) > 30, "the walk should cover every page and API route"
    objects, markers = world["objects"], world["markers"]
    clients = {
        "anonymous": Client(),
        "other subscriber (session)": session_client(outsider),
        "other subscriber (token)": token_client(outsider),
    }
    baseline = snapshot_all_tables()
    problems = []
    for label, client in clients.items():
        for route in routes:
            url = route.reverse(fill_kwargs(route, **objects))
            assert url, f"could not build a URL for {route.name}"
            probes = [url]
            if not route.params:
                probes.append(f"{url}?endpoint={objects['endpoint'].uid}&inbox=owner")
            for method in METHODS:
                for probe in probes if method == "get" else [url]:
                    response = send(client, method, probe)
                    status = response.status_code
                    body = response.content.decode(errors="replace")
                    where = f"{label} {method.upper()} {probe} -> {status}"
                    if route.params and route.name not in CATALOGUE_READS:
                        if status not in REFUSED and not is_login_redirect(response):
                            problems.append(f"not refused: {where}")
                    elif route.params and method != "get":
                        if status not in REFUSED and not is_login_redirect(response):
                            problems.append(f"catalogue changed by non-staff: {where}")
                    # A probe's own query string may be echoed back (links, forms): not a leak.
                    leaked = [m for m in markers if m in body and m not in probe]
                    if leaked:
                        problems.append(f"owner data {leaked} visible: {where}")
            after = snapshot_all_tables()
            altered = altered_rows(baseline, after)
            if altered:
                problems.append(f"rows changed by {label} on {route.name}: {altered}")
            added = added_rows(baseline, after)
            foreign = own_creations_removed(added, user=None if label == "anonymous" else outsider)
            if foreign:
                problems.append(f"rows added by {label} on {route.name}: {foreign}")
            baseline = after
    assert problems == []


def test_owner_and_staff_reach_the_same_urls(world, owner, staff):
    """The control group: the walk's URLs are real, so the refusals above mean something."""
    objects = world["objects"]
    owner_client, staff_client = session_client(owner), session_client(staff)
    owner_token = token_client(owner)
    checked = 0
    for route in iter_routes():
        if not route.params:
            continue
        url = route.reverse(fill_kwargs(route, **objects))
        staff_status = staff_client.get(url).status_code
        assert staff_status in (200, 405), f"staff GET {url} -> {staff_status}"
        if "review/" in route.pattern:
            assert owner_client.get(url).status_code in REFUSED | {302}, url
            continue
        client = owner_token if url.startswith("/api/") else owner_client
        owner_status = client.get(url).status_code
        assert owner_status in (200, 405), f"owner GET {url} -> {owner_status}"
        checked += 1
    assert checked >= 10


def test_lists_show_each_subscriber_only_their_own_endpoints(world, owner, outsider):
    other = EndpointFactory(owner=outsider, url="https://outsider-second.example.com/x")
    for client, mine, theirs in (
        (session_client(outsider), other.url, world["objects"]["endpoint"].url),
        (session_client(owner), world["objects"]["endpoint"].url, other.url),
    ):
        page = client.get("/endpoints/").content.decode()
        assert mine in page and theirs not in page
    api = token_client(outsider).get("/api/v1/endpoints/")
    assert api.status_code == 200
    urls = {item["url"] for item in api.json()["results"]}
    assert other.url in urls
    assert world["objects"]["endpoint"].url not in urls
