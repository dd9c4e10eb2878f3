"""The catalogue's typed receiver code pages: one per event type, linked from /webhooks/,
generated from the served document and reused until the catalogue changes; without Node.js
the TypeScript part says so and the rest of the page still works."""

from __future__ import annotations

import html
import shutil

import pytest
from django.conf import settings
from django.core.cache import caches
from django.test import Client
from django.urls import reverse

from subscriptions.models import EventType
from tests.factories import EventTypeFactory

pytestmark = pytest.mark.django_db

needs_node = pytest.mark.skipif(
    shutil.which("node") is None,
    reason="node is not installed: the page can't show generated TypeScript types",
)


@pytest.fixture(autouse=True)
def _fresh_code_cache():
    # Tests roll their rows back, so a catalogue fingerprint can repeat across tests.
    caches[settings.HOOKHUB_RECEIVER_CODE_CACHE].clear()
    yield
    caches[settings.HOOKHUB_RECEIVER_CODE_CACHE].clear()


def code_url(name: str) -> str:
    return reverse("dashboard:webhook-code", args=[name])


def page_text(response) -> str:
    """The page's main content as a reader sees it (no per-request CSRF token)."""
    assert response.status_code == 200
    body = response.content.decode()
    return html.unescape(body[body.index("<main") : body.index("</main>")])


def test_catalogue_links_every_active_type_to_its_code_page(owner_client):
    EventTypeFactory(name="order-paid")
    EventTypeFactory(name="order-gone", archived=True)
    body = owner_client.get(reverse("dashboard:webhooks")).content.decode()
    assert f'href="{code_url("order-paid")}"' in body
    assert f'href="{code_url("new-subscription")}"' in body
    assert code_url("order-gone") not in body


@needs_node
def test_code_page_shows_models_types_and_both_receivers(owner_client):
    text = page_text(owner_client.get(code_url("new-subscription")))
    assert "class NewSubscriptionEvent(BaseModel):" in text
    assert "    data: NewSubscription" in text
    assert "export type NewSubscriptionEvent = components['schemas']['NewSubscriptionEvent'];" in (
        text
    )
    assert "event = NewSubscriptionEvent.model_validate(payload)" in text
    assert 'import type { NewSubscriptionEvent } from "./hookhub-types";' in text


def test_without_node_the_typescript_part_says_so_and_the_rest_works(owner_client, settings):
    settings.HOOKHUB_NODE = "hookhub-no-such-node"
    response = owner_client.get(code_url("new-subscription"))
    text = page_text(response)
    assert "Node.js is not installed" in text
    assert "class NewSubscriptionEvent(BaseModel):" in text
    assert 'import type { NewSubscriptionEvent } from "./hookhub-types";' in text
    download = owner_client.get(code_url("new-subscription"), {"download": "hookhub-types.ts"})
    assert download.status_code == 404 and b"Node.js is not installed" in download.content
    everything = owner_client.get(reverse("dashboard:catalogue-types"))
    assert everything.status_code == 404 and b"Node.js is not installed" in everything.content


def test_without_openapi_typescript_the_page_says_it_is_not_installed(
    owner_client, settings, tmp_path
):
    settings.HOOKHUB_OPENAPI_TYPESCRIPT = str(tmp_path / "missing" / "openapi-typescript")
    text = page_text(owner_client.get(code_url("new-subscription")))
    if shutil.which(settings.HOOKHUB_NODE) is None:
        assert "Node.js is not installed" in text
    else:
        assert "openapi-typescript is not installed" in text
    assert "class NewSubscriptionEvent(BaseModel):" in text


def test_code_is_reused_until_the_catalogue_changes(owner_client, settings):
    event_type = EventTypeFactory(name="order-paid")
    first = page_text(owner_client.get(code_url("order-paid")))
    assert "class OrderPaidEvent(BaseModel):" in first

    # Generators given no time at all: only a cached page can still show code.
    settings.HOOKHUB_DATAMODEL_CODEGEN_TIMEOUT = 0.001
    assert page_text(owner_client.get(code_url("order-paid"))) == first

    event_type.description = "Edited: the catalogue changed."
    event_type.save()
    after = page_text(owner_client.get(code_url("order-paid")))
    assert "datamodel-code-generator took longer than 0.001 s" in after


def test_downloads_are_plain_text_files(owner_client):
    response = owner_client.get(code_url("new-subscription"), {"download": "receiver.py"})
    assert response.status_code == 200
    assert response["Content-Type"] == "text/plain; charset=utf-8"
    assert response["Content-Disposition"] == 'attachment; filename="receiver.py"'
    assert b"from hookhub_models import NewSubscriptionEvent" in response.content
    other = owner_client.get(code_url("new-subscription"), {"download": "../settings.py"})
    assert other.status_code == 404


def test_all_types_file_has_a_model_for_every_active_type(owner_client):
    EventTypeFactory(name="order-paid")
    EventTypeFactory(name="order-gone", archived=True)
    response = owner_client.get(reverse("dashboard:catalogue-models"))
    assert response.status_code == 200
    assert response["Content-Disposition"] == 'attachment; filename="hookhub_models.py"'
    models = response.content.decode()
    assert "class OrderPaidEvent(BaseModel):" in models
    assert "class NewSubscriptionEvent(BaseModel):" in models
    assert "OrderGone" not in models
    assert f'href="{reverse("dashboard:catalogue-models")}"' in (
        owner_client.get(reverse("dashboard:webhooks")).content.decode()
    )


def test_archived_and_unknown_types_have_no_code_page(owner_client):
    EventTypeFactory(name="order-gone", archived=True)
    assert owner_client.get(code_url("order-gone")).status_code == 404
    assert owner_client.get(code_url("no-such-type")).status_code == 404


def test_code_page_needs_a_sign_in_and_takes_only_get(owner_client):
    response = Client().get(code_url("new-subscription"))
    assert response.status_code == 302 and "/accounts/login/" in response["Location"]
    assert owner_client.post(code_url("new-subscription")).status_code == 405


def test_admin_schema_text_is_escaped_on_the_page(owner_client):
    EventTypeFactory(
        name="order-noted",
        schema={
            "type": "object",
            "description": "<script>alert(1)</script>",
            "properties": {"note": {"type": "string", "description": "<b>bold</b>"}},
        },
        example={"note": "x"},
    )
    body = owner_client.get(code_url("order-noted")).content.decode()
    assert "class OrderNotedEvent(BaseModel):" in body
    assert "<script>alert(1)</script>" not in body and "<b>bold</b>" not in body


def test_staff_page_of_a_code_declared_type_links_to_its_code(staff_client):
    assert EventType.objects.get(name="new-subscription").is_code_declared
    page = staff_client.get(reverse("dashboard:event-type-edit", args=["new-subscription"]))
    assert f'href="{code_url("new-subscription")}"' in page.content.decode()
