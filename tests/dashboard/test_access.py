"""Who may reach which dashboard URL. The URLs come from the resolver itself, so a page added
later is tested too, and one nobody classified fails this test until someone does."""

from __future__ import annotations

import pytest
from django.urls import URLPattern, URLResolver, get_resolver, reverse

from deliveries.models import ReplayJob
from subscriptions.models import Endpoint
from tests.factories import DeliveryFactory, EndpointFactory, EventTypeFactory

pytestmark = pytest.mark.django_db

DASHBOARD_NAMESPACES = {"dashboard", "demo"}

# Every dashboard URL name -> who may use it.
#   owner: the signed-in owner of the object in the URL (others 404, staff allowed)
#   user:  any signed-in user (sees only their own data)
#   staff: staff only (signed-in others 403)
#   public: no sign-in, on purpose (reason in the comment)
ACCESS = {
    "dashboard:endpoint-list": "user",
    "dashboard:endpoint-create": "user",
    "dashboard:endpoint-detail": "owner",
    "dashboard:endpoint-edit": "owner",
    "dashboard:endpoint-delete": "owner",
    "dashboard:secret-reveal": "owner",
    "dashboard:headers-reveal": "owner",
    "dashboard:secret-rotate": "owner",
    "dashboard:webhooks": "user",
    # Typed receiver code: the catalogue, in code, for anyone signed in.
    "dashboard:webhook-code": "user",
    "dashboard:catalogue-models": "user",
    "dashboard:catalogue-types": "user",
    "dashboard:event-type-list": "staff",
    "dashboard:event-type-create": "staff",
    "dashboard:event-type-edit": "staff",
    "dashboard:event-type-archive": "staff",
    "dashboard:audit-log": "staff",
    "dashboard:endpoint-pause": "owner",
    "dashboard:endpoint-resume": "owner",
    "dashboard:send-test": "owner",
    "dashboard:delivery-log": "owner",
    "dashboard:send-missed": "owner",
    "dashboard:recover": "owner",
    "dashboard:recover-job": "owner",
    "dashboard:delivery-detail": "owner",
    "dashboard:delivery-replay": "owner",
    "dashboard:review-overview": "staff",
    "dashboard:review-failures": "staff",
    "dashboard:bulk-replay": "staff",
    "dashboard:replay-job": "staff",
    "dashboard:endpoint-enable": "staff",
    "demo:inbox": "user",
    # A webhook receiver: senders have no session. It only stores what it is sent.
    "demo:inbox-receive": "public",
}


def dashboard_patterns(resolver=None, namespace=""):
    resolver = resolver or get_resolver()
    for entry in resolver.url_patterns:
        if isinstance(entry, URLResolver):
            inner = entry.namespace or namespace
            if inner in DASHBOARD_NAMESPACES or entry.namespace is None:
                yield from dashboard_patterns(entry, inner)
        elif isinstance(entry, URLPattern) and namespace in DASHBOARD_NAMESPACES:
            yield f"{namespace}:{entry.name}", entry


@pytest.fixture
def world(owner, staff):
    event_type = EventTypeFactory(name="order-paid")
    endpoint = EndpointFactory(owner=owner, event_types=[event_type])
    delivery = DeliveryFactory(endpoint=endpoint)
    job = ReplayJob.objects.create(created_by=owner)  # staff see every job, owners their own
    return {"endpoint": endpoint, "delivery": delivery, "job": job, "event_type": event_type}


def url_for(name: str, pattern: URLPattern, world) -> str:
    route = str(pattern.pattern)
    kwargs = {}
    if "<uuid:uid>" in route:
        if route.startswith("deliveries/"):
            kwargs["uid"] = world["delivery"].uid
        elif route.startswith(("review/replays/", "replays/")):
            kwargs["uid"] = world["job"].uid
        else:
            kwargs["uid"] = world["endpoint"].uid
    if "<slug:name>" in route:
        kwargs["name"] = world["event_type"].name
    if "<slug:inbox>" in route:
        kwargs["inbox"] = "owner"
    return reverse(name, kwargs=kwargs)


def test_every_dashboard_url_is_classified():
    found = {name for name, _ in dashboard_patterns()}
    assert len(found) >= 20
    unclassified = found - set(ACCESS)
    assert not unclassified, f"Add these URLs to ACCESS with who may use them: {unclassified}"
    assert not set(ACCESS) - found, "ACCESS lists URLs that no longer exist"


def test_anonymous_users_are_sent_to_the_login_page(client, world):
    for name, pattern in dashboard_patterns():
        if ACCESS[name] == "public":
            continue
        url = url_for(name, pattern, world)
        for method in (client.get, client.post):
            response = method(url)
            assert response.status_code == 302, (name, method)
            assert response.url.startswith(reverse("login") + "?next="), name


def test_outsiders_get_404_for_owned_objects_and_403_for_staff_pages(client, outsider, world):
    client.force_login(outsider)
    before = Endpoint.objects.values_list("state", "secret_encrypted", "url").get()
    for name, pattern in dashboard_patterns():
        url = url_for(name, pattern, world)
        kind = ACCESS[name]
        get, post = client.get(url), client.post(url)
        if kind == "owner":
            assert get.status_code in (404, 405), name
            assert post.status_code == 404, name
        elif kind == "staff":
            assert get.status_code == 403, name
            assert post.status_code == 403, name
    # Nothing an outsider POSTed changed the owner's endpoint.
    assert Endpoint.objects.values_list("state", "secret_encrypted", "url").get() == before


def test_owners_reach_their_pages_and_are_refused_staff_pages(owner_client, world):
    for name, pattern in dashboard_patterns():
        kind = ACCESS[name]
        if kind == "public":
            continue
        response = owner_client.get(url_for(name, pattern, world))
        expected = (403,) if kind == "staff" else (200, 405)
        assert response.status_code in expected, (name, response.status_code)


def test_staff_reach_every_page(client, staff, world):
    client.force_login(staff)
    for name, pattern in dashboard_patterns():
        if ACCESS[name] == "public":
            continue
        response = client.get(url_for(name, pattern, world))
        assert response.status_code in (200, 405), (name, response.status_code)


def test_public_inbox_accepts_posts_only(client):
    url = reverse("demo:inbox-receive", args=["anyone"])
    assert client.get(url).status_code == 405
    assert client.post(url, data=b"{}", content_type="application/json").status_code == 200
