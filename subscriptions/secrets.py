"""Signing secrets: generation and encryption at rest.

Secrets are `whsec_` + base64 of random bytes (Standard Webhooks). They are stored encrypted
with Fernet under HOOKHUB_ENCRYPTION_KEYS (first key encrypts, every key decrypts), so the
key can be rotated without downtime: add the new key first, run `rotate_encryption_key`,
then drop the old one. Unset, one key is derived from SECRET_KEY.
"""

from __future__ import annotations

import base64
import hashlib
import secrets

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured

SECRET_PREFIX = "whsec_"  # noqa: S105 (a format prefix, not a secret)
SECRET_BYTES = 32


def generate_secret() -> str:
    return SECRET_PREFIX + base64.b64encode(secrets.token_bytes(SECRET_BYTES)).decode()


def secret_key_bytes(secret: str) -> bytes:
    """The HMAC key: the base64-decoded part after `whsec_`."""
    return base64.b64decode(secret.removeprefix(SECRET_PREFIX))


def _fernet_key(raw: str) -> bytes:
    # Accept a real Fernet key as is; derive one from any other passphrase.
    try:
        if len(base64.urlsafe_b64decode(raw.encode())) == 32:
            return raw.encode()
    except ValueError:
        pass
    return base64.urlsafe_b64encode(hashlib.sha256(raw.encode()).digest())


def _keys() -> list[str]:
    return list(settings.HOOKHUB_ENCRYPTION_KEYS) or [
        "hookhub-secret-encryption:" + settings.SECRET_KEY
    ]


def _cipher() -> MultiFernet:
    return MultiFernet([Fernet(_fernet_key(key)) for key in _keys()])


def encrypt(plaintext: str) -> str:
    return _cipher().encrypt(plaintext.encode()).decode()


def decrypt(token: str) -> str:
    try:
        return _cipher().decrypt(token.encode()).decode()
    except InvalidToken:
        raise ImproperlyConfigured(
            "A signing secret (or an endpoint's custom headers) could not be decrypted: "
            "HOOKHUB_ENCRYPTION_KEYS lacks the key it was encrypted with."
        ) from None


def is_current(token: str) -> bool:
    """True if `token` is encrypted under the current (first) key: rotation skips it."""
    current = Fernet(_fernet_key(_keys()[0]))
    try:
        current.decrypt(token.encode())
    except InvalidToken:
        return False
    return True


def reencrypt(token: str) -> str:
    """Re-encrypt under the current (first) key; used by key rotation."""
    return _cipher().rotate(token.encode()).decode()
