"""The peer's publisher: `python -m bench.peer_project.drive`, driven over stdin/stdout.

bench/peer.py starts it once per run and sends one JSON command per line; each answer is
one line starting with `@@ ` (anything else on stdout is noise from a library). Publishing
is what a django-webhook user does: save a model instance; django-webhook's post_save
handler finds the webhooks of the "<model>/create" topic and enqueues one Celery task each.
Each saved instance carries `bench-key:<key>` in its text, so the bench receiver can tell
the requests apart (django-webhook sends no per-event id header).

Commands:
    {"op": "setup", "base": "http://127.0.0.1:PORT"}  tables, topics, 200 webhooks + secrets
    {"op": "urls", "workload": "w1"|"w2"|"w3", "hang_ms": 5000}  point the Thing webhooks
    {"op": "publish", "items": [[index or "fan", key], ...]}  -> {"first", "end"}
    {"op": "schedule", "items": [[offset_s, index, key], ...]}  -> {"sent": {key: t}}
    {"op": "max_event"} -> {"id"};  {"op": "succeeded", "since": id} -> {"count"}
    {"op": "quit"}
"""

from __future__ import annotations

import json
import os
import secrets
import sys
import time

PAD = 960  # ~1 KB bodies, like HookHub's bench payloads


def _urls(workload: str, base: str, hang_ms: int) -> list[str]:
    from django.conf import settings

    urls = []
    for i in range(settings.PEER_ENDPOINTS):
        if workload == "w1":
            urls.append(f"{base}/pw1/{i}")
        elif workload == "w2":
            urls.append(f"{base}/pw2/delay-100/{i}")
        elif i % 10 == 0:  # w3: the same 10 of 100 as HookHub's run
            urls.append(f"{base}/pw3/hang-{hang_ms}/{i}")
        else:
            urls.append(f"{base}/pw3/ok/{i}")
    return urls


def _thing_webhooks():
    from django_webhook.models import Webhook

    return list(Webhook.objects.filter(topics__name__startswith="peerapp.Thing").order_by("id"))


def setup(base: str) -> dict:
    from django.conf import settings
    from django.core.management import call_command
    from django_webhook.models import (
        Webhook,
        WebhookSecret,
        WebhookTopic,
        populate_topics_from_settings,
    )

    call_command("migrate", run_syncdb=True, verbosity=0, interactive=False)
    populate_topics_from_settings()
    topics = {topic.name: topic for topic in WebhookTopic.objects.all()}
    hooks = []
    for i, url in enumerate(_urls("w1", base, 0)):
        hook = Webhook.objects.create(url=url)
        hook.topics.add(topics[f"peerapp.Thing{i}/create"])
        hooks.append(hook)
    for i in range(settings.PEER_ENDPOINTS):
        hook = Webhook.objects.create(url=f"{base}/pw4/{i}")
        hook.topics.add(topics["peerapp.Fan/create"])
        hooks.append(hook)
    WebhookSecret.objects.bulk_create(
        [WebhookSecret(webhook=hook, token=secrets.token_urlsafe(24)) for hook in hooks]
    )
    return {"webhooks": len(hooks)}


def point(workload: str, base: str, hang_ms: int) -> dict:
    hooks = _thing_webhooks()
    for hook, url in zip(hooks, _urls(workload, base, hang_ms), strict=True):
        hook.url = url
        hook.save(update_fields=["url", "modified"])
    return {"webhooks": len(hooks)}


def _save(target, key: str) -> None:
    from bench.peer_project.peerapp import models

    model = models.Fan if target == "fan" else models.THINGS[int(target)]
    model.objects.create(note=f"bench-key:{key};" + "x" * PAD)


def publish(items: list) -> dict:
    first = time.time()
    for target, key in items:
        _save(target, key)
    return {"first": first, "end": time.time()}


def schedule(items: list) -> dict:
    sent = {}
    origin = time.monotonic()
    for offset, index, key in items:
        delay = origin + offset - time.monotonic()
        if delay > 0:
            time.sleep(delay)
        sent[key] = time.time()
        _save(index, key)
    return {"sent": sent}


def handle(command: dict, base_holder: dict) -> dict:
    from django.db.models import Max
    from django_webhook.models import WebhookEvent

    op = command["op"]
    if op == "setup":
        base_holder["base"] = command["base"]
        return setup(command["base"])
    if op == "urls":
        return point(command["workload"], base_holder["base"], int(command.get("hang_ms", 0)))
    if op == "publish":
        return publish(command["items"])
    if op == "schedule":
        return schedule(command["items"])
    if op == "max_event":
        return {"id": WebhookEvent.objects.aggregate(top=Max("id"))["top"] or 0}
    if op == "succeeded":
        done = WebhookEvent.objects.filter(id__gt=command["since"], status="SUCCESS").count()
        return {"count": done}
    raise ValueError(f"unknown op {op!r}")


def main() -> int:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "bench.peer_project.settings")
    import django

    django.setup()
    base_holder: dict = {}
    print("@@ " + json.dumps({"ready": True}), flush=True)
    for line in sys.stdin:
        command = json.loads(line)
        if command.get("op") == "quit":
            break
        try:
            reply = handle(command, base_holder)
        except Exception as exc:  # noqa: BLE001 - reported to the bench, which raises
            reply = {"error": f"{type(exc).__name__}: {exc}"}
        print("@@ " + json.dumps(reply), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
