"""NUL characters and unpaired surrogates in JSON (PostgreSQL's jsonb refuses both) get a
400 naming the problem on either database, and nothing is stored; schemathesis found the
500 this was on PostgreSQL."""

from __future__ import annotations

import pytest

from deliveries.models import Event
from subscriptions.models import EventType

pytestmark = pytest.mark.django_db

NUL_KEY = '{"name": "nul-key", "schema": {"type": "object", "properties": {"a\\u0000b": {}}}}'
LONE_SURROGATE = '{"name": "lone", "schema": {"type": "object"}, "example": {"text": "x\\ud800y"}}'


@pytest.mark.parametrize(("body", "word"), [(NUL_KEY, "NUL"), (LONE_SURROGATE, "surrogate")])
def test_an_event_type_with_unstorable_text_is_refused(staff_api, body, word):
    before = EventType.objects.count()
    response = staff_api.generic(
        "POST", "/api/v1/event-types/", body, content_type="application/json"
    )
    assert response.status_code == 400, response.content
    assert word in response.content.decode()
    assert EventType.objects.count() == before


@pytest.mark.parametrize("text", ["a\\u0000b", "a\\udc00b"])
def test_a_payload_with_unstorable_text_is_refused(staff_api, text):
    EventType.objects.create(name="free-form", schema={"type": "object"})
    body = '{"type": "free-form", "data": {"note": "' + text + '"}}'
    response = staff_api.generic("POST", "/api/v1/events/", body, content_type="application/json")
    assert response.status_code == 400, response.content
    assert (
        "cannot be stored" in response.content.decode() or "surrogate" in response.content.decode()
    )
    assert not Event.objects.exists()
