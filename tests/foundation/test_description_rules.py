"""An event type's description (whose first line is its summary) and a code declaration's
summary and docstring refuse invisible control characters: they are copied into the OpenAPI
document, and one C1 character made it unreadable to openapi-spec-validator. The dashboard,
the API and the admin refuse them through the model field's validator."""

from __future__ import annotations

import pytest
from django.core.exceptions import ValidationError
from django.urls import reverse
from openapi_spec_validator import validate
from openapi_spec_validator.validation import OpenAPIV31SpecValidator
from rest_framework import serializers

from hookhub.api.docs import clear_cache
from subscriptions.catalog import WebhookRegistry
from subscriptions.models import EventType, validate_no_control_characters
from tests.api.conftest import bearer_client
from tests.factories import EventTypeFactory, StaffFactory

REFUSED = ["\x00", "\x08", "\x0b", "\x1b", "\x1f", "\x7f", "\x80", "\x85", "\x9f"]
# In the middle of the text: forms strip surrounding whitespace, and Python counts some
# control characters (U+001C-U+001F, U+0085) as whitespace.
BROKEN = "Paid in full.\x85 Sent once."


@pytest.mark.parametrize("char", REFUSED, ids=[f"U+{ord(c):04X}" for c in REFUSED])
def test_control_characters_are_refused_with_their_code_point_and_position(char):
    with pytest.raises(ValidationError) as caught:
        validate_no_control_characters(f"ab{char}c")
    assert caught.value.messages == [
        f"Remove the invisible control character U+{ord(char):04X} (character 3): it would "
        "make the API document unreadable. Tabs and line breaks are fine."
    ]


def test_tabs_line_breaks_and_printable_unicode_are_allowed():
    validate_no_control_characters("Paid\tin full.\r\nSent once, café, 支払い, \u00a0 ✓")
    validate_no_control_characters("")


@pytest.mark.django_db
def test_the_dashboard_form_refuses_a_control_character_in_the_description(staff_client):
    form = {"name": "refund-issued", "description": BROKEN, "method": "POST"}
    response = staff_client.post(reverse("dashboard:event-type-create"), form)
    assert response.status_code == 200
    assert "U+0085" in str(response.context["form"].errors["description"])
    assert not EventType.objects.filter(name="refund-issued").exists()


@pytest.mark.django_db
def test_the_api_refuses_a_control_character_on_create_and_on_edit(staff):
    staff_api = bearer_client(staff)
    body = {"name": "refund-issued", "description": BROKEN, "method": "POST"}
    response = staff_api.post("/api/v1/event-types/", body, format="json")
    assert response.status_code == 400
    assert "U+0085" in response.json()["errors"]["description"][0]
    assert not EventType.objects.filter(name="refund-issued").exists()

    EventTypeFactory(name="refund-issued", description="Refunded.")
    response = staff_api.patch(
        "/api/v1/event-types/refund-issued/", {"description": "Re\x9ffunded."}, format="json"
    )
    assert response.status_code == 400
    assert "U+009F" in response.json()["errors"]["description"][0]
    assert EventType.objects.get(name="refund-issued").description == "Refunded."


@pytest.mark.django_db
def test_the_admin_refuses_a_control_character_in_the_description(client):
    client.force_login(StaffFactory(is_superuser=True))
    form = {"name": "refund-issued", "description": BROKEN, "method": "POST"}
    response = client.post(reverse("admin:subscriptions_eventtype_add"), form)
    assert response.status_code == 200
    assert "U+0085" in str(response.context["adminform"].form.errors["description"])
    assert not EventType.objects.filter(name="refund-issued").exists()


def test_a_declaration_with_a_control_character_in_its_summary_is_refused():
    class Refund(serializers.Serializer):
        """A refund was issued."""

    with pytest.raises(ValueError, match=r"'refund-issued'\): the summary: .*U\+0085"):
        WebhookRegistry().post("refund-issued", summary="Refund\x85 issued")(Refund)


def test_a_declaration_with_a_control_character_in_its_docstring_is_refused():
    class Refund(serializers.Serializer):
        """A refund was issued.

        Sent once\x1b per refund."""

    with pytest.raises(ValueError, match=r"the docstring: .*U\+001B"):
        WebhookRegistry().post("refund-issued")(Refund)


@pytest.mark.django_db
def test_the_document_stays_readable_with_tabs_and_line_breaks_in_a_description(staff):
    clear_cache()  # the document cache outlives each test's rolled-back rows
    api = bearer_client(staff)
    body = {"name": "refund-issued", "description": "Refunded.\n\n\tOnce per refund.\r\n"}
    assert api.post("/api/v1/event-types/", body, format="json").status_code == 201
    document = api.get("/api/schema/", {"format": "json"}).json()
    validate(document, cls=OpenAPIV31SpecValidator)
    assert document["webhooks"]["refund-issued"]["post"]["summary"] == "Refunded."
