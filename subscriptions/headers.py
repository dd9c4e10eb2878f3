"""Custom headers a subscriber may add to every delivery to their endpoint.

One set of rules for the dashboard form, the API and the engine that sends them."""

from __future__ import annotations

import re

from django.conf import settings
from django.core.exceptions import ValidationError

# Headers HookHub sets itself; letting a subscriber replace them would break signing or the
# wire format.
RESERVED_HEADERS = frozenset(
    {
        "content-type",
        "content-length",
        "host",
        "user-agent",
        "webhook-id",
        "webhook-timestamp",
        "webhook-signature",
        "connection",
        "transfer-encoding",
    }
)
# RFC 9110 token characters: what a header name may contain.
HEADER_NAME = re.compile(r"^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$")


def header_problem(name: str, value: str) -> str | None:
    """What is wrong with one header, in plain words, or None."""
    if not HEADER_NAME.match(name):
        return f"“{name}” is not a valid header name."
    if name.lower() in RESERVED_HEADERS:
        return f"HookHub sets “{name}” itself."
    if any(ch in value for ch in "\r\n\x00"):
        return f"The value of “{name}” has a control character."
    return None


def check_header_count(headers: dict) -> None:
    limit = settings.HOOKHUB_MAX_CUSTOM_HEADERS
    if len(headers) > limit:
        raise ValidationError(f"At most {limit} custom headers.")


def validate_headers(headers) -> None:
    """The model field's validator: a {name: value} object of strings that breaks no rule
    above. Every writer (dashboard, API, Django admin) runs it."""
    if not isinstance(headers, dict) or not all(
        isinstance(name, str) and isinstance(value, str) for name, value in headers.items()
    ):
        raise ValidationError('Headers are an object of strings, e.g. {"X-Team": "billing"}.')
    check_header_count(headers)
    problems = [p for name, value in headers.items() if (p := header_problem(name, value))]
    if problems:
        raise ValidationError(problems)


def sendable(headers: dict | None) -> dict[str, str]:
    """The stored headers the engine may send: reserved ones are dropped even if a row
    written before a rule change holds them."""
    return {
        str(name): str(value)
        for name, value in (headers or {}).items()
        if str(name).lower() not in RESERVED_HEADERS
    }
