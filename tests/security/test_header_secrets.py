"""Custom header values are secrets: one rule (headers.is_secret) decides which; their values
are encrypted at rest, masked on the endpoint pages and in the Django admin (for staff too),
revealed only by an audited POST, sent in clear to the receiver and redacted in the
attempts HookHub stores."""

from __future__ import annotations

import io

import pytest
from django.contrib.auth.models import Permission
from django.core.management import call_command
from django.db import connection
from django.test import override_settings
from django.urls import reverse

from deliveries.models import Attempt
from subscriptions.headers import MASK, REDACTED, is_secret
from subscriptions.models import AuditEntry, Endpoint
from tests.factories import EndpointFactory, StaffFactory

pytestmark = pytest.mark.django_db

TOKEN = "Bearer tok-3f9a1c-owner-credential"
API_KEY = "key-77d2-never-shown"
MARKED = "marked-by-the-owner-5521"
HEADERS = {"Authorization": TOKEN, "X-Api-Key": API_KEY, "X-Tenant": "acme", "X-Pass": MARKED}
SECRET_VALUES = (TOKEN, API_KEY, MARKED)


def secret_endpoint(**fields) -> Endpoint:
    fields.setdefault("headers", HEADERS)
    fields.setdefault("secret_header_names", ["X-Pass"])
    return EndpointFactory(**fields)


def assert_no_secret_in(text: str) -> None:
    for value in SECRET_VALUES:
        assert value not in text


@pytest.mark.parametrize(
    ("name", "marked", "secret"),
    [
        ("Authorization", [], True),
        ("proxy-authorization", [], True),
        ("Cookie", [], True),
        ("X-Api-Key", [], True),
        ("X_API_KEY", [], True),
        ("X-Auth-Token", [], True),
        ("x-client-secret", [], True),
        ("Token", [], True),
        ("X-Tenant", [], False),
        ("X-Keyboard", [], False),
        ("X-Tenant", ["x-tenant"], True),
        ("X-Team", ["X-Tenant"], False),
    ],
)
def test_one_rule_says_which_headers_are_secret(name, marked, secret):
    assert is_secret(name, marked) is secret


def test_header_values_are_encrypted_at_rest(owner):
    secret_endpoint(owner=owner)
    dump = io.StringIO()
    call_command("dumpdata", "subscriptions.endpoint", stdout=dump)
    with connection.cursor() as cursor:
        cursor.execute("SELECT * FROM subscriptions_endpoint")
        raw = repr(cursor.fetchall())
    for stored in (dump.getvalue(), raw):
        assert_no_secret_in(stored)
        assert "acme" not in stored  # the whole set is encrypted, not only secret values
    assert Endpoint.objects.get().headers == HEADERS


def test_key_rotation_re_encrypts_header_values(owner):
    with override_settings(HOOKHUB_ENCRYPTION_KEYS=["old-header-key"]):
        endpoint = secret_endpoint(owner=owner)
    with override_settings(HOOKHUB_ENCRYPTION_KEYS=["new-header-key", "old-header-key"]):
        call_command("rotate_encryption_key", stdout=io.StringIO())
    with override_settings(HOOKHUB_ENCRYPTION_KEYS=["new-header-key"]):
        assert Endpoint.objects.get(pk=endpoint.pk).headers == HEADERS


@pytest.mark.parametrize("viewer", ["owner", "staff"])
def test_the_endpoint_page_masks_secret_values_for_owner_and_staff(client, owner, staff, viewer):
    endpoint = secret_endpoint(owner=owner)
    client.force_login(owner if viewer == "owner" else staff)
    body = client.get(endpoint.get_absolute_url()).content.decode()
    assert_no_secret_in(body)
    assert "X-Tenant: acme" in body  # not a secret: shown as it is
    assert f"Authorization: {MASK}" in body and f"X-Pass: {MASK}" in body
    assert reverse("dashboard:headers-reveal", args=[endpoint.uid]) in body


def test_reveal_shows_the_values_once_and_writes_the_audit_entry(owner_client, owner):
    endpoint = secret_endpoint(owner=owner)
    reveal = reverse("dashboard:headers-reveal", args=[endpoint.uid])
    assert owner_client.get(reveal).status_code == 405  # a POST, never a link
    response = owner_client.post(reveal)
    assert response.status_code == 200
    assert "no-store" in response["Cache-Control"]
    body = response.content.decode()
    for value in SECRET_VALUES:
        assert value in body
    entry = AuditEntry.objects.get(action="endpoint.headers_revealed")
    assert entry.actor == owner and entry.object_id == str(endpoint.uid)
    assert entry.details == {"headers": ["Authorization", "X-Api-Key", "X-Pass"]}
    assert_no_secret_in(str(list(AuditEntry.objects.values_list("details", flat=True))))
    # The next plain view is masked again.
    assert_no_secret_in(owner_client.get(endpoint.get_absolute_url()).content.decode())


def test_an_outsider_cannot_reveal(client, outsider, owner):
    endpoint = secret_endpoint(owner=owner)
    client.force_login(outsider)
    response = client.post(reverse("dashboard:headers-reveal", args=[endpoint.uid]))
    assert response.status_code == 404
    assert not AuditEntry.objects.filter(action="endpoint.headers_revealed").exists()


def _form_data(form) -> dict:
    """What a browser posts back for an unchanged form."""
    data = {}
    for bound in form:
        value = bound.value()
        if bound.name == "event_types":
            data[bound.name] = [str(pk) for pk in value or []]
        elif isinstance(value, bool):
            if value:
                data[bound.name] = "on"
        elif value is not None:
            data[bound.name] = value
    return data


def test_editing_without_retyping_keeps_the_secret_values(owner_client, owner):
    endpoint = secret_endpoint(owner=owner, all_event_types=True)
    edit = reverse("dashboard:endpoint-edit", args=[endpoint.uid])
    page = owner_client.get(edit)
    assert_no_secret_in(page.content.decode())
    data = _form_data(page.context["form"])
    assert f"Authorization: {MASK}" in data["headers_text"]
    assert data["secret_headers_text"] == "Authorization, X-Api-Key, X-Pass"
    data["description"] = "renamed"
    data["headers_text"] = data["headers_text"].replace("X-Tenant: acme", "X-Tenant: globex")
    assert owner_client.post(edit, data).status_code == 302
    endpoint.refresh_from_db()
    assert endpoint.description == "renamed"
    assert endpoint.headers == {**HEADERS, "X-Tenant": "globex"}
    # Credential-like names are secret anyway: only the owner's own marks are stored.
    assert endpoint.secret_header_names == ["X-Pass"]


def test_a_typed_value_replaces_a_secret_and_a_mask_without_a_value_is_refused(owner_client, owner):
    endpoint = secret_endpoint(owner=owner, all_event_types=True)
    edit = reverse("dashboard:endpoint-edit", args=[endpoint.uid])
    data = _form_data(owner_client.get(edit).context["form"])
    data["headers_text"] = f"Authorization: Bearer new-one\nX-New-Token: {MASK}"
    response = owner_client.post(edit, data)
    assert response.status_code == 200
    assert "X-New-Token" in response.context["form"].errors["headers_text"][0]
    data["headers_text"] = "Authorization: Bearer new-one"
    assert owner_client.post(edit, data).status_code == 302
    endpoint.refresh_from_db()
    assert endpoint.headers == {"Authorization": "Bearer new-one"}


def test_the_owner_marks_a_header_secret_on_the_form(owner_client, owner, receiver):
    response = owner_client.post(
        reverse("dashboard:endpoint-create"),
        {
            "url": receiver.url(),
            "all_event_types": "on",
            "headers_text": f"X-Pass: {MARKED}\nX-Tenant: acme",
            "secret_headers_text": "x-pass",
        },
    )
    assert response.status_code == 302
    endpoint = Endpoint.objects.get()
    assert endpoint.headers == {"X-Pass": MARKED, "X-Tenant": "acme"}
    assert endpoint.secret_header_names == ["x-pass"]
    body = owner_client.get(endpoint.get_absolute_url()).content.decode()
    assert MARKED not in body and f"X-Pass: {MASK}" in body


def test_a_real_delivery_carries_the_values_and_the_stored_attempt_does_not(
    make_endpoint, receiver, publish_now, owner_client
):
    endpoint = make_endpoint(headers=HEADERS, secret_header_names=["X-Pass"])
    publish_now("order-paid", {"id": 7})
    assert receiver.wait_for(1, timeout=10)
    got = receiver.requests[0].headers
    assert got["authorization"] == TOKEN and got["x-api-key"] == API_KEY
    assert got["x-pass"] == MARKED and got["x-tenant"] == "acme"

    attempt = Attempt.objects.get(delivery__endpoint=endpoint)
    assert attempt.response_status == 200
    stored = attempt.request_headers
    assert stored["Authorization"] == stored["X-Api-Key"] == stored["X-Pass"] == REDACTED
    assert stored["X-Tenant"] == "acme" and stored["webhook-signature"] == REDACTED
    with connection.cursor() as cursor:
        cursor.execute("SELECT request_headers FROM deliveries_attempt")
        assert_no_secret_in(repr(cursor.fetchall()))
    page = owner_client.get(reverse("dashboard:delivery-detail", args=[attempt.delivery.uid]))
    assert_no_secret_in(page.content.decode())
    assert f"Authorization: {REDACTED}" in page.content.decode()


def test_the_admin_masks_values_and_keeps_them_when_saved_unchanged(admin_client, owner):
    endpoint = secret_endpoint(owner=owner, all_event_types=True)
    change = reverse("admin:subscriptions_endpoint_change", args=[endpoint.pk])
    page = admin_client.get(change)
    assert page.status_code == 200
    assert_no_secret_in(page.content.decode())
    form = page.context["adminform"].form
    data = {
        "owner": owner.pk,
        "url": endpoint.url,
        "description": "via admin",
        "all_event_types": "on",
        "headers": form["headers"].value(),  # the masked JSON, posted back as shown
        "secret_header_names": form["secret_header_names"].value(),
        "rate_limit": "",
        "state": "enabled",
    }
    assert MASK in data["headers"]
    response = admin_client.post(change, data)
    assert response.status_code == 302, response.context["adminform"].form.errors
    endpoint.refresh_from_db()
    assert endpoint.description == "via admin" and endpoint.headers == HEADERS
    assert endpoint.secret_header_names == ["X-Pass"]


def test_a_view_only_admin_sees_masked_values(client, owner):
    endpoint = secret_endpoint(owner=owner)
    viewer = StaffFactory(username="auditor")
    viewer.user_permissions.add(Permission.objects.get(codename="view_endpoint"))
    client.force_login(viewer)
    page = client.get(reverse("admin:subscriptions_endpoint_change", args=[endpoint.pk]))
    assert page.status_code == 200
    body = page.content.decode()
    assert_no_secret_in(body)
    assert "acme" in body  # the masked display is there, with the non-secret value


def test_error_reports_mask_header_dicts():
    from hookhub.error_reports import SecretMaskingExceptionReporterFilter

    report = SecretMaskingExceptionReporterFilter()
    for name in ("headers", "custom_headers", "request_headers"):
        assert report.mask(name, dict(HEADERS)) == report.cleansed_substitute
    assert report.mask("description", "acme") == "acme"
