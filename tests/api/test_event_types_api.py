"""The catalogue over the API: everyone reads, staff write, schemas are checked first."""

from __future__ import annotations

import pytest

from subscriptions.models import AuditEntry, EventType
from tests.factories import EventTypeFactory

pytestmark = pytest.mark.django_db

VALID = {
    "name": "coupon-redeemed",
    "description": "A coupon was redeemed.",
    "method": "POST",
    "schema": {"type": "object", "properties": {"code": {"type": "string"}}},
    "example": {"code": "WELCOME"},
}


def test_subscribers_read_the_active_catalogue(owner_api):
    EventTypeFactory(name="gone-away", archived=True)
    response = owner_api.get("/api/v1/event-types/")
    assert response.status_code == 200
    names = [item["name"] for item in response.json()["results"]]
    assert "new-subscription" in names and "gone-away" not in names
    detail = owner_api.get("/api/v1/event-types/new-subscription/").json()
    assert detail["source"] == "code"
    assert set(detail["schema"]["properties"]) == {"username", "monthly_fee", "start_date"}
    assert owner_api.get("/api/v1/event-types/gone-away/").status_code == 404


def test_staff_create_an_admin_type_and_it_is_audited(staff_api, staff):
    response = staff_api.post("/api/v1/event-types/", VALID, format="json")
    assert response.status_code == 201, response.content
    body = response.json()
    assert body["source"] == "admin" and body["archived"] is False
    row = EventType.objects.get(name="coupon-redeemed")
    assert row.schema == VALID["schema"]
    entry = AuditEntry.objects.get(action="event_type.created")
    assert entry.actor == staff and entry.object_label == "coupon-redeemed"


def test_subscribers_cannot_write_the_catalogue(owner_api):
    response = owner_api.post("/api/v1/event-types/", VALID, format="json")
    assert response.status_code == 403
    assert response.json()["code"] == "permission_denied"
    patched = owner_api.patch(
        "/api/v1/event-types/new-subscription/", {"archived": True}, format="json"
    )
    assert patched.status_code == 403
    assert not EventType.objects.filter(name="coupon-redeemed").exists()
    assert EventType.objects.get(name="new-subscription").archived is False


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"schema": {"type": 123}}, "schema"),
        ({"schema": ["not", "an", "object"]}, "schema"),
        ({"schema": {"$ref": "https://example.com/schema.json"}}, "schema"),
        ({"schema": {"type": "object", "required": "code"}}, "schema"),
        ({"example": {"code": 7}}, "example"),
        ({"name": "Not A Slug!"}, "name"),
        ({"name": "new-subscription"}, "name"),
        ({"method": "DELETE"}, "method"),
        ({"name": ""}, "name"),
    ],
)
def test_bad_event_type_is_a_400_with_field_errors_and_nothing_saved(staff_api, change, field):
    before = EventType.objects.count()
    response = staff_api.post("/api/v1/event-types/", {**VALID, **change}, format="json")
    assert response.status_code == 400
    body = response.json()
    assert body["code"] == "invalid" and body["detail"]
    assert field in body["errors"], body
    assert EventType.objects.count() == before
    assert not AuditEntry.objects.filter(action="event_type.created").exists()


def test_broken_schema_patch_is_refused_and_the_document_stays_valid(staff_api, client):
    EventTypeFactory(name="refund-issued")
    response = staff_api.patch(
        "/api/v1/event-types/refund-issued/", {"schema": {"type": "strnig"}}, format="json"
    )
    assert response.status_code == 400
    assert "schema" in response.json()["errors"]
    assert EventType.objects.get(name="refund-issued").schema["type"] == "object"
    assert client.get("/api/schema/").status_code == 200


def test_staff_edit_an_admin_type_and_the_change_is_audited(staff_api):
    EventTypeFactory(name="refund-issued")
    response = staff_api.patch(
        "/api/v1/event-types/refund-issued/",
        {"description": "Money went back.", "example": {"id": 42}},
        format="json",
    )
    assert response.status_code == 200
    assert EventType.objects.get(name="refund-issued").description == "Money went back."
    entry = AuditEntry.objects.get(action="event_type.updated")
    assert entry.details == {"changed": ["description", "example"], "version": 2}


def test_code_declared_types_are_read_only(staff_api):
    response = staff_api.patch(
        "/api/v1/event-types/new-subscription/", {"description": "hacked"}, format="json"
    )
    assert response.status_code == 400
    assert "declared in code" in response.json()["detail"]
    assert EventType.objects.get(name="new-subscription").description != "hacked"


def test_event_types_cannot_be_deleted_or_replaced(staff_api):
    assert staff_api.delete("/api/v1/event-types/new-subscription/").status_code == 405
    assert (
        staff_api.put("/api/v1/event-types/new-subscription/", VALID, format="json").status_code
        == 405
    )
    assert EventType.objects.filter(name="new-subscription").exists()
