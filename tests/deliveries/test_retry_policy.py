"""Per-endpoint retry policy (Endpoint.retry_for): an owner shortens the schedule, or
lengthens it up to HOOKHUB_MAX_RETRY_FOR; the engine retries by it against a real receiver,
the dashboard and the API show the effective schedule, and test events never retry."""

from __future__ import annotations

import pytest
from django.urls import reverse

from deliveries import actions
from deliveries.models import Delivery
from subscriptions.models import Endpoint
from subscriptions.retries import describe_schedule, retry_schedule
from tests.api.conftest import bearer_client
from tests.deliveries.test_policy import run_due_retries
from tests.factories import EndpointFactory
from tests.receivers import Reply

S = Delivery.Status
DEFAULT = [0, 5, 300, 1800, 7200]


@pytest.fixture
def schedule(settings):
    settings.HOOKHUB_RETRY_SCHEDULE = DEFAULT
    settings.HOOKHUB_RETRY_JITTER = 0.0
    settings.HOOKHUB_MAX_RETRY_FOR = 24 * 3600


@pytest.mark.parametrize(
    ("retry_for", "expected"),
    [
        (None, DEFAULT),
        (0, [0]),
        (4, [0]),
        (5, [0, 5]),
        (2105, [0, 5, 300, 1800]),  # exactly the first four tries' waits
        (3600, [0, 5, 300, 1800]),
        (9305 + 7200, [0, 5, 300, 1800, 7200, 7200]),  # longer: the last wait repeats
        (10**9, [0, 5, 300, 1800, *[7200] * 11]),  # capped by HOOKHUB_MAX_RETRY_FOR (1 day)
    ],
)
def test_the_effective_schedule(schedule, retry_for, expected):
    assert retry_schedule(retry_for) == expected


def test_a_schedule_reads_as_tries_over_a_time(schedule):
    assert describe_schedule([0, 5, 300, 1800]) == (
        "4 tries over 35.1 min: at once, then after 5 s, 5 min, 30 min"
    )
    assert describe_schedule([0]) == "1 try, no retries"


@pytest.mark.django_db
def test_a_shortened_window_gives_up_after_its_last_try(
    receiver, make_endpoint, publish_now, settings
):
    settings.HOOKHUB_RETRY_SCHEDULE = [0, 0.2, 0.2, 0.2, 0.2]
    settings.HOOKHUB_RETRY_JITTER = 0.0
    receiver.on("/hook", Reply(500))
    make_endpoint(retry_for=0)  # 0.4 s would allow 3 tries; whole seconds: 0 is one try
    publish_now("order-paid", {"id": 1})
    run_due_retries(deadline=2)
    delivery = Delivery.objects.get()
    assert delivery.status == S.FAILED and delivery.attempt_count == 1
    assert len(receiver.requests) == 1


@pytest.mark.django_db
def test_a_longer_window_keeps_retrying_past_the_default(
    receiver, make_endpoint, publish_now, settings
):
    settings.HOOKHUB_RETRY_SCHEDULE = [0, 0.2]  # default: 2 tries
    settings.HOOKHUB_RETRY_JITTER = 0.0
    settings.HOOKHUB_MAX_RETRY_FOR = 3600
    receiver.on("/hook", Reply(500), Reply(500), Reply(500), Reply(200))
    make_endpoint(retry_for=1)  # 0.2 s waits fit 5 times into 1 s
    publish_now("order-paid", {"id": 1})
    run_due_retries(deadline=5)
    delivery = Delivery.objects.get()
    assert delivery.status == S.SUCCEEDED and delivery.attempt_count == 4
    assert [r.path for r in receiver.requests] == ["/hook"] * 4


@pytest.mark.django_db
def test_a_test_event_never_retries_whatever_the_window(receiver, event_type, owner, schedule):
    receiver.on("/t", Reply(500))
    endpoint = EndpointFactory(owner=owner, url=receiver.url("/t"), retry_for=24 * 3600)
    delivery = actions.send_test(endpoint, event_type, actor=owner, data={"id": 5})
    assert delivery.status == S.FAILED and delivery.next_attempt_at is None


@pytest.mark.django_db
def test_the_api_sets_the_window_and_shows_the_schedule(owner, schedule):
    api = bearer_client(owner)
    created = api.post(
        "/api/v1/endpoints/",
        {"url": "https://hooks.example.com/in", "all_event_types": True, "retry_for": 3600},
        format="json",
    )
    assert created.status_code == 201, created.content
    assert created.json()["retry_for"] == 3600
    assert created.json()["retry_schedule"] == [0, 5, 300, 1800]
    uid = created.json()["id"]
    too_long = api.patch(f"/api/v1/endpoints/{uid}/", {"retry_for": 2 * 86400}, format="json")
    assert too_long.status_code == 400 and "retry_for" in too_long.json()["errors"]
    assert Endpoint.objects.get().retry_for == 3600
    reset = api.patch(f"/api/v1/endpoints/{uid}/", {"retry_for": None}, format="json")
    assert reset.status_code == 200 and reset.json()["retry_schedule"] == DEFAULT


@pytest.mark.django_db
def test_the_dashboard_offers_windows_within_the_maximum_and_shows_the_schedule(
    owner, owner_client, schedule
):
    endpoint = EndpointFactory(owner=owner)
    edit = reverse("dashboard:endpoint-edit", args=[endpoint.uid])
    form = owner_client.get(edit).context["form"]
    offered = [value for value, _ in form.fields["retry_for"].choices]
    assert offered == ["", "0", "600", "3600", "21600", "86400"]  # 3 and 7 days are over 1 day
    response = owner_client.post(
        edit,
        {"url": endpoint.url, "all_event_types": "on", "retry_for": "3600"},
    )
    assert response.status_code == 302
    endpoint.refresh_from_db()
    assert endpoint.retry_for == 3600
    page = owner_client.get(endpoint.get_absolute_url()).content.decode()
    assert "4 tries over 35.1 min: at once, then after 5 s, 5 min, 30 min" in page
