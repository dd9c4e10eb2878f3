"""The peer's Celery app: `celery -A bench.peer_project worker -P prefork|threads -c N`."""

from __future__ import annotations

import os

from celery import Celery

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "bench.peer_project.settings")

app = Celery("bench_peer")
app.config_from_object("django.conf:settings", namespace="CELERY")
