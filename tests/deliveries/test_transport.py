"""The transport against a real receiver on 127.0.0.1: every failure becomes a result."""

from __future__ import annotations

import asyncio
import socket
import time

import pytest
from django.conf import settings
from django.test import override_settings

from deliveries import transport
from deliveries.models import Attempt
from tests.receivers import Reply, redirect_to

E = Attempt.ErrorClass


def post(url: str) -> transport.TransportResult:
    return transport.send("POST", url, {"content-type": "application/json"}, b'{"a":1}')


def test_success_reports_status_headers_body_and_duration(receiver):
    receiver.on("/ok", Reply(204, headers={"X-Seen": "yes"}, body=b""))
    result = post(receiver.url("/ok"))
    assert result.succeeded and result.status == 204 and result.error_class == E.NONE
    assert result.headers["X-Seen"] == "yes"
    assert result.duration_ms >= 0
    assert receiver.requests[0].body == b'{"a":1}'


def test_connections_are_reused_per_host(receiver):
    async def five_in_a_row():
        async with transport.Client() as client:
            return [await client.send("POST", receiver.url("/ok"), {}, b"{}") for _ in range(5)]

    assert all(result.succeeded for result in asyncio.run(five_in_a_row()))
    # The receiver is HTTP/1.1 keep-alive: one pooled connection carries all five.
    assert len(receiver.requests) == 5
    assert len({r.client_port for r in receiver.requests}) == 1


def test_connection_refused_is_a_connect_error():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]  # closed again: nothing listens there
    result = post(f"http://127.0.0.1:{port}/")
    assert result.error_class == E.CONNECT and result.status is None


def test_connection_reset_is_reported(receiver):
    receiver.on("/reset", Reply(reset=True))
    result = post(receiver.url("/reset"))
    assert result.error_class == E.CONNECTION_RESET, result.error_message


@override_settings(HOOKHUB_DELIVERY_DEADLINE=0.5)
def test_a_receiver_that_never_answers_times_out_at_the_deadline(receiver):
    deadline = settings.HOOKHUB_DELIVERY_DEADLINE
    receiver.on("/slow", Reply(delay=10 * deadline))
    start = time.monotonic()
    result = post(receiver.url("/slow"))
    assert result.error_class == E.TIMEOUT
    # Ended by the deadline (twice that again to spare for a loaded machine), long before
    # the receiver would have answered.
    assert time.monotonic() - start < 3 * deadline


@override_settings(HOOKHUB_DELIVERY_DEADLINE=1.0)
def test_a_slow_drip_is_cut_off_at_the_deadline(receiver):
    deadline = settings.HOOKHUB_DELIVERY_DEADLINE
    receiver.on("/drip", Reply(200, body=b"x" * 40, drip=0.2))  # would take 8 x the deadline
    start = time.monotonic()
    result = post(receiver.url("/drip"))
    elapsed = time.monotonic() - start
    assert result.error_class == E.TIMEOUT and not result.succeeded
    # Cut off at the deadline (not before, and not when the body would have ended).
    assert 0.9 * deadline < elapsed < 2 * deadline, elapsed
    assert result.status == 200  # it did start answering


@override_settings(HOOKHUB_RESPONSE_BODY_CAP=1024, HOOKHUB_DELIVERY_DEADLINE=2.0)
def test_a_50_mb_answer_is_read_only_up_to_the_cap(receiver):
    receiver.on("/huge", Reply(200, huge=50 * 1024 * 1024))
    start = time.monotonic()
    result = post(receiver.url("/huge"))
    assert result.succeeded and result.truncated
    assert len(result.body) == 1024
    # It stopped reading at the cap: reading all 50 MB could take until the deadline.
    assert time.monotonic() - start < settings.HOOKHUB_DELIVERY_DEADLINE


def test_redirects_are_never_followed(receiver):
    receiver.on("/moved", redirect_to(receiver.url("/elsewhere"), 301))
    result = post(receiver.url("/moved"))
    assert result.status == 301 and result.error_class == E.HTTP_STATUS
    assert result.headers["Location"].endswith("/elsewhere")
    time.sleep(0.1)
    assert receiver.requests_to("/elsewhere") == []


def test_a_redirect_to_the_metadata_address_is_never_followed(receiver):
    receiver.on("/evil", redirect_to("http://169.254.169.254/latest/meta-data/", 307))
    result = post(receiver.url("/evil"))
    assert result.status == 307 and not result.succeeded
    assert [r.path for r in receiver.requests] == ["/evil"]


@pytest.mark.parametrize(
    ("url", "error_class"),
    [
        ("ftp://127.0.0.1/x", E.INVALID_URL),
        ("http://user:pw@127.0.0.1/x", E.INVALID_URL),
        ("http://no-such-host.invalid/x", E.DNS),
    ],
)
def test_unusable_urls_are_results_not_exceptions(url, error_class):
    assert post(url).error_class == error_class


def test_host_header_keeps_the_name_while_connecting_to_the_checked_address(receiver):
    result = post(receiver.url("/named", host="localhost"))
    assert result.succeeded
    assert receiver.requests[0].headers["host"] == f"localhost:{receiver.port}"


@override_settings(HOOKHUB_DELIVERY_DEADLINE=1.0)
def test_headers_dripped_one_byte_at_a_time_are_cut_off_at_the_deadline(receiver):
    # requests' read timeout is per read: without the watchdog this would take ~10 s.
    deadline = settings.HOOKHUB_DELIVERY_DEADLINE
    receiver.on("/slow-headers", Reply(200, header_drip=0.25))
    start = time.monotonic()
    result = post(receiver.url("/slow-headers"))
    elapsed = time.monotonic() - start
    assert result.error_class == E.TIMEOUT and not result.succeeded
    assert result.status is None
    # Cut off at the deadline (not before, and not when the headers would have ended).
    assert 0.9 * deadline < elapsed < 2 * deadline, elapsed
    assert len(receiver.requests_to("/slow-headers")) == 1


# 2 s, not 1: on a loaded 2-core machine 200 quick requests to the threaded test receiver
# took over 0.9 s once, which says nothing about waiting for the slow ones.
@override_settings(HOOKHUB_DELIVERY_DEADLINE=2.0)
def test_hundreds_of_requests_share_one_client_and_each_keeps_its_deadline(receiver):
    """A slow receiver's requests end at the deadline while the quick ones, sent on the same
    client at the same time, finish at once: nothing waits for anything else."""
    deadline = settings.HOOKHUB_DELIVERY_DEADLINE
    receiver.on("/slow", Reply(delay=5 * deadline))
    quick = [("POST", receiver.url(f"/quick/{i}"), {}, b"{}") for i in range(200)]
    slow = [("POST", receiver.url("/slow"), {}, b"{}") for _ in range(20)]
    start = time.monotonic()
    results = transport.send_batch(slow + quick)
    elapsed = time.monotonic() - start
    assert all(r.error_class == E.TIMEOUT for r in results[:20])
    # Each quick one was done before the slow ones' deadline: none waited for them.
    assert all(r.succeeded and r.duration_ms < 0.9 * deadline * 1000 for r in results[20:])
    # The batch ends at the slow ones' deadline (twice that again to spare for a loaded
    # machine and 200 quick requests), not when the slow receiver would have answered.
    assert 0.9 * deadline < elapsed < 3 * deadline, elapsed


def _resolving(monkeypatch, name: str, addresses: list[str]) -> None:
    """Make `name` resolve to `addresses`, in that order (the guard still judges each)."""
    real = socket.getaddrinfo

    def fake(host, port, *args, **kwargs):
        if host != name:
            return real(host, port, *args, **kwargs)
        return [
            (
                socket.AF_INET6 if ":" in a else socket.AF_INET,
                socket.SOCK_STREAM,
                6,
                "",
                (a, port, 0, 0) if ":" in a else (a, port),
            )
            for a in addresses
        ]

    monkeypatch.setattr(socket, "getaddrinfo", fake)


def test_a_dual_stack_name_is_reached_on_its_next_address_when_the_first_fails(
    receiver, monkeypatch
):
    # The receiver listens on 127.0.0.1 only, so ::1 refuses (as an IPv6 address does from a
    # host without IPv6 routes); the delivery must still arrive, over IPv4.
    _resolving(monkeypatch, "dual.test", ["::1", "127.0.0.1"])
    result = post(f"http://dual.test:{receiver.port}/dual")
    assert result.succeeded, result.error_message
    (got,) = receiver.requests_to("/dual")
    assert got.headers["host"] == f"dual.test:{receiver.port}"


def test_a_name_whose_every_address_refuses_is_a_connect_error(monkeypatch):
    with socket.socket() as probe:  # a port nobody listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    _resolving(monkeypatch, "nobody.test", ["::1", "127.0.0.1"])
    result = post(f"http://nobody.test:{port}/x")
    assert result.error_class == E.CONNECT and not result.succeeded


def test_every_address_is_judged_before_any_is_tried(receiver, monkeypatch):
    _resolving(monkeypatch, "mixed.test", ["127.0.0.1", "10.0.0.1"])
    result = post(f"http://mixed.test:{receiver.port}/mixed")
    assert result.error_class == E.BLOCKED_ADDRESS
    assert receiver.requests_to("/mixed") == []


def test_synchronous_sends_work_from_code_running_inside_an_event_loop(receiver):
    """Sync mode called from code that runs an event loop (playwright's sync API does)."""

    async def caller():
        return transport.send_batch([("POST", receiver.url("/inside"), {}, b"{}")])

    (result,) = asyncio.run(caller())
    assert result.succeeded and receiver.requests_to("/inside")
