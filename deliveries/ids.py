"""Public identifiers: `msg_` + 24 characters, sortable by creation time (like Svix's ids)."""

from __future__ import annotations

import secrets
import time

ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZabcdefghjkmnpqrstvwxyz"[:32]  # Crockford-ish base32


def _encode(number: int, length: int) -> str:
    chars = []
    for _ in range(length):
        number, rest = divmod(number, 32)
        chars.append(ALPHABET[rest])
    return "".join(reversed(chars))


def new_message_id() -> str:
    # 48 bits of milliseconds then 72 random bits: ids sort by time, and collide never in practice.
    millis = int(time.time() * 1000)
    return "msg_" + _encode(millis, 10) + _encode(secrets.randbits(70), 14)
