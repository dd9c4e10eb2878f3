"""Formats are asserted on publish: a value receivers' generated models would reject (a
date-time without its timezone, "next tuesday") is refused, by publish() and over the API,
and nothing is stored. A type's example is held to the same check."""

from __future__ import annotations

import pytest
from django.core.exceptions import ValidationError

from deliveries.models import Event
from deliveries.publishing import InvalidPayload, publish
from subscriptions import services
from subscriptions.models import EventType
from tests.factories import EventTypeFactory

pytestmark = pytest.mark.django_db

# format -> (a valid value, an invalid one)
FORMATS = {
    "date-time": ("2026-11-28T10:00:00Z", "2026-11-28T10:00:00"),
    "date": ("2026-11-28", "28/11/2026"),
    "time": ("10:00:00+02:00", "25:00:00Z"),
    "email": ("ada@example.com", "ada.example.com"),
    "uri": ("https://example.com/hooks?x=1", "example.com/hooks"),
    "uuid": ("6f1c2f9e-3a4b-4c5d-8e9f-0a1b2c3d4e5f", "6f1c2f9e"),
    "ipv4": ("192.0.2.1", "192.0.2.256"),
    "ipv6": ("2001:db8::1", "2001:db8::g"),
}
VALID = [pytest.param(fmt, good, id=fmt) for fmt, (good, _) in FORMATS.items()]
INVALID = [pytest.param(fmt, bad, id=fmt) for fmt, (_, bad) in FORMATS.items()]


def type_with_format(fmt: str) -> EventType:
    return EventTypeFactory(
        name="format-check",
        schema={
            "type": "object",
            "properties": {"value": {"type": "string", "format": fmt}},
            "required": ["value"],
        },
        example=None,
    )


@pytest.mark.parametrize(("fmt", "value"), VALID)
def test_publish_accepts_a_valid_value_of_each_format(fmt, value):
    type_with_format(fmt)
    event = publish("format-check", {"value": value})
    assert Event.objects.filter(pk=event.pk).exists()


@pytest.mark.parametrize(("fmt", "value"), INVALID)
def test_publish_refuses_an_invalid_value_of_each_format_naming_the_field(fmt, value):
    type_with_format(fmt)
    with pytest.raises(InvalidPayload) as caught:
        publish("format-check", {"value": value})
    assert caught.value.errors == [{"path": "value", "message": f"{value!r} is not a {fmt!r}"}]
    assert Event.objects.count() == 0


@pytest.mark.parametrize(("fmt", "value"), VALID)
def test_api_publishes_a_valid_value_of_each_format(staff_api, fmt, value):
    type_with_format(fmt)
    response = staff_api.post(
        "/api/v1/events/", {"type": "format-check", "data": {"value": value}}, format="json"
    )
    assert response.status_code == 202, response.content
    assert Event.objects.count() == 1


@pytest.mark.parametrize(("fmt", "value"), INVALID)
def test_api_answers_400_naming_the_field_for_an_invalid_value_and_stores_nothing(
    staff_api, fmt, value
):
    type_with_format(fmt)
    response = staff_api.post(
        "/api/v1/events/", {"type": "format-check", "data": {"value": value}}, format="json"
    )
    assert response.status_code == 400
    body = response.json()
    assert body["errors"] == {"data": [f"value: {value!r} is not a {fmt!r}"]}, body
    assert Event.objects.count() == 0


@pytest.mark.parametrize("start_date", ["next tuesday", "2026-11-28T10:00:00"])
def test_code_declared_new_subscription_refuses_a_date_time_receivers_cannot_parse(
    staff_api, start_date
):
    data = {"username": "ada", "monthly_fee": 9.99, "start_date": start_date}
    response = staff_api.post(
        "/api/v1/events/", {"type": "new-subscription", "data": data}, format="json"
    )
    assert response.status_code == 400
    assert "start_date" in response.json()["errors"]["data"][0]
    assert Event.objects.count() == 0


def test_publish_many_refuses_the_batch_when_one_item_breaks_a_format(staff_api):
    type_with_format("date")
    events = [{"data": {"value": "2026-11-28"}}, {"data": {"value": "tomorrow"}}]
    response = staff_api.post(
        "/api/v1/events/batch/", {"type": "format-check", "events": events}, format="json"
    )
    assert response.status_code == 400
    assert "1" in response.json()["errors"]["events"]
    assert Event.objects.count() == 0


def test_a_row_stored_before_formats_were_checked_is_checked_now():
    # Written straight to the table, as rows saved by earlier versions were.
    EventType.objects.create(
        name="legacy-type",
        schema={"type": "object", "properties": {"at": {"type": "string", "format": "date"}}},
    )
    with pytest.raises(InvalidPayload):
        publish("legacy-type", {"at": "yesterday"})
    assert Event.objects.count() == 0


def test_multiple_of_is_counted_in_decimal_so_cents_pass_and_fractions_of_cents_do_not():
    EventTypeFactory(
        name="money-moved",
        schema={"type": "object", "properties": {"amount": {"type": "number", "multipleOf": 0.01}}},
        example={"amount": 0.29},
    )
    for cents in (0.07, 0.29, 9.99, 1234567.89, 5):
        publish("money-moved", {"amount": cents})
    with pytest.raises(InvalidPayload) as caught:
        publish("money-moved", {"amount": 1.234})
    assert caught.value.errors[0]["path"] == "amount"


def test_an_example_breaking_a_format_is_refused_when_a_type_is_created(staff_api, staff):
    schema = {"type": "object", "properties": {"at": {"type": "string", "format": "date-time"}}}
    response = staff_api.post(
        "/api/v1/event-types/",
        {"name": "refund-issued", "schema": schema, "example": {"at": "2026-11-28 10:00"}},
        format="json",
    )
    assert response.status_code == 400
    assert "example" in response.json()["errors"]
    with pytest.raises(ValidationError, match="is not a 'date-time'"):
        services.create_event_type(
            {"name": "refund-issued", "schema": schema, "example": {"at": "soon"}}, actor=staff
        )
    assert not EventType.objects.filter(name="refund-issued").exists()


def test_an_example_breaking_a_format_is_refused_when_a_type_is_edited(staff_api):
    EventTypeFactory(
        name="refund-issued",
        schema={"type": "object", "properties": {"email": {"type": "string", "format": "email"}}},
        example={"email": "ada@example.com"},
    )
    response = staff_api.patch(
        "/api/v1/event-types/refund-issued/", {"example": {"email": "ada"}}, format="json"
    )
    assert response.status_code == 400
    assert "example" in response.json()["errors"]
    assert EventType.objects.get(name="refund-issued").example == {"email": "ada@example.com"}
