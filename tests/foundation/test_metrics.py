"""/metrics: off by default, guarded by a bearer token and/or an address allowlist, and every
number read from the database, checked here against the rows during a real delivery run."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone
from prometheus_client.parser import text_string_to_metric_families

from deliveries import engine, heartbeat
from deliveries.models import Attempt, Delivery, Event
from deliveries.publishing import publish
from subscriptions.models import Endpoint
from tests.factories import DeliveryFactory, EndpointFactory, EventFactory
from tests.receivers import Reply

TOKEN = "scrape-me-please"
S = Delivery.Status


@pytest.fixture
def metrics_on(settings):
    settings.HOOKHUB_METRICS_TOKEN = TOKEN
    settings.HOOKHUB_METRICS_ALLOWED_CIDRS = []
    return settings


def scrape(client) -> dict[tuple[str, tuple], float]:
    """Every sample of a scrape, keyed by (name, sorted labels)."""
    response = client.get("/metrics", HTTP_AUTHORIZATION=f"Bearer {TOKEN}")
    assert response.status_code == 200, response.content
    samples = {}
    for family in text_string_to_metric_families(response.content.decode()):
        for sample in family.samples:
            samples[(sample.name, tuple(sorted(sample.labels.items())))] = sample.value
    return samples


def value(samples, name: str, **labels) -> float:
    return samples[(name, tuple(sorted(labels.items())))]


@pytest.mark.django_db
def test_metrics_are_off_without_a_token_or_allowlist(client, settings):
    settings.HOOKHUB_METRICS_TOKEN = ""
    settings.HOOKHUB_METRICS_ALLOWED_CIDRS = []
    assert client.get("/metrics", HTTP_AUTHORIZATION="Bearer anything").status_code == 404


@pytest.mark.django_db
def test_a_missing_token_is_401_and_a_wrong_one_403(client, metrics_on):
    missing = client.get("/metrics")
    assert missing.status_code == 401 and missing["WWW-Authenticate"].startswith("Bearer")
    assert client.get("/metrics", HTTP_AUTHORIZATION="Bearer wrong").status_code == 403
    assert client.get("/metrics", HTTP_AUTHORIZATION=f"Basic {TOKEN}").status_code == 401


@pytest.mark.django_db
def test_the_right_token_gets_the_text_format(client, metrics_on):
    response = client.get("/metrics", HTTP_AUTHORIZATION=f"Bearer {TOKEN}")
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/plain")
    assert b"# TYPE hookhub_events_published_total counter" in response.content


@pytest.mark.django_db
def test_the_allowlist_alone_admits_listed_addresses_only(client, settings):
    settings.HOOKHUB_METRICS_TOKEN = ""
    settings.HOOKHUB_METRICS_ALLOWED_CIDRS = ["10.0.0.0/8"]
    assert client.get("/metrics", REMOTE_ADDR="10.1.2.3").status_code == 200
    assert client.get("/metrics", REMOTE_ADDR="192.0.2.7").status_code == 403


@pytest.mark.django_db
def test_token_and_allowlist_together_need_both(client, metrics_on):
    metrics_on.HOOKHUB_METRICS_ALLOWED_CIDRS = ["10.0.0.0/8"]
    bearer = f"Bearer {TOKEN}"
    assert (
        client.get("/metrics", REMOTE_ADDR="10.1.2.3", HTTP_AUTHORIZATION=bearer).status_code == 200
    )
    assert (
        client.get("/metrics", REMOTE_ADDR="192.0.2.7", HTTP_AUTHORIZATION=bearer).status_code
        == 403
    )
    assert client.get("/metrics", REMOTE_ADDR="10.1.2.3").status_code == 401


@pytest.mark.django_db
def test_numbers_match_the_database_during_a_delivery_run(
    client, metrics_on, receiver, make_endpoint, settings
):
    settings.HOOKHUB_RETRY_SCHEDULE = [0, 60]
    settings.HOOKHUB_RETRY_JITTER = 0.0
    receiver.on("/ok", Reply(200))
    receiver.on("/down", Reply(503))
    make_endpoint("/ok")
    make_endpoint("/down")
    EndpointFactory(state=Endpoint.State.PAUSED)
    heartbeat.beat("test-host:1", now=timezone.now() - timedelta(seconds=30))
    # Published inside the test's transaction, the on-commit enqueue never runs: the
    # deliveries wait, due, as they would for a busy worker.
    for n in range(3):
        publish("order-paid", {"id": n})

    queued = scrape(client)
    assert value(queued, "hookhub_events_published_total") == Event.objects.latest("pk").pk
    assert value(queued, "hookhub_deliveries_created_total") == Delivery.objects.latest("pk").pk
    assert value(queued, "hookhub_deliveries_queued") == 6
    assert value(queued, "hookhub_deliveries_in_flight") == 0
    assert value(queued, "hookhub_endpoints", state="enabled") == 2
    assert value(queued, "hookhub_endpoints", state="paused") == 1
    assert value(queued, "hookhub_endpoints", state="disabled") == 0
    assert 30 <= value(queued, "hookhub_sweeper_last_run_age_seconds") < 60

    claimed = engine.claim_due(4)
    running = scrape(client)
    assert value(running, "hookhub_deliveries_in_flight") == 4
    assert value(running, "hookhub_deliveries", status="sending") == 4
    assert value(running, "hookhub_deliveries_queued") == 2

    engine.deliver_now(claimed)
    engine.deliver_now(engine.claim_due(100))
    done = scrape(client)
    ok = Attempt.objects.filter(response_status=200).count()
    failed = Attempt.objects.filter(response_status=503).count()
    assert (ok, failed) == (3, 3)
    assert value(done, "hookhub_attempts_total") == Attempt.objects.latest("pk").pk
    assert value(done, "hookhub_attempts_window", outcome="succeeded", error_class="none") == ok
    assert (
        value(done, "hookhub_attempts_window", outcome="failed", error_class="http-status")
        == failed
    )
    # The 503s are retried in a minute: pending, but not due.
    assert value(done, "hookhub_deliveries", status="pending") == 3
    assert value(done, "hookhub_deliveries_queued") == 0
    assert value(done, "hookhub_deliveries_in_flight") == 0
    assert value(done, "hookhub_attempt_duration_seconds_gcount") == 6
    assert value(done, "hookhub_attempt_duration_seconds_bucket", le="+Inf") == 6
    assert value(done, "hookhub_publish_to_success_seconds_bucket", le="+Inf") == 3
    # Published and delivered within this test: well under the top bucket.
    assert value(done, "hookhub_publish_to_success_seconds_bucket", le="30") == 3
    assert 0 < value(done, "hookhub_publish_to_success_seconds_gsum") < 90


@pytest.mark.django_db
def test_oldest_due_age_is_that_of_the_longest_waiting_due_delivery(client, metrics_on):
    now = timezone.now()
    DeliveryFactory(next_attempt_at=now - timedelta(seconds=120))
    DeliveryFactory(next_attempt_at=now - timedelta(seconds=5))
    DeliveryFactory(next_attempt_at=now + timedelta(seconds=600))  # not due yet
    samples = scrape(client)
    assert 120 <= value(samples, "hookhub_oldest_due_delivery_age_seconds") < 150
    assert value(samples, "hookhub_deliveries_queued") == 2


@pytest.mark.django_db
def test_nothing_due_and_no_sweep_read_as_zero_age_and_infinite_silence(client, metrics_on):
    samples = scrape(client)
    assert value(samples, "hookhub_oldest_due_delivery_age_seconds") == 0
    assert value(samples, "hookhub_sweeper_last_run_age_seconds") == float("inf")


@pytest.mark.django_db
def test_first_tries_handed_back_by_the_rate_limit_are_counted(client, metrics_on):
    later = timezone.now() + timedelta(seconds=2)
    limited = EndpointFactory(rate_limit=1)
    DeliveryFactory(endpoint=limited, next_attempt_at=later)
    # A retry waiting for its back-off is not a hand-back.
    DeliveryFactory(endpoint=limited, next_attempt_at=later, attempt_count=1)
    DeliveryFactory(event=EventFactory(), next_attempt_at=later)  # no rate limit
    assert value(scrape(client), "hookhub_deliveries_rate_limited") == 1
