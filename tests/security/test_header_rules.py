"""One set of header rules (subscriptions.headers) for every entry point: the dashboard
form, the API and the Django admin refuse the same headers, with the same length limit, and
nothing is stored."""

from __future__ import annotations

import json

import pytest
from django.core.exceptions import ValidationError
from django.urls import reverse

from subscriptions.headers import header_problem, validate_headers
from subscriptions.models import Endpoint
from tests.api.conftest import bearer_client

LIMIT = 1000  # HOOKHUB_MAX_HEADER_VALUE_LENGTH's default

REFUSED = {
    "a name with a trailing newline": ("Host\n", "x"),
    "a name with a space": ("X Team", "x"),
    "an empty name": ("", "x"),
    "a reserved name": ("Webhook-Signature", "v1,forged"),
    "hop-by-hop TE": ("TE", "trailers"),
    "hop-by-hop Upgrade": ("Upgrade", "websocket"),
    "hop-by-hop Keep-Alive": ("Keep-Alive", "timeout=5"),
    "framing Trailer": ("Trailer", "X-Checksum"),
    "Expect": ("Expect", "100-continue"),
    "Connection": ("Connection", "close"),
    "a Proxy- name": ("Proxy-Authorization", "Basic eA=="),
    "Content-Encoding": ("Content-Encoding", "gzip"),
    "a vertical tab in the value": ("X-Team", "bill\x0bing"),
    "a C1 control (NEL) in the value": ("X-Team", "bill\x85ing"),
    "U+2028 in the value": ("X-Team", "bill\u2028ing"),
    "a NUL in the value": ("X-Team", "bill\x00ing"),
    "a non-ASCII value": ("X-Team", "équipe"),
    "a value over the limit": ("X-Team", "x" * (LIMIT + 1)),
}
ACCEPTED = {"X-Team": "billing\tteam a", "X-Api-Key": "k" * LIMIT, "Accept": "*/*"}


@pytest.mark.parametrize("case", sorted(REFUSED))
def test_the_rule_refuses(case):
    name, value = REFUSED[case]
    assert header_problem(name, value) is not None
    with pytest.raises(ValidationError):
        validate_headers({name: value})


def test_the_rule_accepts_ordinary_headers_up_to_the_limit():
    assert [header_problem(name, value) for name, value in ACCEPTED.items()] == [None] * 3
    validate_headers(ACCEPTED)


# The dashboard's one-header-per-line text cannot carry a newline in a name or a value.
FORM_CASES = sorted(case for case, (name, value) in REFUSED.items() if "\n" not in name and name)


@pytest.mark.django_db
@pytest.mark.parametrize("case", FORM_CASES)
def test_the_dashboard_refuses_it_and_stores_nothing(case, owner_client):
    name, value = REFUSED[case]
    response = owner_client.post(
        reverse("dashboard:endpoint-create"),
        {
            "url": "https://hooks.example.com/in",
            "all_event_types": "on",
            "headers_text": f"{name}: {value}",
        },
    )
    assert response.status_code == 200
    assert "headers_text" in response.context["form"].errors
    assert not Endpoint.objects.exists()


@pytest.mark.django_db
@pytest.mark.parametrize("case", sorted(REFUSED))
def test_the_api_refuses_it_with_a_400_and_stores_nothing(case, owner):
    name, value = REFUSED[case]
    response = bearer_client(owner).post(
        "/api/v1/endpoints/",
        {"url": "https://hooks.example.com/in", "all_event_types": True, "headers": {name: value}},
        format="json",
    )
    assert response.status_code == 400, response.content
    assert "headers" in response.json()["errors"]
    assert not Endpoint.objects.exists()


@pytest.mark.django_db
@pytest.mark.parametrize(
    "case", ["a name with a trailing newline", "hop-by-hop TE", "a C1 control (NEL) in the value"]
)
def test_the_admin_refuses_it_and_stores_nothing(case, admin_client, owner):
    name, value = REFUSED[case]
    response = admin_client.post(
        reverse("admin:subscriptions_endpoint_add"),
        {
            "owner": owner.pk,
            "url": "https://hooks.example.com/admin",
            "description": "",
            "all_event_types": "on",
            "headers": json.dumps({name: value}),
            "rate_limit": "",
            "state": "enabled",
        },
    )
    assert response.status_code == 200
    assert response.context["adminform"].form.errors
    assert not Endpoint.objects.exists()


@pytest.mark.django_db
def test_all_three_accept_the_same_value_at_the_limit(owner, owner_client):
    value = "v" * LIMIT
    api = bearer_client(owner).post(
        "/api/v1/endpoints/",
        {"url": "https://hooks.example.com/a", "all_event_types": True, "headers": {"X-A": value}},
        format="json",
    )
    form = owner_client.post(
        reverse("dashboard:endpoint-create"),
        {
            "url": "https://hooks.example.com/b",
            "all_event_types": "on",
            "headers_text": f"X-A: {value}",
        },
    )
    assert (api.status_code, form.status_code) == (201, 302)
    assert [e.headers for e in Endpoint.objects.order_by("url")] == [{"X-A": value}] * 2
