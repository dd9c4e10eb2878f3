"""Custom headers a subscriber may add to every delivery to their endpoint.

One set of rules for the dashboard form, the API, the Django admin and the engine that sends
them: which headers are allowed, and which values are secrets (is_secret)."""

from __future__ import annotations

import re

from django.conf import settings
from django.core.exceptions import ValidationError

# Headers HookHub sets itself, and the hop-by-hop and framing ones (RFC 9110 7.6.1, 6.1):
# letting a subscriber set them would break signing, the wire format or the connection.
RESERVED_HEADERS = frozenset(
    {
        "content-type",
        "content-length",
        "content-encoding",
        "host",
        "user-agent",
        "webhook-id",
        "webhook-timestamp",
        "webhook-signature",
        "connection",
        "keep-alive",
        "transfer-encoding",
        "te",
        "trailer",
        "upgrade",
        "expect",
    }
)
RESERVED_PREFIXES = ("proxy-",)
# RFC 9110 token characters: what a header name may contain (matched whole: fullmatch).
HEADER_NAME = re.compile(r"[!#$%&'*+\-.^_`|~0-9A-Za-z]+")
# RFC 9110 field-value without obs-text: visible ASCII, spaces and tabs inside, none at
# either end. Anything else (CR, LF, NUL, other C0/C1 controls, U+2028) breaks a send or is
# sent raw.
HEADER_VALUE = re.compile(r"([\x21-\x7e]([\t\x20-\x7e]*[\x21-\x7e])?)?")


def is_valid_name(name: str) -> bool:
    return HEADER_NAME.fullmatch(name) is not None


def is_reserved(name: str) -> bool:
    lowered = name.lower()
    return lowered in RESERVED_HEADERS or lowered.startswith(RESERVED_PREFIXES)


def header_problem(name: str, value: str) -> str | None:
    """What is wrong with one header, in plain words, or None. The one rule for every entry
    point (dashboard, API, Django admin: they all run validate_headers)."""
    name_limit = int(settings.HOOKHUB_MAX_HEADER_NAME_LENGTH)
    value_limit = int(settings.HOOKHUB_MAX_HEADER_VALUE_LENGTH)
    shown = name if is_valid_name(name) else repr(name)
    if len(name) > name_limit:
        return f"Header names are at most {name_limit} characters."
    if not is_valid_name(name):
        return f"{shown} is not a valid header name (letters, digits and !#$%&'*+-.^_`|~)."
    if is_reserved(name):
        return f"“{name}” is reserved: HookHub sets it, or it controls the connection."
    if len(value) > value_limit:
        return f"The value of “{name}” is longer than {value_limit} characters."
    if HEADER_VALUE.fullmatch(value) is None:
        return (
            f"The value of “{name}” may only hold printable ASCII characters, spaces and "
            "tabs, with no space at either end."
        )
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
        if not is_reserved(str(name))
    }


# --- Which headers are secrets ------------------------------------------------------------
# Header values usually carry the receiver's credentials (an API key, a bearer token), so
# HookHub treats a custom header as a secret when its name says it is one, or when the
# endpoint's owner marked it (Endpoint.secret_header_names). A secret value is masked on
# every page, in the API and the Django admin (revealed on the dashboard by an audited POST)
# and redacted in stored attempts; receivers still get it in clear.
# Matched against "-" + the lowercased name with "_" read as "-", so "Authorization",
# "Proxy-Authorization", "X-Api-Key", "X_API_KEY", "Token" and "X-Session-Cookie" all match.
SECRET_NAME_SUFFIXES = (
    "-authorization",
    "-cookie",
    "-token",
    "-key",
    "-apikey",
    "-secret",
    "-password",
    "-passwd",
    "-credential",
    "-credentials",
    "-auth",
    "-signature",
)
# What a secret value reads as wherever it is shown, and what a writer sends back to keep the
# stored value. Not ASCII, which HTTP header values are in practice, so no real value
# collides with it.
MASK = "••••••••"
# What a secret value reads as in a stored attempt (as the signature's there).
REDACTED = "[redacted]"


def is_credential_name(name: str) -> bool:
    """True for names that carry credentials whatever the owner marked."""
    return ("-" + str(name).lower().replace("_", "-")).endswith(SECRET_NAME_SUFFIXES)


def is_secret(name: str, marked=()) -> bool:
    """The one rule: a header is secret if its name carries credentials or its endpoint's
    owner marked it (`marked`: names, any case). Used by the engine's redaction, the
    dashboard, the API and the Django admin."""
    lowered = str(name).lower()
    return is_credential_name(name) or any(lowered == str(m).lower() for m in marked or ())


def secret_names(headers: dict | None, marked=()) -> list[str]:
    """The names in `headers` whose values are secret, in order."""
    return [name for name in (headers or {}) if is_secret(name, marked)]


def masked(headers: dict | None, marked=()) -> dict[str, str]:
    """`headers` as shown to people and API clients: secret values replaced by MASK."""
    return _hide_secrets(headers, marked, MASK)


def redact(headers: dict, marked=()) -> dict:
    """Headers as stored on an Attempt: secret values replaced by REDACTED."""
    return _hide_secrets(headers, marked, REDACTED)


def _hide_secrets(headers: dict | None, marked, placeholder: str) -> dict:
    return {
        name: (placeholder if is_secret(name, marked) else value)
        for name, value in (headers or {}).items()
    }


def keep_masked(submitted: dict, stored: dict | None) -> dict:
    """`submitted` with every value left masked (MASK, or None from the API) replaced by the
    stored value of that name (names compare in any case), so an editor never re-types a
    secret. Raises ValidationError naming a masked header that has no stored value."""
    by_lower = {str(name).lower(): value for name, value in (stored or {}).items()}
    kept, missing = {}, []
    for name, value in submitted.items():
        if value is None or value == MASK:
            key = str(name).lower()
            if key not in by_lower:
                missing.append(name)
                continue
            value = by_lower[key]
        kept[name] = value
    if missing:
        raise ValidationError(
            [f"Type the value of “{name}”: there is no stored value to keep." for name in missing]
        )
    return kept


def split_names(text: str) -> list[str]:
    """Header names typed one per line or separated by commas or spaces."""
    return [part for part in re.split(r"[\s,]+", text or "") if part]


def clean_secret_names(names) -> list[str]:
    """The names to store as Endpoint.secret_header_names: valid header names, each once
    (any case), without the credential-like ones (always secret anyway, so the stored list
    is only what the owner added). Raises ValidationError in plain words."""
    if not isinstance(names, list | tuple) or not all(isinstance(n, str) for n in names):
        raise ValidationError('Secret header names are a list of strings, e.g. ["X-Team"].')
    bad = [name for name in names if not is_valid_name(name)]
    if bad:
        raise ValidationError([f"{name!r} is not a valid header name." for name in bad])
    kept: dict[str, str] = {}
    for name in names:
        if not is_credential_name(name):
            kept.setdefault(name.lower(), name)
    limit = settings.HOOKHUB_MAX_CUSTOM_HEADERS
    if len(kept) > limit:
        raise ValidationError(f"At most {limit} secret header names.")
    return list(kept.values())


def validate_secret_names(names) -> None:
    """The model field's validator for Endpoint.secret_header_names."""
    clean_secret_names(names)
