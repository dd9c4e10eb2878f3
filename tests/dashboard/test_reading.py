"""Pages are easy to read and copy from: JSON is JSON (indented, never a Python repr), times
say UTC in a <time> that local-time.js extends, copy buttons are marked for copy.js, the API
docs are linked, and a long URL wraps or is refused with one message, never cut."""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime
from pathlib import Path

import pytest
from django.contrib.staticfiles import finders
from django.core.exceptions import ValidationError
from django.template import Context, Template
from django.urls import reverse

from dashboard.templatetags.dashboard import pretty_json, utc_time
from subscriptions.audit import record
from subscriptions.forms import EndpointForm
from subscriptions.models import Endpoint, EventType
from tests.factories import AttemptFactory, DeliveryFactory, EndpointFactory

pytestmark = pytest.mark.django_db

LIMIT = Endpoint._meta.get_field("url").max_length


def test_pretty_json_indents_values_and_json_text_and_keeps_other_text():
    assert pretty_json({"a": [1, "é"]}) == '{\n  "a": [\n    1,\n    "é"\n  ]\n}'
    assert pretty_json('{"id":1}') == '{\n  "id": 1\n}'
    assert pretty_json("not json at all") == "not json at all"
    assert pretty_json('{"cut at the size ca') == '{"cut at the size ca'
    assert pretty_json(None) == "null" and pretty_json(True) == "true"


def test_pretty_json_keeps_deep_nesting_compact():
    deep = "[" * 900 + "]" * 900
    assert pretty_json(deep) == deep  # indented, it would be 1.6 MB
    too_deep = "[" * 100_000 + "]" * 100_000
    assert pretty_json(too_deep) == too_deep


def test_pretty_json_output_is_escaped_in_templates():
    rendered = Template("{% load dashboard %}{{ v|pretty_json }}").render(
        Context({"v": {"x": "<script>"}})
    )
    assert "&lt;script&gt;" in rendered and "<script>" not in rendered


def test_utc_time_is_a_time_element_with_utc_text():
    moment = datetime(2026, 1, 2, 3, 4, 5, 678000, tzinfo=UTC)
    assert utc_time(moment) == (
        '<time class="utc" datetime="2026-01-02T03:04:05.678Z">2026-01-02 03:04 UTC</time>'
    )
    assert ">2026-01-02 03:04:05 UTC<" in utc_time(moment, "seconds")
    assert ">2026-01-02 03:04:05.678 UTC<" in utc_time(moment, "ms")
    assert utc_time(None) == ""


def test_delivery_page_shows_bodies_as_json_times_in_utc_and_copy_markers(owner_client, owner):
    delivery = DeliveryFactory(endpoint=EndpointFactory(owner=owner))
    AttemptFactory(
        delivery=delivery,
        started_at=datetime(2026, 1, 2, 3, 4, 5, 678000, tzinfo=UTC),
        request_body=json.dumps({"type": "order-paid", "data": {"id": 7}}),
        response_status=200,
        response_body='{"ok":true}',
    )
    body = owner_client.get(delivery.get_absolute_url()).content.decode()
    assert "{\n  &quot;type&quot;: &quot;order-paid&quot;,\n  &quot;data&quot;: {" in body
    assert "{\n  &quot;ok&quot;: true\n}" in body
    assert f'<code data-copy="webhook-id">{delivery.event.uid}</code>' in body
    assert 'data-copy="request body of attempt 1"' in body
    assert 'data-copy="response body of attempt 1"' in body
    assert '<time class="utc" datetime="2026-01-02T03:04:05.678Z">2026-01-02 03:04:05.678 UTC' in (
        body
    )


def test_audit_details_are_json_not_a_python_repr(staff_client, staff):
    record(staff, "endpoint.updated", changed=["url"], note="it's")
    body = staff_client.get(reverse("dashboard:audit-log")).content.decode()
    details = re.search(r'<pre class="json details"><code>(.*?)</code></pre>', body, re.S)
    assert details, body
    assert "&quot;changed&quot;: [\n    &quot;url&quot;\n  ]" in details.group(1)
    assert "[&#x27;url&#x27;]" not in body and "{&#x27;" not in body


def test_a_code_declared_types_schema_and_example_are_json(staff_client):
    event_type = EventType.objects.filter(source=EventType.Source.CODE).first()
    assert event_type is not None  # the demo catalogue is synced into the test database
    page = staff_client.get(reverse("dashboard:event-type-edit", args=[event_type.name]))
    body = page.content.decode()
    expected = json.dumps(event_type.schema, indent=2, ensure_ascii=False)
    assert expected.replace('"', "&quot;").replace("'", "&#x27;") in body
    assert 'data-copy="schema"' in body and "{&#x27;" not in body


def test_endpoint_page_marks_the_url_and_a_revealed_secret_for_copying(owner_client, owner):
    endpoint = EndpointFactory(owner=owner)
    page = owner_client.get(endpoint.get_absolute_url()).content.decode()
    assert f'<h1 class="mono url" data-copy="endpoint URL">{endpoint.url}</h1>' in page
    revealed = owner_client.post(reverse("dashboard:secret-reveal", args=[endpoint.uid]))
    assert 'data-copy="signing secret"' in revealed.content.decode()


def test_inbox_url_has_a_copy_marker(owner_client):
    body = owner_client.get(reverse("demo:inbox")).content.decode()
    assert re.search(r'<code class="secret" id="inbox-url" data-copy="inbox URL">', body)


def test_pages_load_the_self_hosted_scripts_the_csp_allows(owner_client):
    response = owner_client.get(reverse("dashboard:endpoint-list"))
    body = response.content.decode()
    for name in ("local-time.js", "copy.js"):
        assert f'<script src="/static/hookhub/{name}" defer></script>' in body
        assert finders.find(f"hookhub/{name}")
    assert "script-src 'self'" in response["Content-Security-Policy"]
    assert "<script>" not in body  # nothing inline


def test_navigation_and_catalogue_link_the_api_docs_not_the_yaml(owner_client):
    nav = owner_client.get(reverse("dashboard:endpoint-list")).content.decode()
    catalogue = owner_client.get(reverse("dashboard:webhooks")).content.decode()
    for body in (nav, catalogue):
        assert f'href="{reverse("redoc")}"' in body and f'href="{reverse("swagger-ui")}"' in body
    assert f'href="{reverse("schema")}"' not in catalogue
    assert 'data-copy="receiver code"' in catalogue


def test_the_url_input_has_no_maxlength_to_cut_a_paste(owner_client):
    body = owner_client.get(reverse("dashboard:endpoint-create")).content.decode()
    url_input = re.search(r'<input type="url" name="url"[^>]*>', body).group(0)
    assert "maxlength" not in url_input
    assert "maxlength" not in str(EndpointForm()["url"])


def test_a_url_over_the_limit_is_refused_with_one_clear_message(owner_client, receiver):
    too_long = receiver.url("/" + "a" * 2500)
    response = owner_client.post(
        reverse("dashboard:endpoint-create"), {"url": too_long, "all_event_types": "on"}
    )
    assert response.status_code == 200
    assert response.context["form"].errors["url"] == [
        f"This URL is {len(too_long):,} characters long; HookHub accepts up to 2,000."
    ]
    assert not Endpoint.objects.exists()


def test_a_url_at_the_limit_is_saved_whole(owner_client, owner, receiver):
    base = receiver.url("/")
    url = base + "a" * (LIMIT - len(base))
    response = owner_client.post(
        reverse("dashboard:endpoint-create"), {"url": url, "all_event_types": "on"}
    )
    assert response.status_code == 302
    assert Endpoint.objects.get(owner=owner).url == url


def test_the_admin_url_field_has_the_same_rule():
    from subscriptions.admin import EndpointAdminForm

    form = EndpointAdminForm()
    assert "maxlength" not in str(form["url"])
    field = form.fields["url"]
    with pytest.raises(ValidationError, match="accepts up to 2,000"):
        field.clean("https://example.com/" + "a" * 2100)


def test_long_urls_and_json_wrap_instead_of_widening_the_page():
    css = Path(finders.find("hookhub/hookhub.css")).read_text(encoding="utf-8")
    assert re.search(r"\.mono, \.url, code\.secret \{ overflow-wrap: anywhere; \}", css)
    assert re.search(r"pre \{ word-break: normal; overflow-wrap: anywhere; \}", css)


def test_the_endpoint_list_url_cell_is_one_that_wraps(owner_client, owner):
    EndpointFactory(owner=owner, url="https://example.com/" + "long-segment/" * 100)
    body = owner_client.get(reverse("dashboard:endpoint-list")).content.decode()
    assert '<td class="mono"><a href="' in body
