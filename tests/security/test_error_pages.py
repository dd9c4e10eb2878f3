"""Secrets never reach an error page, even with DEBUG on."""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets as pysecrets
import sys

import pytest
from django.conf import settings
from django.test import RequestFactory, override_settings
from django.views.debug import technical_500_response

from subscriptions import secrets

pytestmark = pytest.mark.django_db

API_TOKEN = "hh_" + "A1b2C3d4E5f6G7h8I9j0" * 2


def signature_of(endpoint_secret: str) -> str:
    key = secrets.secret_key_bytes(endpoint_secret)
    return "v1," + base64.b64encode(hmac.new(key, b"msg.1.{}", hashlib.sha256).digest()).decode()


def explode(endpoint_secret: str) -> None:
    # Local names as a signing or transport function would have them.
    secret = endpoint_secret
    signing_key = secrets.secret_key_bytes(endpoint_secret)
    headers = {"webhook-signature": signature_of(endpoint_secret)}
    payload_note = f"signed with {endpoint_secret}"
    raise RuntimeError(f"receiver exploded ({len(secret)}, {len(signing_key)}, {headers!r:.1})")
    return payload_note  # pragma: no cover


def test_debug_error_page_masks_secrets_tokens_signatures_and_keys():
    # Made at run time: the page shows source lines, so literals would appear in it anyway.
    encryption_key = "key-" + pysecrets.token_hex(16)
    with override_settings(DEBUG=True, HOOKHUB_ENCRYPTION_KEYS=[encryption_key]):
        page, must_not_appear = render_error_page()
    for leaked in must_not_appear:
        assert leaked not in page, leaked


def render_error_page() -> tuple[str, list[str]]:
    endpoint_secret = secrets.generate_secret()
    request = RequestFactory().post(
        "/api/v1/events/",
        data={"password": "pw-in-post"},
        HTTP_AUTHORIZATION=f"Bearer {API_TOKEN}",
    )
    try:
        explode(endpoint_secret)
    except RuntimeError:
        response = technical_500_response(request, *sys.exc_info())
    page = response.content.decode()
    assert "receiver exploded" in page  # the page did render the traceback
    assert "payload_note" in page and "signing_key" in page
    return page, [
        endpoint_secret,
        endpoint_secret.removeprefix("whsec_"),
        API_TOKEN,
        signature_of(endpoint_secret).removeprefix("v1,"),
        settings.HOOKHUB_ENCRYPTION_KEYS[0],
        settings.SECRET_KEY,
    ]
