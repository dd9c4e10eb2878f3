"""Settings of the peer project (see bench/peer_project/__init__.py).

Everything is django-webhook's and Celery's default except what a benchmark needs:
- one model per endpoint for the one-endpoint workloads (django-webhook's topics are
  "<model>/create"), plus `Fan` with 100 webhooks for the fan-out workload;
- CELERY_DB_REUSE_MAX, so Celery's Django integration keeps each process's database
  connection instead of closing it around every task (PEER_DB_REUSE_MAX=0: the default).
"""

from __future__ import annotations

import os

import dj_database_url

SECRET_KEY = "bench-peer-only-not-a-secret"  # noqa: S105 - a throwaway bench project
DEBUG = False
ALLOWED_HOSTS: list[str] = []
USE_TZ = True
TIME_ZONE = "UTC"
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
INSTALLED_APPS = [
    "django.contrib.contenttypes",
    "django_webhook",
    "bench.peer_project.peerapp",
]
DATABASES = {"default": dj_database_url.parse(os.environ["PEER_DATABASE_URL"])}

PEER_ENDPOINTS = 100
DJANGO_WEBHOOK = {
    "MODELS": [f"peerapp.Thing{i}" for i in range(PEER_ENDPOINTS)] + ["peerapp.Fan"],
}

CELERY_BROKER_URL = os.environ["PEER_REDIS_URL"]
CELERY_TASK_IGNORE_RESULT = True
_reuse = int(os.environ.get("PEER_DB_REUSE_MAX", "1000"))
if _reuse:
    CELERY_DB_REUSE_MAX = _reuse

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": "WARNING"},
}
