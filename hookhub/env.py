"""Reading settings from the environment: typed, with safe defaults and clear errors."""

from __future__ import annotations

import ipaddress
import os

import dj_database_url
from django.core.exceptions import ImproperlyConfigured

TRUE_WORDS = {"1", "true", "yes", "on"}
FALSE_WORDS = {"0", "false", "no", "off", ""}


def env_str(name: str, default: str = "") -> str:
    return os.environ.get(name, default)


def env_bool(name: str, default: bool = False) -> bool:
    raw = os.environ.get(name)
    if raw is None:
        return default
    word = raw.strip().lower()
    if word in TRUE_WORDS:
        return True
    if word in FALSE_WORDS:
        return False
    raise ImproperlyConfigured(f"{name}={raw!r} is not a boolean; use 1/0, true/false, yes/no.")


def env_int(name: str, default: int) -> int:
    raw = os.environ.get(name)
    if raw is None or raw.strip() == "":
        return default
    try:
        return int(raw)
    except ValueError:
        raise ImproperlyConfigured(f"{name}={raw!r} is not a whole number.") from None


def env_float(name: str, default: float) -> float:
    raw = os.environ.get(name)
    if raw is None or raw.strip() == "":
        return default
    try:
        return float(raw)
    except ValueError:
        raise ImproperlyConfigured(f"{name}={raw!r} is not a number.") from None


def env_list(name: str, default: list[str] | None = None) -> list[str]:
    raw = os.environ.get(name)
    if raw is None:
        return list(default or [])
    return [part.strip() for part in raw.split(",") if part.strip()]


def parse_cidrs(name: str, raw: list[str]) -> list[str]:
    """Validate networks now, so a typo fails at startup rather than at the first delivery."""
    networks = []
    for item in raw:
        try:
            networks.append(str(ipaddress.ip_network(item, strict=False)))
        except ValueError:
            raise ImproperlyConfigured(
                f"{name}: {item!r} is not a network (e.g. 10.0.0.0/8)."
            ) from None
    return networks


def parse_schedule(name: str, raw: list[str]) -> list[float]:
    try:
        schedule = [float(item) for item in raw]
    except ValueError:
        raise ImproperlyConfigured(
            f"{name} must be comma-separated seconds, e.g. 0,5,300; got {','.join(raw)!r}."
        ) from None
    if not schedule or any(delay < 0 for delay in schedule):
        raise ImproperlyConfigured(f"{name} needs at least one delay and no negative delays.")
    return schedule


def database_config(url: str, *, conn_max_age: int, prepared_statements: bool = True) -> dict:
    """Turn DATABASE_URL into Django's DATABASES entry, tuned per engine.

    SQLite gets WAL and IMMEDIATE transactions: with a web process and a worker writing at
    once, DEFERRED transactions upgrade their lock mid-way and fail with "database is locked".
    """
    try:
        config = dj_database_url.parse(url, conn_max_age=conn_max_age, conn_health_checks=True)
    except (ValueError, KeyError) as exc:
        raise ImproperlyConfigured(f"DATABASE_URL={url!r} is not a database URL: {exc}") from None
    engine = config.get("ENGINE", "")
    if not engine:
        raise ImproperlyConfigured(f"DATABASE_URL={url!r} names no known database engine.")
    if engine == "django.db.backends.sqlite3":
        if not config.get("NAME"):
            raise ImproperlyConfigured(f"DATABASE_URL={url!r} names no SQLite file.")
        config["OPTIONS"] = {
            "transaction_mode": "IMMEDIATE",
            "timeout": 20,
            "init_command": (
                "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL; PRAGMA busy_timeout=20000;"
            ),
        }
        # SQLite connections are cheap; persistent ones keep WAL readers from piling up.
        config["CONN_MAX_AGE"] = 0
    elif engine == "django.db.backends.postgresql":
        # psycopg prepares a statement from its second use, but only on server-side-bound
        # cursors, which only deliveries.statements opens: Django's own cursors bind
        # client-side and are never prepared. (Django's default, None, would also ignore
        # those.) Off behind a transaction-mode pooler that cannot keep prepared statements
        # (PgBouncer before 1.21, or with max_prepared_statements = 0).
        options = config.setdefault("OPTIONS", {})
        options.setdefault("prepare_threshold", 1 if prepared_statements else None)
    return config
