"""Security headers and a Content-Security-Policy without inline scripts."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from django.conf import settings
from django.http import HttpResponse
from django.test import RequestFactory
from django.urls import reverse

from hookhub.csp import ContentSecurityPolicyMiddleware, csp_update

pytestmark = pytest.mark.django_db

ROOT = Path(__file__).resolve().parents[2]


def directives(header: str) -> dict[str, list[str]]:
    parsed = {}
    for part in header.split(";"):
        name, *sources = part.split()
        parsed[name] = sources
    return parsed


def test_pages_send_csp_without_inline_scripts_and_the_usual_headers(client, owner):
    client.force_login(owner)
    for url in (reverse("login"), reverse("dashboard:endpoint-list")):
        response = client.get(url)
        assert response.status_code == 200, url
        policy = directives(response["Content-Security-Policy"])
        assert policy["default-src"] == ["'self'"]
        assert policy["script-src"] == ["'self'"]
        assert policy["object-src"] == ["'none'"]
        assert policy["frame-ancestors"] == ["'none'"]
        assert not any("unsafe" in source for sources in policy.values() for source in sources)
        assert response["X-Frame-Options"] == "DENY"
        assert response["X-Content-Type-Options"] == "nosniff"
        assert response["Referrer-Policy"] == "same-origin"


def test_csp_update_widens_one_view_only_and_never_drops_the_defaults():
    view = csp_update(style_src=["'unsafe-inline'"], worker_src=["blob:"])(
        lambda request: HttpResponse("ok")
    )
    middleware = ContentSecurityPolicyMiddleware(view)
    policy = directives(middleware(RequestFactory().get("/"))["Content-Security-Policy"])
    assert policy["style-src"] == ["'self'", "'unsafe-inline'"]
    assert policy["worker-src"] == ["'self'", "blob:"]
    assert policy["script-src"] == ["'self'"]
    plain = ContentSecurityPolicyMiddleware(lambda request: HttpResponse("ok"))
    assert "unsafe-inline" not in plain(RequestFactory().get("/"))["Content-Security-Policy"]


INLINE_SCRIPT = re.compile(r"<script(?![^>]*\bsrc=)[^>]*>", re.I)
INLINE_HANDLER = re.compile(r"\son[a-z]+\s*=", re.I)
JS_URL = re.compile(r"javascript:", re.I)


def project_templates() -> list[Path]:
    dirs = [Path(d) for d in settings.TEMPLATES[0]["DIRS"]]
    dirs += [ROOT / app / "templates" for app in ("subscriptions", "deliveries", "demo")]
    return sorted(path for d in dirs if d.exists() for path in d.rglob("*.html"))


def test_no_project_template_has_inline_script_or_event_handler():
    """The header forbids inline scripts; this keeps templates from relying on them (they
    would silently stop working in browsers)."""
    templates = project_templates()
    assert templates, "no templates found"
    offenders = []
    for path in templates:
        text = path.read_text()
        for pattern in (INLINE_SCRIPT, INLINE_HANDLER, JS_URL):
            if pattern.search(text):
                offenders.append(f"{path.relative_to(ROOT)}: {pattern.search(text).group(0)}")
    assert offenders == []
