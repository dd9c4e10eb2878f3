"""Login throttling (django-axes) with the throttling ON, as in production."""

from __future__ import annotations

from datetime import timedelta

import pytest
from axes.models import AccessAttempt
from django.conf import settings
from django.test import Client, override_settings
from django.urls import reverse

from subscriptions.models import AuditEntry
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db

PASSWORD = "correct horse battery staple"


@pytest.fixture(autouse=True)
def throttling_on():
    with override_settings(AXES_ENABLED=True):
        yield


def sign_in(client: Client, username: str, password: str, ip: str = "203.0.113.7", path=None):
    return client.post(
        path or reverse("login"),
        {"username": username, "password": password},
        REMOTE_ADDR=ip,
    )


def signed_in(client: Client) -> bool:
    return "_auth_user_id" in client.session


def fail_until_locked(client: Client, username: str, ip: str = "203.0.113.7") -> None:
    for _ in range(settings.AXES_FAILURE_LIMIT):
        response = sign_in(client, username, "wrong password", ip)
        assert response.status_code in (200, 429)


def advance_clock_past_cool_off() -> None:
    """Move the recorded failures back in time by the cool-off, which is what the lockout
    is measured from: the same as the clock moving forward, without sleeping 15 minutes."""
    shift = settings.AXES_COOLOFF_TIME + timedelta(seconds=1)
    for attempt in AccessAttempt.objects.all():
        attempt.attempt_time -= shift
        attempt.save(update_fields=["attempt_time"])


def test_right_password_is_refused_after_the_failure_limit_until_the_cool_off_passes():
    UserFactory(username="carol")
    client = Client()
    for number in range(1, settings.AXES_FAILURE_LIMIT):
        response = sign_in(client, "carol", "wrong password")
        assert response.status_code == 200, f"failure {number} should just re-show the form"
        assert "correct username and password" in response.content.decode()
    # The limit-th failure locks.
    assert sign_in(client, "carol", "wrong password").status_code == 429

    locked = sign_in(client, "carol", PASSWORD)
    assert locked.status_code == 429
    body = locked.content.decode()
    assert "Too many failed sign-in attempts" in body
    assert f"after {settings.AXES_FAILURE_LIMIT} failed attempts" in body
    minutes = int(settings.AXES_COOLOFF_TIME.total_seconds() // 60)
    assert f"Try again in {minutes} minutes" in body
    assert not signed_in(client)

    advance_clock_past_cool_off()
    allowed = sign_in(client, "carol", PASSWORD)
    assert allowed.status_code == 302
    assert signed_in(client)


def test_lockout_is_per_username_and_address():
    UserFactory(username="carol")
    UserFactory(username="dave")
    fail_until_locked(Client(), "carol", ip="203.0.113.7")
    assert sign_in(Client(), "carol", PASSWORD, ip="203.0.113.7").status_code == 429

    # The same user from another address, and another user from the same address, still
    # sign in: an attacker can't lock a customer out from everywhere.
    assert sign_in(Client(), "carol", PASSWORD, ip="198.51.100.9").status_code == 302
    assert sign_in(Client(), "dave", PASSWORD, ip="203.0.113.7").status_code == 302


def test_admin_login_is_throttled_too():
    UserFactory(username="root", is_staff=True, is_superuser=True)
    admin_login = reverse("admin:login")
    client = Client()
    for _ in range(settings.AXES_FAILURE_LIMIT):
        sign_in(client, "root", "wrong password", path=admin_login)
    response = sign_in(client, "root", PASSWORD, path=admin_login)
    assert response.status_code == 429
    assert "Too many failed sign-in attempts" in response.content.decode()


def test_failed_sign_ins_are_audited_with_username_and_address_but_no_password():
    UserFactory(username="carol")
    sign_in(Client(), "carol", "hunter2-wrong", ip="203.0.113.7")
    entry = AuditEntry.objects.get(action="login.failed")
    assert entry.actor is None
    assert entry.actor_label == "anonymous"
    assert entry.details["username"] == "carol"
    assert entry.ip_address == "203.0.113.7"
    assert entry.created_at.utcoffset() == timedelta(0)
    stored = repr(list(AuditEntry.objects.values()))
    assert "hunter2" not in stored


def test_a_password_sign_in_is_audited_and_a_session_made_in_code_is_not():
    carol = UserFactory(username="carol")
    client = Client()
    sign_in(client, "carol", PASSWORD, ip="203.0.113.9")
    assert signed_in(client)
    entry = AuditEntry.objects.get(action="login.succeeded")
    assert entry.actor == carol and entry.actor_label == "carol"
    assert entry.object_id == str(carol.pk) and entry.ip_address == "203.0.113.9"
    assert PASSWORD not in repr(list(AuditEntry.objects.values()))
    Client().force_login(carol)
    assert AuditEntry.objects.filter(action="login.succeeded").count() == 1


@override_settings(HOOKHUB_TRUSTED_PROXY_COUNT=1)
def test_behind_one_trusted_proxy_the_forwarded_client_address_is_throttled():
    """A client can prepend fake X-Forwarded-For entries; only the one the proxy appended
    counts, so rotating fake addresses does not escape the lockout."""
    UserFactory(username="carol")
    client = Client()
    for number in range(settings.AXES_FAILURE_LIMIT):
        client.post(
            reverse("login"),
            {"username": "carol", "password": "wrong"},
            REMOTE_ADDR="10.0.0.2",
            HTTP_X_FORWARDED_FOR=f"192.0.2.{number}, 203.0.113.7",
        )
    response = client.post(
        reverse("login"),
        {"username": "carol", "password": PASSWORD},
        REMOTE_ADDR="10.0.0.2",
        HTTP_X_FORWARDED_FOR="192.0.2.200, 203.0.113.7",
    )
    assert response.status_code == 429
    assert set(AccessAttempt.objects.values_list("ip_address", flat=True)) == {"203.0.113.7"}


def test_api_token_and_session_auth_keep_working_with_throttling_on():
    """Bearer tokens never go through authenticate(); the session API reuses the login."""
    from subscriptions.models import ApiToken

    user = UserFactory(username="carol")
    _, key = ApiToken.issue(user)
    assert Client(HTTP_AUTHORIZATION=f"Bearer {key}").get("/api/v1/endpoints/").status_code == 200
    client = Client()
    assert sign_in(client, "carol", PASSWORD).status_code == 302
    assert client.get("/api/v1/endpoints/").status_code == 200
    wrong = Client(HTTP_AUTHORIZATION="Bearer hh_not-a-real-token").get("/api/v1/endpoints/")
    assert wrong.status_code == 401
