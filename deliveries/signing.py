"""Standard Webhooks signatures (https://www.standardwebhooks.com/).

The signed content is `{webhook-id}.{webhook-timestamp}.{body}`, HMAC-SHA256 keyed with the
base64-decoded part of each `whsec_...` secret. During a secret rotation both the current and
the previous secret sign, so a receiver holding either one verifies the request.
"""

from __future__ import annotations

import base64
import hashlib
import hmac

from subscriptions.secrets import secret_key_bytes

SIGNATURE_VERSION = "v1"
REDACTED = "[redacted]"


def sign(msg_id: str, timestamp: int, body: bytes, secrets: list[str]) -> str:
    """The `webhook-signature` header value: one `v1,<base64>` entry per secret."""
    signed = f"{msg_id}.{int(timestamp)}.".encode() + body
    entries = []
    for secret in secrets:
        digest = hmac.new(secret_key_bytes(secret), signed, hashlib.sha256).digest()
        entries.append(f"{SIGNATURE_VERSION},{base64.b64encode(digest).decode()}")
    return " ".join(entries)


def signature_headers(msg_id: str, timestamp: int, body: bytes, secrets: list[str]) -> dict:
    return {
        "webhook-id": msg_id,
        "webhook-timestamp": str(int(timestamp)),
        "webhook-signature": sign(msg_id, timestamp, body, secrets),
    }


def redact(headers: dict) -> dict:
    """Headers as stored on an Attempt: the signature is derived from the secret, so it goes."""
    return {
        name: (REDACTED if name.lower() == "webhook-signature" else value)
        for name, value in headers.items()
    }
