"""Request limits (hookhub/throttling.py): each one is reached, and the next request is a 429
with Retry-After and the API's JSON error, refused before anything is stored or sent. Rates
are the HOOKHUB_THROTTLE_* settings, read per request, so each test sets the one it tests."""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest
from django.core.cache import caches
from django.test import Client
from django.urls import reverse
from rest_framework.test import APIClient

from deliveries.models import Delivery, Event
from subscriptions.models import ApiToken, Endpoint
from tests.factories import EndpointFactory, EventTypeFactory

pytestmark = pytest.mark.django_db

ROOT = Path(__file__).resolve().parents[2]
THROTTLE_CACHE = "throttle-tests"
LOCMEM = "django.core.cache.backends.locmem.LocMemCache"
REDIS = "django.core.cache.backends.redis.RedisCache"
ATTACKER = "203.0.113.66"
NEIGHBOUR = "198.51.100.7"


@pytest.fixture(autouse=True)
def fresh_counters(settings):
    """Every test counts from zero, in a cache of its own: never the Redis a PostgreSQL run
    shares with the task queue, which clearing would empty."""
    settings.CACHES = {**settings.CACHES, THROTTLE_CACHE: {"BACKEND": LOCMEM, "LOCATION": "t"}}
    settings.HOOKHUB_THROTTLE_CACHE = THROTTLE_CACHE
    caches[THROTTLE_CACHE].clear()
    yield
    caches[THROTTLE_CACHE].clear()


def token_client(user) -> APIClient:
    _, key = ApiToken.issue(user, name="tests")
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {key}")
    return client


def bad_token_client() -> APIClient:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION="Bearer hh_not-a-real-token")
    return client


def assert_throttled(response, *, within: int) -> None:
    """A 429 in the API's error format, telling the client how long to wait."""
    assert response.status_code == 429, response.content[:300]
    assert 1 <= int(response["Retry-After"]) <= within
    body = response.json()
    assert body["code"] == "throttled", body
    assert "Expected available in" in body["detail"]


def api_test_send(client: APIClient, endpoint: Endpoint):
    return client.post(
        f"/api/v1/endpoints/{endpoint.uid}/test/", {"event_type": "order-paid"}, format="json"
    )


def dashboard_test_send(client: Client, endpoint: Endpoint):
    return client.post(
        reverse("dashboard:send-test", args=[endpoint.uid]), {"event_type": "order-paid"}
    )


# --- Test sends: the API route and the dashboard button, one counter ------------------------


def test_the_eleventh_test_send_is_429_and_creates_no_delivery_and_sends_nothing(
    settings, owner, make_endpoint, receiver
):
    settings.HOOKHUB_THROTTLE_TEST_SEND = "10/min"
    endpoint = make_endpoint()
    api = token_client(owner)
    for number in range(1, 11):
        assert api_test_send(api, endpoint).status_code == 202, f"test send {number}"
    assert receiver.wait_for(10)

    assert_throttled(api_test_send(api, endpoint), within=60)
    time.sleep(0.2)  # a send would be inline; give a stray one time to arrive anyway
    assert Delivery.objects.filter(endpoint=endpoint).count() == 10
    assert len(receiver.requests) == 10


def test_the_dashboard_button_and_the_api_count_against_one_test_send_limit(
    settings, owner, owner_client, make_endpoint, receiver
):
    settings.HOOKHUB_THROTTLE_TEST_SEND = "4/min"
    endpoint = make_endpoint()
    api = token_client(owner)
    assert api_test_send(api, endpoint).status_code == 202
    assert dashboard_test_send(owner_client, endpoint).status_code == 302
    assert api_test_send(api, endpoint).status_code == 202
    assert dashboard_test_send(owner_client, endpoint).status_code == 302
    assert receiver.wait_for(4)

    page = dashboard_test_send(owner_client, endpoint)
    assert page.status_code == 429
    assert 1 <= int(page["Retry-After"]) <= 60
    assert "Test not sent: too many test events" in page.content.decode()
    assert_throttled(api_test_send(api, endpoint), within=60)
    time.sleep(0.2)
    assert Delivery.objects.filter(endpoint=endpoint).count() == 4
    assert len(receiver.requests) == 4


def test_a_refused_dashboard_test_send_keeps_the_payload_typed_in(
    settings, owner, owner_client, make_endpoint
):
    settings.HOOKHUB_THROTTLE_TEST_SEND = "1/min"
    endpoint = make_endpoint()
    assert api_test_send(token_client(owner), endpoint).status_code == 202
    page = owner_client.post(
        reverse("dashboard:send-test", args=[endpoint.uid]),
        {"event_type": "order-paid", "payload": '{"id": 31337}'},
    )
    assert page.status_code == 429
    assert "31337" in page.content.decode()
    assert Delivery.objects.filter(endpoint=endpoint).count() == 1


def test_one_users_test_send_limit_leaves_another_user_alone(
    settings, owner, outsider, make_endpoint, receiver
):
    settings.HOOKHUB_THROTTLE_TEST_SEND = "2/min"
    mine = make_endpoint("/mine")
    theirs = make_endpoint("/theirs", owner=outsider)
    api = token_client(owner)
    for _ in range(2):
        assert api_test_send(api, mine).status_code == 202
    assert_throttled(api_test_send(api, mine), within=60)

    assert api_test_send(token_client(outsider), theirs).status_code == 202
    assert receiver.wait_for(1, path="/theirs")


# --- The general limits ---------------------------------------------------------------------


def test_a_users_requests_are_limited_across_their_tokens_and_others_are_not(
    settings, owner, outsider
):
    settings.HOOKHUB_THROTTLE_USER = "5/min"
    first, second = token_client(owner), token_client(owner)
    for client in (first, second, first, second, first):
        assert client.get("/api/v1/endpoints/").status_code == 200
    assert_throttled(second.get("/api/v1/endpoints/"), within=60)
    assert_throttled(first.get("/api/v1/event-types/"), within=60)

    assert token_client(outsider).get("/api/v1/endpoints/").status_code == 200


def test_requests_without_credentials_are_limited_per_address(settings):
    settings.HOOKHUB_THROTTLE_ANON = "2/min"
    client = APIClient()
    for _ in range(2):
        assert (
            client.get("/api/schema/", {"format": "json"}, REMOTE_ADDR=ATTACKER).status_code == 200
        )
    refused = client.get("/api/schema/", {"format": "json"}, REMOTE_ADDR=ATTACKER)
    assert_throttled(refused, within=60)

    neighbour = client.get("/api/schema/", {"format": "json"}, REMOTE_ADDR=NEIGHBOUR)
    assert neighbour.status_code == 200


def test_a_changed_rate_applies_to_the_next_request(settings, owner):
    api = token_client(owner)
    settings.HOOKHUB_THROTTLE_USER = "1/min"
    assert api.get("/api/v1/endpoints/").status_code == 200
    assert api.get("/api/v1/endpoints/").status_code == 429
    settings.HOOKHUB_THROTTLE_USER = "off"
    assert api.get("/api/v1/endpoints/").status_code == 200


# --- Endpoint creation and publishing -------------------------------------------------------


def test_endpoint_creation_has_its_own_stricter_limit(settings, owner, event_type):
    settings.HOOKHUB_THROTTLE_ENDPOINT_CREATE = "2/hour"
    api = token_client(owner)
    for number in range(2):
        created = api.post(
            "/api/v1/endpoints/",
            {"url": f"https://receiver.example.com/{number}", "event_types": ["order-paid"]},
            format="json",
        )
        assert created.status_code == 201, created.content
    refused = api.post(
        "/api/v1/endpoints/",
        {"url": "https://receiver.example.com/2", "event_types": ["order-paid"]},
        format="json",
    )
    assert_throttled(refused, within=3600)
    assert int(refused["Retry-After"]) > 60  # the hour's window, not a minute's
    assert Endpoint.objects.filter(owner=owner).count() == 2
    # Only creation is limited: reading and changing endpoints go on.
    assert api.get("/api/v1/endpoints/").status_code == 200


def test_publishing_is_limited_by_its_own_budget_single_and_batch_together(
    settings, staff, owner, make_endpoint
):
    settings.HOOKHUB_THROTTLE_PUBLISH = "3/min"
    make_endpoint()
    api = token_client(staff)
    assert (
        api.post(
            "/api/v1/events/", {"type": "order-paid", "data": {"id": 1}}, format="json"
        ).status_code
        == 202
    )
    batch = {"type": "order-paid", "events": [{"data": {"id": 2}}, {"data": {"id": 3}}]}
    assert api.post("/api/v1/events/batch/", batch, format="json").status_code == 202
    assert (
        api.post(
            "/api/v1/events/", {"type": "order-paid", "data": {"id": 4}}, format="json"
        ).status_code
        == 202
    )

    assert_throttled(
        api.post("/api/v1/events/", {"type": "order-paid", "data": {"id": 5}}, format="json"),
        within=60,
    )
    assert_throttled(api.post("/api/v1/events/batch/", batch, format="json"), within=60)
    assert Event.objects.count() == 4


def test_publishing_is_not_held_to_the_general_per_user_limit(settings, staff, event_type):
    settings.HOOKHUB_THROTTLE_USER = "2/min"
    settings.HOOKHUB_THROTTLE_PUBLISH = "50/min"
    api = token_client(staff)
    for number in range(10):
        published = api.post(
            "/api/v1/events/", {"type": "order-paid", "data": {"id": number}}, format="json"
        )
        assert published.status_code == 202, f"publish {number}: {published.content[:200]}"
    assert Event.objects.count() == 10


# --- Failed API tokens, per address ---------------------------------------------------------


def test_bad_tokens_from_one_address_are_refused_after_the_limit_and_another_address_is_not(
    settings, owner
):
    settings.HOOKHUB_THROTTLE_BAD_TOKENS = "3/min"
    guesser = bad_token_client()
    for _ in range(3):
        assert guesser.get("/api/v1/endpoints/", REMOTE_ADDR=ATTACKER).status_code == 401
    assert_throttled(guesser.get("/api/v1/endpoints/", REMOTE_ADDR=ATTACKER), within=60)

    # Any token from that address waits out the window (hookhub.throttling says why)...
    good = token_client(owner)
    assert_throttled(good.get("/api/v1/endpoints/", REMOTE_ADDR=ATTACKER), within=60)
    # ...another address is not affected, for good tokens or bad...
    assert good.get("/api/v1/endpoints/", REMOTE_ADDR=NEIGHBOUR).status_code == 200
    assert guesser.get("/api/v1/endpoints/", REMOTE_ADDR=NEIGHBOUR).status_code == 401
    # ...and a signed-in dashboard session from the same address still works.
    session = Client()
    session.force_login(owner)
    assert session.get("/api/v1/endpoints/", REMOTE_ADDR=ATTACKER).status_code == 200


def test_a_malformed_authorization_header_counts_as_a_failed_attempt(settings):
    settings.HOOKHUB_THROTTLE_BAD_TOKENS = "2/min"
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION="Bearer two parts")
    for _ in range(2):
        assert client.get("/api/v1/endpoints/", REMOTE_ADDR=ATTACKER).status_code == 401
    assert_throttled(client.get("/api/v1/endpoints/", REMOTE_ADDR=ATTACKER), within=60)


def test_a_forged_x_forwarded_for_does_not_escape_the_bad_token_limit(settings):
    settings.HOOKHUB_THROTTLE_BAD_TOKENS = "2/min"
    guesser = bad_token_client()
    for number in range(2):
        forged = f"192.0.2.{number}"
        response = guesser.get(
            "/api/v1/endpoints/", REMOTE_ADDR=ATTACKER, HTTP_X_FORWARDED_FOR=forged
        )
        assert response.status_code == 401
    refused = guesser.get(
        "/api/v1/endpoints/", REMOTE_ADDR=ATTACKER, HTTP_X_FORWARDED_FOR="192.0.2.99"
    )
    assert_throttled(refused, within=60)


def test_behind_a_trusted_proxy_bad_tokens_count_per_forwarded_client(settings):
    settings.HOOKHUB_THROTTLE_BAD_TOKENS = "2/min"
    settings.HOOKHUB_TRUSTED_PROXY_COUNT = 1
    proxy = "10.0.0.5"
    guesser = bad_token_client()
    for _ in range(2):
        response = guesser.get(
            "/api/v1/endpoints/", REMOTE_ADDR=proxy, HTTP_X_FORWARDED_FOR=ATTACKER
        )
        assert response.status_code == 401
    refused = guesser.get("/api/v1/endpoints/", REMOTE_ADDR=proxy, HTTP_X_FORWARDED_FOR=ATTACKER)
    assert_throttled(refused, within=60)
    other = guesser.get("/api/v1/endpoints/", REMOTE_ADDR=proxy, HTTP_X_FORWARDED_FOR=NEIGHBOUR)
    assert other.status_code == 401


# --- The document ---------------------------------------------------------------------------


def test_the_document_lists_429_with_retry_after_for_every_operation(client):
    document = json.loads(client.get("/api/schema/", {"format": "json"}).content)
    operations = [
        (path, method, operation)
        for path, item in document["paths"].items()
        for method, operation in item.items()
        if method in {"get", "post", "put", "patch", "delete"}
    ]
    assert len(operations) > 10
    for path, method, operation in operations:
        answer = operation["responses"].get("429")
        assert answer, f"{method.upper()} {path} does not list 429"
        assert answer["content"]["application/json"]["schema"] == {
            "$ref": "#/components/schemas/Error"
        }
        header = answer["headers"]["Retry-After"]
        assert header["required"] is True and header["schema"]["type"] == "integer"


# --- Where the counts live ------------------------------------------------------------------


def settings_in_a_new_process(**env: str) -> dict:
    """hookhub.settings as a fresh process reads them from this environment."""
    clean = {k: v for k, v in os.environ.items() if not k.startswith(("HOOKHUB_", "REDIS_URL"))}
    clean.update(HOOKHUB_TESTING="1", **env)
    script = (
        "import json, hookhub.settings as s; "
        "print(json.dumps({'cache': s.CACHES['default'], 'user': s.HOOKHUB_THROTTLE_USER}))"
    )
    result = subprocess.run(
        [sys.executable, "-c", script], cwd=ROOT, env=clean, capture_output=True, text=True
    )
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


def test_with_redis_url_the_cache_is_redis_and_otherwise_per_process():
    shared = settings_in_a_new_process(REDIS_URL="redis://redis.internal:6379/0")
    assert shared["cache"]["BACKEND"] == REDIS
    assert shared["cache"]["LOCATION"] == "redis://redis.internal:6379/0"
    assert settings_in_a_new_process()["cache"]["BACKEND"] == LOCMEM


def test_a_rate_comes_from_the_environment_and_a_mistyped_one_fails_at_startup():
    assert settings_in_a_new_process(HOOKHUB_THROTTLE_USER="120/minute")["user"] == "120/minute"
    clean = {k: v for k, v in os.environ.items() if not k.startswith("HOOKHUB_")}
    clean.update(HOOKHUB_TESTING="1", HOOKHUB_THROTTLE_USER="600 per minute")
    result = subprocess.run(
        [sys.executable, "-c", "import hookhub.settings"],
        cwd=ROOT,
        env=clean,
        capture_output=True,
        text=True,
    )
    assert result.returncode != 0
    assert "ImproperlyConfigured: HOOKHUB_THROTTLE_USER" in result.stderr


def test_a_cache_that_fails_lets_requests_through(settings, owner, caplog):
    # Nothing listens on port 1: every cache call fails at once.
    settings.CACHES = {
        **settings.CACHES,
        "broken": {"BACKEND": REDIS, "LOCATION": "redis://127.0.0.1:1/0"},
    }
    settings.HOOKHUB_THROTTLE_CACHE = "broken"
    settings.HOOKHUB_THROTTLE_USER = "1/min"
    api = token_client(owner)
    for _ in range(3):
        assert api.get("/api/v1/endpoints/").status_code == 200
    assert "Throttle cache failed" in caplog.text


@pytest.fixture
def redis_url(tmp_path):
    """A Redis server of this test's own, on a free port, stopped afterwards."""
    server = shutil.which("redis-server")
    if server is None:
        pytest.skip("needs redis-server")
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    process = subprocess.Popen(
        [server, "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--dir", str(tmp_path)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 10
        while True:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
                break
            except OSError:
                if time.monotonic() > deadline:
                    pytest.fail("redis-server did not start")
                time.sleep(0.05)
        yield f"redis://127.0.0.1:{port}/0"
    finally:
        process.terminate()
        process.wait(timeout=10)


def test_with_redis_a_limit_holds_across_processes(settings, redis_url, owner, make_endpoint):
    """Another process (standing in for another host) spends the user's test sends through
    the dashboard's path; this one's API is then refused."""
    settings.HOOKHUB_THROTTLE_TEST_SEND = "3/min"
    settings.CACHES = {
        **settings.CACHES,
        "shared": {"BACKEND": REDIS, "LOCATION": redis_url, "KEY_PREFIX": "hookhub"},
    }
    settings.HOOKHUB_THROTTLE_CACHE = "shared"
    endpoint = make_endpoint()
    script = f"""
import django
django.setup()
from django.contrib.auth import get_user_model
from django.test import RequestFactory
from hookhub import throttling
request = RequestFactory().post("/")
request.user = get_user_model()(pk={owner.pk})
print([throttling.refusal(throttling.SendTestThrottle, request) for _ in range(3)])
"""
    clean = {k: v for k, v in os.environ.items() if not k.startswith(("HOOKHUB_", "REDIS_URL"))}
    clean.update(
        DJANGO_SETTINGS_MODULE="hookhub.settings",
        HOOKHUB_TESTING="1",
        REDIS_URL=redis_url,
        HOOKHUB_THROTTLE_TEST_SEND="3/min",
    )
    other = subprocess.run(
        [sys.executable, "-c", script], cwd=ROOT, env=clean, capture_output=True, text=True
    )
    assert other.returncode == 0, other.stderr
    assert other.stdout.strip() == "[None, None, None]"

    assert_throttled(api_test_send(token_client(owner), endpoint), within=60)
    assert not Delivery.objects.filter(endpoint=endpoint).exists()


def test_a_test_send_to_someone_elses_endpoint_counts_and_says_nothing_of_it(
    settings, owner, outsider
):
    """DRF throttles before the view looks the endpoint up, so probing others' endpoints
    spends the same budget, and a refusal does not say whether the endpoint exists."""
    settings.HOOKHUB_THROTTLE_TEST_SEND = "1/min"
    EventTypeFactory(name="order-paid")
    theirs = EndpointFactory(owner=outsider)
    api = token_client(owner)
    assert api_test_send(api, theirs).status_code == 404
    assert_throttled(api_test_send(api, theirs), within=60)
    assert not Delivery.objects.exists()
