"""Test settings: the real settings with the test-only switches the environment can't set."""

import os

os.environ.setdefault("HOOKHUB_TESTING", "1")
# Receivers in the tests listen on loopback; the guard stays on and exempts only that.
os.environ.setdefault("HOOKHUB_ALLOWED_CIDRS", "127.0.0.0/8,::1/128")

from hookhub.settings import *  # noqa: E402, F403
from hookhub.settings import DATABASES, Q_CLUSTER  # noqa: E402

# SQLite tests use a file, unique per pytest process, not an in-memory database: tests that
# start real worker processes (tests/deliveries) hand them this file through DATABASE_URL.
# PostgreSQL keeps Django's default test database name (test_<name>), which they reuse.
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    import tempfile

    DATABASES["default"]["TEST"] = {
        "NAME": os.environ.get(
            "HOOKHUB_TEST_DB",
            os.path.join(tempfile.gettempdir(), f"hookhub-test-{os.getpid()}.sqlite3"),
        )
    }

PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
# Tasks run inline unless a test starts real worker processes (they set HOOKHUB_Q_SYNC=0).
Q_CLUSTER["sync"] = os.environ.get("HOOKHUB_Q_SYNC", "1") == "1"
# django-axes needs `request` in authenticate(), which Client.login() does not pass; tests
# sign in with force_login or the login page. tests/security/test_login_throttling.py turns
# it back on and proves the lockout.
AXES_ENABLED = False
# Live-server request threads must not keep PostgreSQL sessions open past their request, or
# the test database can't be dropped at the end of the run ("being accessed by other users").
DATABASES["default"]["CONN_MAX_AGE"] = 0
# Tests clear the generated-code cache between cases; on its own local-memory alias that
# never empties the Redis database django-q2's queue shares with the default cache.
from hookhub.settings import CACHES  # noqa: E402

CACHES = {
    **CACHES,
    "receiver-code": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"},
}
HOOKHUB_RECEIVER_CODE_CACHE = "receiver-code"
