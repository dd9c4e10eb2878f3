"""The peer for the workload benchmarks: a minimal Django project sending webhooks with
django-webhook (Celery, Redis broker), run by bench/peer.py against HookHub's bench receiver.

Nothing in HookHub imports this package. Its processes (the Celery worker and the publishing
driver, bench/peer_project/drive.py) run with DJANGO_SETTINGS_MODULE=bench.peer_project.settings,
a PostgreSQL database and a Redis DB of their own (PEER_DATABASE_URL, PEER_REDIS_URL).
The Celery app is created on import, as in any Django + Celery project, so that
django-webhook's tasks (`celery.current_app.task`) register on it.
"""

from bench.peer_project.celery_app import app as celery_app

__all__ = ["celery_app"]
