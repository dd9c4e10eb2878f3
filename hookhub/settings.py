"""HookHub settings. Everything that differs between machines comes from the environment.

See README.md ("Configuration") for the list; the names in DESIGN.md are a contract.
"""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

from django.core.exceptions import ImproperlyConfigured

from hookhub.env import (
    database_config,
    env_bool,
    env_float,
    env_int,
    env_list,
    env_str,
    parse_cidrs,
    parse_schedule,
)
from hookhub.rates import parse_rate

BASE_DIR = Path(__file__).resolve().parent.parent

DEBUG = env_bool("DEBUG", False)
TESTING = env_bool("HOOKHUB_TESTING", False)

SECRET_KEY = env_str("SECRET_KEY")
if not SECRET_KEY:
    if not (DEBUG or TESTING):
        raise ImproperlyConfigured("SECRET_KEY must be set when DEBUG is off.")
    SECRET_KEY = "insecure-development-key-do-not-use-in-production"  # noqa: S105

ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", ["127.0.0.1", "localhost"])
CSRF_TRUSTED_ORIGINS = env_list("CSRF_TRUSTED_ORIGINS", [])

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "rest_framework",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "django_q",
    "axes",
    "subscriptions",
    "deliveries",
    "dashboard",
    "demo",
]

MIDDLEWARE = [
    # First: /healthz and /readyz answer whatever the Host header or scheme (hookhub/health.py).
    "hookhub.health.ProbeMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "hookhub.csp.ContentSecurityPolicyMiddleware",
    # Last, so it turns a lockout flagged during authentication into the lockout page.
    "axes.middleware.AxesMiddleware",
]

ROOT_URLCONF = "hookhub.urls"
WSGI_APPLICATION = "hookhub.wsgi.application"

# templates/ and static/ sit beside the apps in a checkout, and inside the hookhub package in
# a wheel (pyproject.toml's package-dir), where BASE_DIR is site-packages.
ASSETS_DIR = Path(__file__).resolve().parent
if not (ASSETS_DIR / "templates").is_dir():
    ASSETS_DIR = BASE_DIR

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [ASSETS_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ],
        },
    },
]

# Database: SQLite file by default; DATABASE_URL=postgres://... for the scale configuration.
# Persistent connections matter: the ORM broker reconnecting per poll is ~4x slower.
DATABASES = {
    "default": database_config(
        env_str("DATABASE_URL", f"sqlite:///{BASE_DIR / 'db.sqlite3'}"),
        conn_max_age=env_int("CONN_MAX_AGE", 60),
        prepared_statements=env_bool("HOOKHUB_PG_PREPARED_STATEMENTS", True),
    )
}
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
# django-axes first: it refuses a locked-out client before any password is checked.
AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",
    "django.contrib.auth.backends.ModelBackend",
]
LOGIN_URL = "login"
# dashboard.home_views.home: staff land on the overview, subscribers on their endpoints.
LOGIN_REDIRECT_URL = "home"
LOGOUT_REDIRECT_URL = "login"

LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
# Where collectstatic writes; set it when running from a wheel (BASE_DIR is site-packages).
STATIC_ROOT = Path(env_str("STATIC_ROOT", str(BASE_DIR / "staticfiles")))
STATICFILES_DIRS = [ASSETS_DIR / "static"]
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": (
            "django.contrib.staticfiles.storage.StaticFilesStorage"
            if DEBUG or TESTING
            else "whitenoise.storage.CompressedManifestStaticFilesStorage"
        )
    },
}
# Serve straight from the finders when no collectstatic ran (make run, tests).
WHITENOISE_USE_FINDERS = True
WHITENOISE_AUTOREFRESH = DEBUG or TESTING

EMAIL_BACKEND = env_str("EMAIL_BACKEND", "django.core.mail.backends.console.EmailBackend")
DEFAULT_FROM_EMAIL = env_str("DEFAULT_FROM_EMAIL", "hookhub@localhost")

# Security headers; the cookie and HSTS settings only bite when served over HTTPS.
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"
SESSION_COOKIE_SECURE = not DEBUG and not TESTING
CSRF_COOKIE_SECURE = not DEBUG and not TESTING
SECURE_HSTS_SECONDS = env_int("SECURE_HSTS_SECONDS", 0 if DEBUG or TESTING else 31536000)
SECURE_HSTS_INCLUDE_SUBDOMAINS = SECURE_HSTS_SECONDS > 0
SECURE_HSTS_PRELOAD = SECURE_HSTS_SECONDS > 0
SECURE_SSL_REDIRECT = env_bool("SECURE_SSL_REDIRECT", False)
SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
# Content-Security-Policy (hookhub/csp.py): no inline scripts anywhere; views that need more
# (the API docs pages) relax it per view with `hookhub.csp.csp_update`.
HOOKHUB_CSP = {
    "default-src": ["'self'"],
    "script-src": ["'self'"],
    "style-src": ["'self'"],
    "img-src": ["'self'", "data:"],
    "font-src": ["'self'"],
    "connect-src": ["'self'"],
    "object-src": ["'none'"],
    "base-uri": ["'none'"],
    "form-action": ["'self'"],
    "frame-ancestors": ["'none'"],
}
# Error pages (DEBUG) and error mails mask secret-looking variables, not only settings.
DEFAULT_EXCEPTION_REPORTER_FILTER = "hookhub.error_reports.SecretMaskingExceptionReporterFilter"

# --- Login throttling (django-axes) ---------------------------------------------------------
# After HOOKHUB_LOGIN_FAILURE_LIMIT failures for one username from one client address, that
# pair is refused (even with the right password) until the cool-off has passed.
AXES_FAILURE_LIMIT = env_int("HOOKHUB_LOGIN_FAILURE_LIMIT", 5)
AXES_COOLOFF_TIME = timedelta(minutes=env_float("HOOKHUB_LOGIN_COOLOFF_MINUTES", 15))
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
AXES_RESET_ON_SUCCESS = True
AXES_LOCKOUT_TEMPLATE = "registration/lockout.html"
AXES_HTTP_RESPONSE_CODE = 429
# Behind N trusted proxies the client is the Nth address from the right of X-Forwarded-For;
# 0 (default) trusts only REMOTE_ADDR, so clients cannot pick their own address.
HOOKHUB_TRUSTED_PROXY_COUNT = env_int("HOOKHUB_TRUSTED_PROXY_COUNT", 0)
AXES_CLIENT_IP_CALLABLE = "subscriptions.login_security.client_ip"

# --- Django REST framework and the OpenAPI document -------------------------------------
REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "hookhub.api.authentication.BearerTokenAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_PARSER_CLASSES": [
        "hookhub.api.parsers.DepthSafeJSONParser",
        "rest_framework.parsers.FormParser",
        "rest_framework.parsers.MultiPartParser",
    ],
    # The browsable API only while debugging: its pages need inline script the CSP refuses,
    # and a production API answers JSON whatever the Accept header asks for.
    "DEFAULT_RENDERER_CLASSES": [
        "rest_framework.renderers.JSONRenderer",
        *(["rest_framework.renderers.BrowsableAPIRenderer"] if DEBUG else []),
    ],
    "DEFAULT_SCHEMA_CLASS": "hookhub.api.schema.HookHubAutoSchema",
    "DEFAULT_PAGINATION_CLASS": "rest_framework.pagination.CursorPagination",
    "PAGE_SIZE": 50,
    "EXCEPTION_HANDLER": "hookhub.api.errors.exception_handler",
    # Rates are HOOKHUB_THROTTLE_* settings, read per request (hookhub/throttling.py), not
    # DEFAULT_THROTTLE_RATES; a few views add a stricter limit or replace these.
    "DEFAULT_THROTTLE_CLASSES": [
        "hookhub.throttling.UserThrottle",
        "hookhub.throttling.AnonThrottle",
    ],
}
SPECTACULAR_SETTINGS = {
    "TITLE": "HookHub API",
    "DESCRIPTION": "Manage webhook endpoints and read the catalogue of events HookHub sends.",
    "VERSION": "1.0.0",
    "OAS_VERSION": "3.1.0",
    # Said outright (it is the default) so readers and linters need not guess: each
    # deployment serves its own document, so paths are relative to that host.
    "SERVERS": [{"url": "/", "description": "The HookHub that serves this document."}],
    "SERVE_INCLUDE_SCHEMA": False,
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    # No outside requests from the docs pages: Swagger UI's online validator badge is off.
    "SWAGGER_UI_SETTINGS": {"deepLinking": True, "validatorUrl": None},
    # add_webhooks must run before postprocess_schema_enums, which rebuilds the components
    # (including the ones only webhooks use); postprocess_nullable sees the finished document.
    "POSTPROCESSING_HOOKS": [
        "subscriptions.openapi.add_webhooks",
        "drf_spectacular.hooks.postprocess_schema_enums",
        "hookhub.api.openapi31.postprocess_nullable",
    ],
}

# --- django-q2 ------------------------------------------------------------------------------
# HookHub keeps retry state in its own Delivery rows, so django-q2 must never re-run a
# failed task by itself (max_attempts=1) and `retry` must exceed `timeout`.
REDIS_URL = env_str("REDIS_URL")
Q_CLUSTER = {
    "name": env_str("HOOKHUB_Q_NAME", "hookhub"),
    "workers": env_int("HOOKHUB_Q_WORKERS", 2),
    "timeout": env_int("HOOKHUB_Q_TIMEOUT", 120),
    "retry": env_int("HOOKHUB_Q_RETRY", 180),
    "max_attempts": 1,
    "ack_failures": True,
    "save_limit": 100,
    "catch_up": False,
    "poll": env_float("HOOKHUB_Q_POLL", 0.2),
    "label": "Task queue",
    "sync": env_bool("HOOKHUB_Q_SYNC", False),
    # A HookHub task only wakes the worker's dispatcher, so tasks are many and cheap;
    # replacing the process every 500 of them (django-q2's default) would drop its pool of
    # connections and drain its in-flight deliveries that often.
    "recycle": env_int("HOOKHUB_Q_RECYCLE", 1_000_000),
}
if REDIS_URL:
    Q_CLUSTER["redis"] = REDIS_URL
else:
    Q_CLUSTER["orm"] = "default"

# --- Cache and request limits (hookhub/throttling.py) ---------------------------------------
# With REDIS_URL the cache is Redis, shared by every process and host, so a request limit
# holds across them all; without it each process counts alone (fine for one process).
HOOKHUB_CACHE_SOCKET_TIMEOUT = env_float("HOOKHUB_CACHE_SOCKET_TIMEOUT", 1.0)
if REDIS_URL:
    CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": REDIS_URL,
            "KEY_PREFIX": "hookhub",
            # A stalled Redis must not stall every request that counts against a limit.
            "OPTIONS": {
                "socket_connect_timeout": HOOKHUB_CACHE_SOCKET_TIMEOUT,
                "socket_timeout": HOOKHUB_CACHE_SOCKET_TIMEOUT,
            },
        }
    }
else:
    CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.locmem.LocMemCache",
            "LOCATION": "hookhub",
        }
    }
HOOKHUB_THROTTLE_CACHE = env_str("HOOKHUB_THROTTLE_CACHE", "default")


def _throttle_rate(name: str, default: str) -> str:
    """A HOOKHUB_THROTTLE_* rate (`600/min`, `20/hour`, `off`), checked now. Under the test
    suite the default is far above its traffic: counts outlive each test in the process's
    cache and user ids repeat after rollbacks, so tests of a limit set the rate they test."""
    raw = env_str(name, "100000/min" if TESTING else default)
    try:
        parse_rate(raw)
    except ValueError as error:
        raise ImproperlyConfigured(f"{name}: {error}") from None
    return raw


# Every API request of one user or token (publishing has its own budget, below)...
HOOKHUB_THROTTLE_USER = _throttle_rate("HOOKHUB_THROTTLE_USER", "600/min")
# ...of one address without credentials (only the schema and docs are open to anyone)...
HOOKHUB_THROTTLE_ANON = _throttle_rate("HOOKHUB_THROTTLE_ANON", "60/min")
# ...failed API token attempts from one address, after which it may use no token until the
# window ends...
HOOKHUB_THROTTLE_BAD_TOKENS = _throttle_rate("HOOKHUB_THROTTLE_BAD_TOKENS", "20/min")
# ...test sends per user, API and dashboard together: each is a request to a URL the
# subscriber chose...
HOOKHUB_THROTTLE_TEST_SEND = _throttle_rate("HOOKHUB_THROTTLE_TEST_SEND", "10/min")
# ...endpoints created through the API per user (HOOKHUB_MAX_ENDPOINTS_PER_USER caps how many
# exist)...
HOOKHUB_THROTTLE_ENDPOINT_CREATE = _throttle_rate("HOOKHUB_THROTTLE_ENDPOINT_CREATE", "20/hour")
# ...and publishing requests per staff user (a batch counts once): providers publish in bursts.
HOOKHUB_THROTTLE_PUBLISH = _throttle_rate("HOOKHUB_THROTTLE_PUBLISH", "3000/min")

# --- HookHub delivery -----------------------------------------------------------------------
# Every limit is a named setting read at call time (django.conf.settings), so tests and
# deployments can change it without touching code.
HOOKHUB_ALLOWED_CIDRS = parse_cidrs("HOOKHUB_ALLOWED_CIDRS", env_list("HOOKHUB_ALLOWED_CIDRS"))
HOOKHUB_ADDRESS_GUARD = env_bool("HOOKHUB_ADDRESS_GUARD", True)
HOOKHUB_RETRY_SCHEDULE = parse_schedule(
    "HOOKHUB_RETRY_SCHEDULE",
    env_list(
        "HOOKHUB_RETRY_SCHEDULE", ["0", "5", "300", "1800", "7200", "18000", "36000", "36000"]
    ),
)
HOOKHUB_RETRY_JITTER = env_float("HOOKHUB_RETRY_JITTER", 0.2)
HOOKHUB_RETRY_AFTER_MAX = env_float("HOOKHUB_RETRY_AFTER_MAX", 6 * 3600)
HOOKHUB_CONNECT_TIMEOUT = env_float("HOOKHUB_CONNECT_TIMEOUT", 3.0)
HOOKHUB_DELIVERY_DEADLINE = env_float("HOOKHUB_DELIVERY_DEADLINE", 15.0)
HOOKHUB_RESPONSE_BODY_CAP = env_int("HOOKHUB_RESPONSE_BODY_CAP", 16 * 1024)
HOOKHUB_MAX_PAYLOAD_BYTES = env_int("HOOKHUB_MAX_PAYLOAD_BYTES", 256 * 1024)
# Deepest nesting of arrays/objects in an event's data: receivers' parsers have limits too.
HOOKHUB_MAX_PAYLOAD_DEPTH = env_int("HOOKHUB_MAX_PAYLOAD_DEPTH", 32)
# Most events one publish_many() call or POST /api/v1/events/batch/ takes (one transaction).
HOOKHUB_PUBLISH_BATCH_MAX = env_int("HOOKHUB_PUBLISH_BATCH_MAX", 1000)
HOOKHUB_DISABLE_AFTER = env_float("HOOKHUB_DISABLE_AFTER", 5 * 24 * 3600)
# The longest an endpoint's owner may make its retries go on (Endpoint.retry_for).
HOOKHUB_MAX_RETRY_FOR = env_int("HOOKHUB_MAX_RETRY_FOR", 3 * 24 * 3600)
# Seconds of unbroken failure after which the owner is warned, one email per stage per
# failure streak (deliveries.failure_warnings); empty for no warnings.
_warn_after = env_list("HOOKHUB_WARN_AFTER", ["86400", "259200"])
HOOKHUB_WARN_AFTER = sorted(
    parse_schedule("HOOKHUB_WARN_AFTER", _warn_after) if _warn_after else []
)
# Where people reach this HookHub, for links in emails.
HOOKHUB_PUBLIC_URL = env_str("HOOKHUB_PUBLIC_URL", "http://127.0.0.1:8000")
HOOKHUB_SECRET_ROTATION_GRACE = env_float("HOOKHUB_SECRET_ROTATION_GRACE", 24 * 3600)
# The longest a rotated-out secret may keep signing (the API's `previous_expires_in`)...
HOOKHUB_SECRET_ROTATION_MAX_GRACE = env_float("HOOKHUB_SECRET_ROTATION_MAX_GRACE", 7 * 24 * 3600)
# ...and how many rotated-out secrets may sign at once; a rotation beyond it is refused.
HOOKHUB_MAX_PREVIOUS_SECRETS = env_int("HOOKHUB_MAX_PREVIOUS_SECRETS", 5)
HOOKHUB_MAX_CUSTOM_HEADERS = env_int("HOOKHUB_MAX_CUSTOM_HEADERS", 20)
HOOKHUB_MAX_ENDPOINTS_PER_USER = env_int("HOOKHUB_MAX_ENDPOINTS_PER_USER", 50)
HOOKHUB_MAX_HEADER_NAME_LENGTH = env_int("HOOKHUB_MAX_HEADER_NAME_LENGTH", 100)
HOOKHUB_MAX_HEADER_VALUE_LENGTH = env_int("HOOKHUB_MAX_HEADER_VALUE_LENGTH", 1000)
# The API's delivery detail shows at most this many (newest) attempts.
HOOKHUB_API_ATTEMPTS_LIMIT = env_int("HOOKHUB_API_ATTEMPTS_LIMIT", 50)
HOOKHUB_SWEEP_INTERVAL = env_float("HOOKHUB_SWEEP_INTERVAL", 1.0)
# /readyz gives up on Redis after this many seconds (a probe must answer, not hang).
HOOKHUB_READY_TIMEOUT = env_float("HOOKHUB_READY_TIMEOUT", 2.0)
# A bulk replay job with no progress for this long has lost its worker and is marked failed;
# longer than django-q2's task timeout, and a job reports progress every 50 deliveries.
HOOKHUB_REPLAY_STALLED_AFTER = env_float("HOOKHUB_REPLAY_STALLED_AFTER", 300.0)
# The staff overview warns when no worker has swept for this long (none running, or stuck).
HOOKHUB_SWEEP_STALE_AFTER = env_float("HOOKHUB_SWEEP_STALE_AFTER", 60.0)
# Hourly chart counts (deliveries.rollups): an hour is rolled up this long after it ends,
# longer than any claim's lease so its late records are in; the sweeper checks this often.
HOOKHUB_ROLLUP_DELAY = env_float("HOOKHUB_ROLLUP_DELAY", 300.0)
HOOKHUB_ROLLUP_INTERVAL = env_float("HOOKHUB_ROLLUP_INTERVAL", 60.0)
# Most deliveries one claim statement takes, and ids one queued message names.
HOOKHUB_CLAIM_BATCH = env_int("HOOKHUB_CLAIM_BATCH", 100)
# A claim ranks only the oldest (batch x this) due rows, so its cost ignores the backlog.
HOOKHUB_CLAIM_SCAN_FACTOR = env_int("HOOKHUB_CLAIM_SCAN_FACTOR", 4)
# Deliveries one worker process keeps in flight at once (deliveries.dispatcher).
HOOKHUB_MAX_IN_FLIGHT = env_int("HOOKHUB_MAX_IN_FLIGHT", 500)
# Of those, at most this many to one endpoint, so a slow one never holds the others' slots.
HOOKHUB_ENDPOINT_MAX_IN_FLIGHT = env_int("HOOKHUB_ENDPOINT_MAX_IN_FLIGHT", 10)
# A delivery over its endpoint's rate_limit waits in the worker at most this long for its
# slot; a later slot hands it back to the database, due then (it is not failed).
HOOKHUB_RATE_LIMIT_HOLD = env_float("HOOKHUB_RATE_LIMIT_HOLD", 1.0)
# Results are written together: at most this long after the first one finished...
HOOKHUB_RECORD_INTERVAL = env_float("HOOKHUB_RECORD_INTERVAL", 0.005)
# ...or as soon as this many are waiting.
HOOKHUB_RECORD_BATCH = env_int("HOOKHUB_RECORD_BATCH", 500)
# An idle worker looks for due deliveries (retries, lost wake-ups) this often.
HOOKHUB_POLL_INTERVAL = env_float("HOOKHUB_POLL_INTERVAL", 0.5)
# Slack added to a claim's lease (deadline + rate-limit hold) before the sweeper may take
# the delivery back.
HOOKHUB_CLAIM_MARGIN = env_float("HOOKHUB_CLAIM_MARGIN", 5.0)
# Off (default): on PostgreSQL, claims and attempt records commit without waiting for the WAL
# fsync; a database crash may lose the last moments of them and the sweeper re-sends (at
# least once). On: every commit is durable, at about one fsync per batch.
HOOKHUB_DURABLE_ATTEMPTS = env_bool("HOOKHUB_DURABLE_ATTEMPTS", False)
HOOKHUB_USER_AGENT = env_str("HOOKHUB_USER_AGENT", "HookHub/0.1 (+webhooks)")
# Keys that encrypt signing secrets at rest: the first encrypts, all decrypt (rotation).
# Unset: one key derived from SECRET_KEY.
HOOKHUB_ENCRYPTION_KEYS = env_list("HOOKHUB_ENCRYPTION_KEYS")
HOOKHUB_ATTEMPT_RETENTION_DAYS = env_int("HOOKHUB_ATTEMPT_RETENTION_DAYS", 30)
# Dashboard lists (delivery log, failures, audit log): rows per keyset page.
HOOKHUB_PAGE_SIZE = env_int("HOOKHUB_PAGE_SIZE", 50)
# Seconds between reloads of a page that waits for a delivery or a bulk replay.
HOOKHUB_PENDING_REFRESH = env_int("HOOKHUB_PENDING_REFRESH", 2)
# The demo's built-in request inbox keeps this many requests per inbox.
HOOKHUB_DEMO_INBOX_KEEP = env_int("HOOKHUB_DEMO_INBOX_KEEP", 100)
# Rows per DELETE when pruning, so no statement holds locks on the tables for long.
HOOKHUB_PRUNE_BATCH_SIZE = env_int("HOOKHUB_PRUNE_BATCH_SIZE", 1000)
# The daily prune's hour (UTC), set when its django-q2 Schedule is first created.
HOOKHUB_PRUNE_HOUR_UTC = env_int("HOOKHUB_PRUNE_HOUR_UTC", 3)

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "root": {"handlers": ["console"], "level": env_str("LOG_LEVEL", "INFO")},
    "loggers": {"django.db.backends": {"level": "WARNING"}},
}

# --- Typed receiver code (subscriptions/codegen.py) -----------------------------------------
# Seconds each generator may run for one page (one type, or the whole catalogue) before it
# is stopped and the page says so.
HOOKHUB_DATAMODEL_CODEGEN_TIMEOUT = env_float("HOOKHUB_DATAMODEL_CODEGEN_TIMEOUT", 60.0)
HOOKHUB_OPENAPI_TYPESCRIPT_TIMEOUT = env_float("HOOKHUB_OPENAPI_TYPESCRIPT_TIMEOUT", 60.0)
# Node.js (a name on PATH or a path) and openapi-typescript's CLI, which `make` installs from
# package.json. Either missing: the TypeScript part says so and the rest still works.
HOOKHUB_NODE = env_str("HOOKHUB_NODE", "node")
HOOKHUB_OPENAPI_TYPESCRIPT = env_str(
    "HOOKHUB_OPENAPI_TYPESCRIPT", str(BASE_DIR / "node_modules" / ".bin" / "openapi-typescript")
)
# Generated code is cached under the catalogue's fingerprint in this Django cache; an entry
# of an older catalogue is never read again and expires after this many seconds.
HOOKHUB_RECEIVER_CODE_CACHE = env_str("HOOKHUB_RECEIVER_CODE_CACHE", "default")
HOOKHUB_RECEIVER_CODE_CACHE_SECONDS = env_int("HOOKHUB_RECEIVER_CODE_CACHE_SECONDS", 24 * 3600)

# --- Metrics (/metrics, hookhub/metrics.py) -------------------------------------------------
# Bearer token Prometheus sends; empty with no allowlist: /metrics answers 404 (off).
HOOKHUB_METRICS_TOKEN = env_str("HOOKHUB_METRICS_TOKEN", "")
# Networks allowed to scrape (the client address as HOOKHUB_TRUSTED_PROXY_COUNT decides);
# with a token as well, a scrape needs both.
HOOKHUB_METRICS_ALLOWED_CIDRS = parse_cidrs(
    "HOOKHUB_METRICS_ALLOWED_CIDRS", env_list("HOOKHUB_METRICS_ALLOWED_CIDRS")
)
# The windowed metrics (attempts by outcome, the two histograms) count this many seconds
# of attempts back from the scrape.
HOOKHUB_METRICS_WINDOW = env_int("HOOKHUB_METRICS_WINDOW", 300)
# Upper bounds (seconds) of the attempt-duration and publish-to-2xx histogram buckets.
HOOKHUB_METRICS_DURATION_BUCKETS = parse_schedule(
    "HOOKHUB_METRICS_DURATION_BUCKETS",
    env_list("HOOKHUB_METRICS_DURATION_BUCKETS", ["0.05", "0.1", "0.25", "0.5", "1", "2.5", "5"]),
)
HOOKHUB_METRICS_LATENCY_BUCKETS = parse_schedule(
    "HOOKHUB_METRICS_LATENCY_BUCKETS",
    env_list(
        "HOOKHUB_METRICS_LATENCY_BUCKETS", ["0.1", "0.25", "0.5", "1", "2.5", "5", "10", "30"]
    ),
)
# Each of a scrape's queries may take this long on PostgreSQL (statement_timeout) before
# /metrics answers 503 rather than holding the scraper and a connection.
HOOKHUB_METRICS_QUERY_TIMEOUT = env_float("HOOKHUB_METRICS_QUERY_TIMEOUT", 5.0)
