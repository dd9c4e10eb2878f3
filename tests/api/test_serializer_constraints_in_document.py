"""A code-declared type's payloads are checked against the schema generated from its
serializer, so the document carries what the serializer enforces (decimal places, lengths,
date-time) and publish refuses what the serializer would."""

from __future__ import annotations

import json

import pytest
from openapi_spec_validator import validate
from openapi_spec_validator.validation import OpenAPIV31SpecValidator
from rest_framework import serializers

from deliveries.models import Event
from deliveries.publishing import InvalidPayload, publish
from subscriptions.catalog import WebhookRegistry, serializer_json_schema, sync, webhooks
from subscriptions.models import EventType

pytestmark = pytest.mark.django_db

GOOD = {"amount": 0.29, "price": "12.50", "code": "ab", "booked_at": "2026-11-28T10:00:00Z"}


class LedgerEntry(serializers.Serializer):
    """An entry was booked."""

    amount = serializers.DecimalField(max_digits=8, decimal_places=2, coerce_to_string=False)
    price = serializers.DecimalField(max_digits=None, decimal_places=2)
    code = serializers.CharField(max_length=5)
    booked_at = serializers.DateTimeField()


@pytest.fixture
def ledger_entry(monkeypatch):
    """`ledger-entry` declared in code (for this test only) and synced into its row."""
    monkeypatch.setattr(webhooks, "_declared", dict(webhooks._declared))
    webhooks.post("ledger-entry", example=GOOD)(LedgerEntry)
    sync()
    return "ledger-entry"


def webhook_data_schema(client, name: str) -> dict:
    document = json.loads(client.get("/api/schema/", {"format": "json"}).content)
    validate(document, cls=OpenAPIV31SpecValidator)
    components = document["components"]["schemas"]
    media = document["webhooks"][name]["post"]["requestBody"]["content"]["application/json"]
    envelope = components[media["schema"]["$ref"].rsplit("/", 1)[1]]  # the <Key>-Event
    ref = envelope["properties"]["data"]["$ref"]
    return components[ref.rsplit("/", 1)[1]]


def test_document_carries_decimal_places_lengths_and_date_time(client, ledger_entry):
    properties = webhook_data_schema(client, ledger_entry)["properties"]
    assert properties["amount"] == {
        "type": "number",
        "format": "double",
        "multipleOf": 0.01,
        "exclusiveMaximum": 1000000,
        "exclusiveMinimum": -1000000,
    }
    assert properties["price"]["type"] == "string"
    assert properties["price"]["pattern"] == r"^-?\d*(?:\.\d{0,2})?$"
    assert properties["code"] == {"type": "string", "maxLength": 5}
    assert properties["booked_at"] == {"type": "string", "format": "date-time"}


def test_stored_schema_publish_checks_is_the_one_the_document_shows(client, ledger_entry):
    stored = EventType.objects.get(name=ledger_entry).schema
    documented = webhook_data_schema(client, ledger_entry)
    assert stored["properties"] == documented["properties"]
    assert stored == serializer_json_schema(LedgerEntry)


@pytest.mark.parametrize(
    ("field", "value"),
    [("amount", 1.234), ("price", "1.234"), ("code", "toolong"), ("amount", 1000000)],
)
def test_publish_refuses_what_the_serializer_refuses(ledger_entry, field, value):
    payload = {**GOOD, field: value}
    assert not LedgerEntry(data=payload).is_valid()
    with pytest.raises(InvalidPayload) as caught:
        publish(ledger_entry, payload)
    assert [error["path"] for error in caught.value.errors] == [field]
    assert Event.objects.count() == 0


def test_publish_refuses_a_date_time_without_its_timezone(ledger_entry):
    # The serializer would read it in the server's zone; a receiver cannot know which.
    with pytest.raises(InvalidPayload) as caught:
        publish(ledger_entry, {**GOOD, "booked_at": "2026-11-28T10:00:00"})
    assert caught.value.errors[0]["path"] == "booked_at"


def test_publish_accepts_what_the_document_allows(ledger_entry):
    for amount in (0.29, 0.07, 999999.99, -5):
        payload = {**GOOD, "amount": amount}
        assert LedgerEntry(data=payload).is_valid()
        publish(ledger_entry, payload)
    assert Event.objects.count() == 4


def test_a_decimals_own_bounds_are_documented_when_tighter_than_its_digits():
    class Fee(serializers.Serializer):
        fee = serializers.DecimalField(
            max_digits=6, decimal_places=2, coerce_to_string=False, min_value=0, max_value=50
        )

    assert serializer_json_schema(Fee)["properties"]["fee"] == {
        "type": "number",
        "format": "double",
        "multipleOf": 0.01,
        "maximum": 50,
        "minimum": 0,
    }


def test_syncing_a_declared_example_that_its_schema_refuses_names_the_webhook():
    registry = WebhookRegistry()
    registry.post("ledger-entry", example={**GOOD, "amount": 1.234})(LedgerEntry)
    with pytest.raises(ValueError, match="'ledger-entry': The example does not match"):
        sync(registry)
    assert not EventType.objects.filter(name="ledger-entry").exists()
