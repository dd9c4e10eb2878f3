"""HOOKHUB_MAX_ENDPOINTS_PER_USER: one subscriber cannot register endpoints without bound
(each is a target for signed requests). The dashboard, the API and the Django admin refuse
the one over the limit with a clear error and store nothing; other users are unaffected."""

from __future__ import annotations

import json

import pytest
from django.urls import reverse

from subscriptions import services
from subscriptions.models import AuditEntry, Endpoint
from tests.api.conftest import bearer_client
from tests.factories import EndpointFactory

pytestmark = pytest.mark.django_db

LIMIT = 3


@pytest.fixture
def at_the_limit(owner, settings):
    settings.HOOKHUB_MAX_ENDPOINTS_PER_USER = LIMIT
    for n in range(LIMIT):
        EndpointFactory(owner=owner, url=f"https://hooks.example.com/{n}")


def created_count() -> int:
    return AuditEntry.objects.filter(action="endpoint.created").count()


def test_the_dashboard_refuses_one_more_and_says_why(at_the_limit, owner, owner_client):
    response = owner_client.post(
        reverse("dashboard:endpoint-create"),
        {"url": "https://hooks.example.com/extra", "all_event_types": "on"},
    )
    assert response.status_code == 200
    errors = response.context["form"].non_field_errors()
    assert errors == [
        f"{owner.username} already has {LIMIT} endpoints, the most one account may have. "
        "Delete one you no longer use to add another."
    ]
    assert f"already has {LIMIT} endpoints" in response.content.decode()
    assert Endpoint.objects.filter(owner=owner).count() == LIMIT
    assert created_count() == 0


def test_the_api_refuses_one_more_with_a_400(at_the_limit, owner):
    response = bearer_client(owner).post(
        "/api/v1/endpoints/",
        {"url": "https://hooks.example.com/extra", "all_event_types": True},
        format="json",
    )
    assert response.status_code == 400
    assert f"already has {LIMIT} endpoints" in json.dumps(response.json())
    assert Endpoint.objects.filter(owner=owner).count() == LIMIT


def test_the_admin_refuses_one_more(at_the_limit, owner, admin_client):
    response = admin_client.post(
        reverse("admin:subscriptions_endpoint_add"),
        {
            "owner": owner.pk,
            "url": "https://hooks.example.com/extra",
            "description": "",
            "all_event_types": "on",
            "headers": "{}",
            "rate_limit": "",
            "state": "enabled",
        },
    )
    assert response.status_code == 200
    assert f"already has {LIMIT} endpoints" in response.content.decode()
    assert Endpoint.objects.filter(owner=owner).count() == LIMIT


def test_the_service_itself_refuses_so_no_caller_can_skip_the_check(at_the_limit, owner):
    with pytest.raises(services.ValidationError) as refused:
        services.create_endpoint(owner, {"url": "https://hooks.example.com/extra"}, actor=owner)
    assert refused.value.code == "too_many_endpoints"
    assert Endpoint.objects.filter(owner=owner).count() == LIMIT


def test_another_user_and_a_freed_slot_may_add(at_the_limit, owner, outsider):
    services.create_endpoint(outsider, {"url": "https://hooks.example.com/o"}, actor=outsider)
    services.delete_endpoint(Endpoint.objects.filter(owner=owner).first(), actor=owner)
    services.create_endpoint(owner, {"url": "https://hooks.example.com/again"}, actor=owner)
    assert Endpoint.objects.filter(owner=owner).count() == LIMIT
