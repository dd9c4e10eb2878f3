"""The web process while PostgreSQL is down: it keeps answering (JSON errors under /api/,
the HTML error page elsewhere, each within seconds, never a hang) and serves normally again
once the database is back, without a restart. publish() meanwhile raises a database error
at once and never leaves half an event behind, even when the server dies mid-traffic."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from django.db import DatabaseError, close_old_connections
from django.test import Client

from deliveries.models import Delivery, Event
from deliveries.publishing import publish
from subscriptions.models import ApiToken
from tests.crash.conftest import PRODUCTION_SETTINGS, wait_for
from tests.crash.services import free_port
from tests.deliveries.workers import ROOT
from tests.factories import EndpointFactory, EventTypeFactory, StaffFactory

pytestmark = [pytest.mark.postgres]

# "Never a hang": every request made while the database is down must be answered within this.
ANSWER_WITHIN = 5.0
OUTAGE = 6.0  # seconds PostgreSQL stays down
ENDPOINTS = 3  # every event gets this many deliveries: a half-stored one would have fewer
EVENT = {"type": "order-paid", "data": {"id": 1}}


@dataclass
class Answer:
    status: int
    content_type: str
    body: bytes
    seconds: float


def fetch(url: str, *, token: str = "", session: str = "", data: dict | None = None) -> Answer:
    headers = {"Accept": "application/json, text/html"}
    if token:
        headers["Authorization"] = f"Bearer {token}"
    if session:
        headers["Cookie"] = f"sessionid={session}"
    body = None
    if data is not None:
        body = json.dumps(data).encode()
        headers["Content-Type"] = "application/json"
    request = urllib.request.Request(url, data=body, headers=headers)  # noqa: S310 - 127.0.0.1
    began = time.monotonic()
    try:
        with urllib.request.urlopen(request, timeout=30) as response:  # noqa: S310
            status, content_type, payload = response.status, response.headers, response.read()
    except urllib.error.HTTPError as error:
        status, content_type, payload = error.code, error.headers, error.read()
    return Answer(status, content_type.get("Content-Type", ""), payload, time.monotonic() - began)


class WebServer:
    """`manage.py runserver --noreload --nothreading`: one thread serves every request on
    one persistent database connection, as a gunicorn sync worker does, so a request that
    hung would stall every later one too."""

    def __init__(self, database_url: str, redis_url: str) -> None:
        self.port = free_port()
        self.log = tempfile.NamedTemporaryFile(  # noqa: SIM115 - kept open while it runs
            prefix="hookhub-web-", suffix=".log", delete=False
        )
        env = {
            **os.environ,
            "DJANGO_SETTINGS_MODULE": PRODUCTION_SETTINGS,
            "DATABASE_URL": database_url,
            "REDIS_URL": redis_url,
            "DEBUG": "0",
        }
        self.process = subprocess.Popen(
            [
                sys.executable,
                "manage.py",
                "runserver",
                "--noreload",
                "--nothreading",
                f"127.0.0.1:{self.port}",
            ],  # fmt: skip
            cwd=ROOT,
            env=env,
            stdout=self.log,
            stderr=subprocess.STDOUT,
        )

    def url(self, path: str) -> str:
        return f"http://127.0.0.1:{self.port}{path}"

    def output(self) -> str:
        return Path(self.log.name).read_text(errors="replace")

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=10)
        Path(self.log.name).unlink(missing_ok=True)


@dataclass
class Publisher:
    """publish() in a loop on a thread of its own, as a provider's process would, noting
    which keys returned and which raised. Like Django's request cycle, it drops a broken
    connection (close_old_connections) before trying again."""

    returned: list[str] = field(default_factory=list)
    raised: list[str] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    stopping: threading.Event = field(default_factory=threading.Event)

    def run(self) -> None:
        number = 0
        try:
            while not self.stopping.is_set():
                key = f"web-outage-{number}"
                number += 1
                try:
                    publish("order-paid", {"id": number}, idempotency_key=key)
                    self.returned.append(key)
                except DatabaseError as error:
                    self.raised.append(key)
                    self.errors.append(f"{type(error).__name__}: {error}")
                    close_old_connections()
                    self.stopping.wait(0.2)
                self.stopping.wait(0.02)
        finally:
            from django.db import connection

            connection.close()


def test_web_answers_errors_at_once_while_postgres_is_down_and_recovers_without_restart(
    own_services, report
):
    postgres, redis_server = own_services.postgres, own_services.redis
    staff = StaffFactory(username="operator")
    event_type = EventTypeFactory(name="order-paid")
    for index in range(ENDPOINTS):
        # No worker runs: deliveries stay pending, and what matters is what was stored.
        EndpointFactory(owner=staff, url=f"http://127.0.0.1:9/e{index}", event_types=[event_type])
    _, token = ApiToken.issue(staff, "crash test")
    browser = Client()
    browser.force_login(staff)
    session = browser.cookies["sessionid"].value

    web = WebServer(postgres.url(), redis_server.url())
    publisher = Publisher()
    thread = threading.Thread(target=publisher.run, name="publisher", daemon=True)
    try:
        ready = wait_for(lambda: fetch(web.url("/accounts/login/")).status == 200, timeout=30)
        assert ready is not None, web.output()[-3000:]
        api, page = web.url("/api/v1/endpoints/"), web.url("/endpoints/")
        events = web.url("/api/v1/events/")
        assert fetch(api, token=token).status == 200
        assert fetch(page, session=session).status == 200
        accepted = fetch(events, token=token, data=EVENT)
        assert accepted.status == 202, accepted.body
        thread.start()
        time.sleep(1.0)  # the publisher is in full swing when the server dies

        postgres.crash()
        crashed_at = time.monotonic()
        down: list[tuple[str, Answer]] = []
        publish_failures: list[tuple[float, Exception]] = []
        while time.monotonic() - crashed_at < OUTAGE:
            down.append(("api", fetch(api, token=token)))
            down.append(("page", fetch(page, session=session)))
            down.append(("ingest", fetch(events, token=token, data=EVENT)))
            began = time.monotonic()
            with pytest.raises(DatabaseError) as raised:
                publish("order-paid", {"id": 2}, idempotency_key="while-down")
            publish_failures.append((time.monotonic() - began, raised.value))
            close_old_connections()
            time.sleep(0.3)
        began = time.monotonic()
        postgres.start()
        restart_took = time.monotonic() - began
        recovered = wait_for(lambda: fetch(api, token=token).status == 200, timeout=30)
        after = {
            "api": fetch(api, token=token),
            "page": fetch(page, session=session),
            "ingest": fetch(events, token=token, data=EVENT),
        }
        time.sleep(1.0)  # the publisher recovers by itself too
    finally:
        publisher.stopping.set()
        if thread.is_alive():
            thread.join(10)
        web_alive = web.process.poll() is None
        output = web.output()
        web.stop()

    assert web_alive, "the web process died in the outage: " + output[-3000:]
    assert recovered is not None, output[-3000:]
    slowest = max(answer.seconds for _, answer in down)
    assert slowest < ANSWER_WITHIN, [(kind, a.status, round(a.seconds, 2)) for kind, a in down]
    for kind, answer in down:
        assert answer.status == 500, (kind, answer.status, answer.body[:300])
        if kind == "page":
            assert answer.content_type.startswith("text/html"), answer.content_type
            assert b"Something went wrong on our side" in answer.body
        else:
            assert answer.content_type.startswith("application/json"), (kind, answer.content_type)
            assert json.loads(answer.body) == {
                "detail": "HookHub failed to handle the request.",
                "code": "server_error",
            }
    assert after["api"].status == 200, after["api"].body[:300]
    assert after["page"].status == 200 and b"Something went wrong" not in after["page"].body
    assert after["ingest"].status == 202, after["ingest"].body[:300]

    # publish() while the server was down: a database error at once, nothing stored.
    slowest_publish = max(seconds for seconds, _ in publish_failures)
    assert slowest_publish < ANSWER_WITHIN
    message = str(publish_failures[0][1])
    assert "connection" in message.lower(), message
    assert not Event.objects.filter(idempotency_key="while-down").exists()

    # The publisher thread: what returned is stored whole; what raised is absent or whole
    # (a commit can succeed while its reply is lost); no event has fewer deliveries.
    assert publisher.raised, "the publisher was publishing while the server died"
    assert _number(publisher.returned[-1]) > _number(publisher.raised[-1]), "it recovered"
    stored = set(
        Event.objects.filter(idempotency_key__startswith="web-outage-").values_list(
            "idempotency_key", flat=True
        )
    )
    assert set(publisher.returned) <= stored, "an event publish() returned was lost"
    per_event = dict.fromkeys(Event.objects.values_list("pk", flat=True), 0)
    for event_id in Delivery.objects.values_list("event_id", flat=True):
        per_event[event_id] += 1
    half = {event_id: count for event_id, count in per_event.items() if count != ENDPOINTS}
    assert not half, f"events stored without all their deliveries: {half}"
    ambiguous = sorted(set(publisher.raised) & stored)
    report(
        f"web during a {OUTAGE:.0f} s PostgreSQL outage: {len(down)} requests, all 500 "
        f"(JSON under /api/, HTML elsewhere), slowest {slowest * 1000:.0f} ms; serving again "
        f"{recovered + restart_took:.1f} s after the restart began; "
        f"publish() raised in at most {slowest_publish * 1000:.0f} ms: {message.splitlines()[0]}; "
        f"publisher thread: {len(publisher.returned)} returned, {len(publisher.raised)} raised "
        f"({len(ambiguous)} of those committed anyway, whole); "
        f"{len(per_event)} events, every one with its {ENDPOINTS} deliveries"
    )


def _number(key: str) -> int:
    return int(key.rsplit("-", 1)[1])
