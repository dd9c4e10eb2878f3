"""Production settings: `check --deploy` clean, HSTS and secure cookies, and the system check
that refuses a disabled outbound address guard."""

from __future__ import annotations

import json
import os
import secrets
import subprocess
import sys
from pathlib import Path

import pytest
from django.core.checks import Error
from django.core.management import call_command
from django.core.management.base import SystemCheckError
from django.test import override_settings

from subscriptions.checks import address_guard_enabled

ROOT = Path(__file__).resolve().parents[2]


def production_env(**extra: str) -> dict[str, str]:
    env = {
        key: value
        for key, value in os.environ.items()
        # Strip everything the test run sets, so the real settings module decides.
        if not key.startswith(("HOOKHUB_", "DJANGO_", "DEBUG", "SECURE_", "AXES"))
    }
    env.update(
        DJANGO_SETTINGS_MODULE="hookhub.settings",
        DEBUG="0",
        SECRET_KEY=secrets.token_urlsafe(64),
        ALLOWED_HOSTS="hookhub.example.com",
        SECURE_SSL_REDIRECT="1",
        LOG_LEVEL="WARNING",
    )
    env.update(extra)
    return env


def run_manage(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_check_deploy_is_clean_with_production_settings():
    result = run_manage("check", "--deploy", "--fail-level", "WARNING", env=production_env())
    assert result.returncode == 0, result.stdout + result.stderr
    assert "System check identified no issues" in result.stdout


def test_production_settings_send_hsts_and_secure_cookies():
    script = (
        "import django, json; django.setup(); from django.conf import settings as s; "
        "print(json.dumps({k: getattr(s, k) for k in ['SECURE_HSTS_SECONDS', "
        "'SESSION_COOKIE_SECURE', 'CSRF_COOKIE_SECURE', 'SECURE_SSL_REDIRECT', "
        "'SESSION_COOKIE_HTTPONLY', 'X_FRAME_OPTIONS', 'HOOKHUB_ADDRESS_GUARD', 'DEBUG']}))"
    )
    result = subprocess.run(
        [sys.executable, "-c", script],
        cwd=ROOT,
        env=production_env(),
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    values = json.loads(result.stdout.strip().splitlines()[-1])
    assert values["SECURE_HSTS_SECONDS"] >= 31536000
    assert values["SESSION_COOKIE_SECURE"] is True
    assert values["CSRF_COOKIE_SECURE"] is True
    assert values["SECURE_SSL_REDIRECT"] is True
    assert values["SESSION_COOKIE_HTTPONLY"] is True
    assert values["X_FRAME_OPTIONS"] == "DENY"
    assert values["HOOKHUB_ADDRESS_GUARD"] is True
    assert values["DEBUG"] is False


def test_production_refuses_to_start_without_a_secret_key():
    env = production_env()
    del env["SECRET_KEY"]
    result = run_manage("check", env=env)
    assert result.returncode != 0
    assert "SECRET_KEY must be set" in result.stderr


def test_disabled_address_guard_fails_the_system_check_in_production():
    result = run_manage("check", env=production_env(HOOKHUB_ADDRESS_GUARD="0"))
    assert result.returncode != 0
    assert "hookhub.E001" in result.stderr
    assert "HOOKHUB_ADDRESS_GUARD is off while DEBUG is off" in result.stderr


@override_settings(HOOKHUB_ADDRESS_GUARD=False, DEBUG=False)
def test_address_guard_check_errors_in_process():
    problems = address_guard_enabled()
    assert [problem.id for problem in problems] == ["hookhub.E001"]
    assert isinstance(problems[0], Error)
    with pytest.raises(SystemCheckError, match="hookhub.E001"):
        call_command("check")


@pytest.mark.parametrize(("guard", "debug"), [(True, False), (True, True), (False, True)])
def test_address_guard_check_passes_when_guard_on_or_debugging(guard, debug):
    with override_settings(HOOKHUB_ADDRESS_GUARD=guard, DEBUG=debug):
        assert address_guard_enabled() == []


def renderers(env: dict[str, str]) -> list[str]:
    script = (
        "import django; django.setup(); from rest_framework.settings import api_settings; "
        "print(','.join(c.__name__ for c in api_settings.DEFAULT_RENDERER_CLASSES))"
    )
    result = subprocess.run(
        [sys.executable, "-c", script],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    return result.stdout.strip().splitlines()[-1].split(",")


def test_the_browsable_api_is_off_in_production_and_on_while_debugging():
    assert renderers(production_env()) == ["JSONRenderer"]
    assert renderers(production_env(DEBUG="1")) == ["JSONRenderer", "BrowsableAPIRenderer"]


@pytest.mark.django_db
def test_a_browser_opening_an_api_url_gets_json_when_debug_is_off(client, owner):
    # tests/settings.py runs with DEBUG off, like production.
    client.force_login(owner)
    browser_accept = "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"
    response = client.get("/api/v1/endpoints/", HTTP_ACCEPT=browser_accept)
    assert response.status_code == 200
    assert response["Content-Type"] == "application/json"
    assert response.json()["results"] == []
