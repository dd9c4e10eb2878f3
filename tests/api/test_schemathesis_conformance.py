"""Every API operation answers as the OpenAPI document says: schemathesis generates valid
and invalid requests from the document and checks each response (status code documented,
content type, body schema, and that schema-valid input is accepted) against the live app,
once as staff and once as a subscriber. Bounded: a few examples per operation.

The operations are driven from one test with schemathesis' Python API rather than its
lazy pytest loader, which does not run under pytest 9."""

from __future__ import annotations

import os

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from schemathesis import GenerationMode
from schemathesis.specs.openapi.checks import positive_data_acceptance

from subscriptions.models import ApiToken
from tests.factories import (
    DeliveryFactory,
    EndpointFactory,
    EventTypeFactory,
    StaffFactory,
    UserFactory,
)

MAX_EXAMPLES = 8
# A fixed seed keeps CI reproducible; HOOKHUB_FUZZ_RANDOM=1 explores new inputs locally.
DERANDOMIZE = os.environ.get("HOOKHUB_FUZZ_RANDOM") != "1"

# Where input the document calls valid can still be refused with a documented 400, because
# the rule depends on rows or the network rather than on the request's shape. Everywhere
# else, valid input must be accepted (2xx, or the 401/403/404/409 the check allows).
REFUSED_BY_DATABASE_RULES = {
    "POST /api/v1/events/": "the type must name an existing, active event type",
    "POST /api/v1/events/batch/": "the type must name an existing, active event type",
    "POST /api/v1/endpoints/": "URLs must resolve to allowed addresses; types must exist",
    "PATCH /api/v1/endpoints/{id}/": "URLs must resolve to allowed addresses; types must exist",
    "POST /api/v1/endpoints/{id}/test/": "the event type must exist; data must match its schema",
    "POST /api/v1/event-types/": "names are unique; the example must match the stored schema",
    "PATCH /api/v1/event-types/{name}/": "code-declared types are read-only; example vs schema",
}


@pytest.fixture
def tokens(transactional_db) -> dict[str, str]:
    """A staff token and a subscriber's, each user with rows for the detail routes to find
    besides the generated ids, which mostly 404."""
    order_paid = EventTypeFactory(name="order-paid")
    tokens = {}
    for role, user in (
        ("staff", StaffFactory(username="schemathesis")),
        ("subscriber", UserFactory(username="subscriber")),
    ):
        _, tokens[role] = ApiToken.issue(user, name="schemathesis")
        endpoint = EndpointFactory(
            owner=user, url=f"http://127.0.0.1:9/{role}", all_event_types=True
        )
        DeliveryFactory(endpoint=endpoint, event__event_type=order_paid)
    return tokens


def run_operation(operation, mode: GenerationMode, token: str) -> None:
    excluded = [positive_data_acceptance] if operation.label in REFUSED_BY_DATABASE_RULES else []

    @given(case=operation.as_strategy(generation_mode=mode))
    @settings(
        max_examples=MAX_EXAMPLES,
        deadline=None,
        suppress_health_check=list(HealthCheck),
        derandomize=DERANDOMIZE,
        database=None,
    )
    def check(case) -> None:
        case.call_and_validate(
            headers={"Authorization": f"Bearer {token}"}, timeout=10, excluded_checks=excluded
        )

    check()


@pytest.mark.slow
def test_api_conforms_to_its_openapi_document(live_server, tokens):
    schema = schemathesis.openapi.from_url(f"{live_server.url}/api/schema/?format=json", timeout=30)
    operations = [result.ok() for result in schema.get_all_operations()]
    assert len(operations) >= 15
    assert set(REFUSED_BY_DATABASE_RULES) <= {operation.label for operation in operations}
    failures = []
    for role, token in tokens.items():
        for operation in operations:
            for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE):
                try:
                    run_operation(operation, mode, token)
                # FailureGroup is a BaseExceptionGroup: collect it too, with every other failure.
                except (Exception, BaseExceptionGroup) as error:  # noqa: BLE001
                    failures.append(f"{role}: {operation.label} [{mode.value}]: {error}")
    assert not failures, "\n\n".join(failures)


STAFF_ONLY = [
    ("post", "/api/v1/events/"),
    ("post", "/api/v1/events/batch/"),
    ("post", "/api/v1/event-types/"),
    ("patch", "/api/v1/event-types/{name}/"),
]


def test_staff_only_operations_document_the_403_a_subscriber_gets(client, owner_api, event_type):
    document = client.get("/api/schema/", {"format": "json"}).json()
    for method, path in STAFF_ONLY:
        assert "403" in document["paths"][path][method]["responses"], path

    # Each answer is also held to the document by tests/api/conftest.py.
    answers = [
        owner_api.post("/api/v1/events/", {"type": event_type.name, "data": {}}, format="json"),
        owner_api.post(
            "/api/v1/events/batch/", {"type": event_type.name, "events": []}, format="json"
        ),
        owner_api.post("/api/v1/event-types/", {"name": "refund-issued"}, format="json"),
        owner_api.patch(
            f"/api/v1/event-types/{event_type.name}/", {"description": "x"}, format="json"
        ),
    ]
    assert [answer.status_code for answer in answers] == [403] * 4
