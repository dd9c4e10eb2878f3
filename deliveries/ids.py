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
    # Milliseconds (10 base-32 digits) then 70 random bits (14): ids sort by time and never
    # collide in practice.
    millis = int(time.time() * 1000)
    return "msg_" + _encode(millis, 10) + _encode(secrets.randbits(70), 14)
