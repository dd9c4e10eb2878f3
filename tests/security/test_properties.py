"""Property tests (hypothesis): bad input, fuzzed. Example counts are bounded so the suite
stays fast; deadlines are off because the first examples warm caches."""

from __future__ import annotations

import ipaddress
import json
import socket
import time

import pytest
from django.core.exceptions import ValidationError
from django.test import Client
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st
from jsonschema import Draft202012Validator
from standardwebhooks.webhooks import Webhook

from deliveries import signing
from deliveries.models import Delivery, Event
from deliveries.publishing import PublishError, validate_payload
from subscriptions import addresses, secrets
from subscriptions.models import ApiToken
from tests.factories import EndpointFactory, EventTypeFactory, StaffFactory

FAST = settings(max_examples=200, deadline=None)
SLOWER = settings(
    max_examples=100, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)

NAT64 = ipaddress.ip_network("64:ff9b::/96")

# --- the outbound address guard -------------------------------------------------------------


def verdict(address, allowed) -> bool:
    return addresses.blocked_kind(address, allowed) is None


@FAST
@given(st.ip_addresses(v=4), st.sampled_from([[], [ipaddress.ip_network("127.0.0.0/8")]]))
def test_ipv4_and_its_mapped_and_nat64_forms_get_the_same_verdict(v4, allowed):
    mapped = ipaddress.IPv6Address(f"::ffff:{v4}")
    nat64 = ipaddress.IPv6Address(int(NAT64.network_address) | int(v4))
    expected = verdict(v4, allowed)
    assert verdict(mapped, allowed) == expected
    assert verdict(nat64, allowed) == expected


@pytest.mark.parametrize(
    "address",
    ["127.0.0.1", "10.1.2.3", "169.254.169.254", "100.64.0.1", "192.168.1.1", "0.0.0.0"],
)
def test_well_known_internal_addresses_are_blocked_in_every_spelling(address):
    v4 = ipaddress.IPv4Address(address)
    forms = [v4, ipaddress.IPv6Address(f"::ffff:{v4}")]
    forms.append(ipaddress.IPv6Address(int(NAT64.network_address) | int(v4)))
    assert all(addresses.blocked_kind(form, []) for form in forms)


def numeric_host(host: str) -> bool:
    """Hosts getaddrinfo answers without asking DNS (the tests never leave 127.0.0.1).

    Asked of getaddrinfo itself: inet_aton also accepts "0\x0c0" (a number, then whitespace
    it ignores), which getaddrinfo then looks up as a name, and hypothesis found that."""
    try:
        socket.getaddrinfo(host, 80, flags=socket.AI_NUMERICHOST)
        return True
    except (OSError, UnicodeError, ValueError):
        return False


URL_HOSTS = st.one_of(
    st.ip_addresses(v=4).map(str),
    st.ip_addresses(v=6).map(lambda a: f"[{a}]"),
    st.ip_addresses(v=4).map(lambda a: f"[::ffff:{a}]"),
    st.integers(0, 2**32 - 1).map(str),  # 2130706433 == 127.0.0.1
    st.ip_addresses(v=4).map(lambda a: ".".join(f"0{int(p):o}" for p in str(a).split("."))),
    st.text(max_size=30),
)
URLS = st.one_of(
    st.text(max_size=200),
    st.builds(
        lambda scheme, host, port, path: f"{scheme}://{host}{port}/{path}",
        st.sampled_from(["http", "https", "HTTP", "ftp", "javascript", "file", ""]),
        URL_HOSTS,
        st.one_of(st.just(""), st.integers(-5, 70000).map(lambda p: f":{p}"), st.text(max_size=8)),
        st.text(max_size=30),
    ),
)


@FAST
@given(URLS)
def test_url_validation_never_crashes_and_agrees_with_the_guard(url):
    try:
        _, host, _ = addresses.split_url(url)
    except ValueError:
        with pytest.raises(ValidationError):
            addresses.validate_endpoint_url(url)
        return
    assume(numeric_host(host))
    try:
        addresses.validate_endpoint_url(url)
    except ValidationError:
        return
    # Accepted: then every address it resolves to is one the transport may reach.
    for address in addresses.resolve(host, 80):
        assert addresses.blocked_kind(ipaddress.ip_address(address)) is None


# --- signatures -------------------------------------------------------------------------------

JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(),
    lambda children: (
        st.lists(children, max_size=5) | st.dictionaries(st.text(max_size=10), children, max_size=5)
    ),
    max_leaves=20,
)


@FAST
@given(JSON, st.text(alphabet="abcdefghijklmnopqrstuvwxyz0123456789", min_size=1, max_size=30))
def test_signature_round_trip_with_standardwebhooks_for_arbitrary_json(data, suffix):
    current, previous = secrets.generate_secret(), secrets.generate_secret()
    body = json.dumps({"type": "x", "data": data}).encode()
    msg_id, timestamp = f"msg_{suffix}", int(time.time())
    headers = signing.signature_headers(msg_id, timestamp, body, [current, previous])
    # A receiver holding either secret during a rotation verifies the same request.
    for secret in (current, previous):
        assert Webhook(secret).verify(body, headers) == json.loads(body)
    tampered = body + b" "
    with pytest.raises(Exception, match="No matching signature"):
        Webhook(current).verify(tampered, headers)


# --- payload validation -----------------------------------------------------------------------

SCHEMA = {
    "type": "object",
    "properties": {"id": {"type": "integer"}, "tags": {"type": "array"}},
    "required": ["id"],
}


@pytest.mark.django_db
@SLOWER
@given(JSON)
def test_payload_validation_accepts_exactly_what_the_schema_accepts(data):
    event_type = EventTypeFactory.build(name="fuzzed", schema=SCHEMA)
    valid = Draft202012Validator(SCHEMA).is_valid(data)
    try:
        validate_payload(event_type, data)
    except PublishError:
        assert not valid
    else:
        assert valid


# --- the events API ---------------------------------------------------------------------------


@pytest.fixture
def staff_api(db):
    EventTypeFactory(name="order-paid", schema=SCHEMA)
    EndpointFactory(
        url="https://receiver.example.com/x", event_types=[EventTypeFactory(name="order-paid")]
    )
    _, key = ApiToken.issue(StaffFactory(username="publisher"))
    return Client(HTTP_AUTHORIZATION=f"Bearer {key}")


def post_raw(client: Client, body: bytes, content_type: str = "application/json"):
    return client.post("/api/v1/events/", data=body, content_type=content_type)


def assert_refused_and_nothing_stored(response):
    assert 400 <= response.status_code < 500, (response.status_code, response.content[:200])
    assert Event.objects.count() == 0
    assert Delivery.objects.count() == 0


def test_a_valid_event_is_accepted(staff_api):
    """The control: the same client and type do publish a well-formed event."""
    response = post_raw(staff_api, json.dumps({"type": "order-paid", "data": {"id": 1}}).encode())
    assert response.status_code == 202
    assert Event.objects.count() == 1


@pytest.mark.parametrize("depth", [100, 5000, 100_000])
def test_deeply_nested_payload_is_refused_and_stores_nothing(staff_api, depth):
    nested = "[" * depth + "]" * depth
    body = f'{{"type": "order-paid", "data": {{"id": 1, "tags": {nested}}}}}'.encode()
    assert_refused_and_nothing_stored(post_raw(staff_api, body))


def test_oversized_payload_is_refused_and_stores_nothing(staff_api, settings):
    settings.HOOKHUB_MAX_PAYLOAD_BYTES = 10_000
    body = json.dumps({"type": "order-paid", "data": {"id": 1, "tags": ["x" * 20_000]}})
    response = post_raw(staff_api, body.encode())
    assert_refused_and_nothing_stored(response)
    assert "limit" in response.content.decode()


def test_body_larger_than_the_upload_limit_is_refused(staff_api, settings):
    body = json.dumps({"type": "order-paid", "data": {"id": 1, "tags": ["x" * 3_000_000]}})
    assert_refused_and_nothing_stored(post_raw(staff_api, body.encode()))


@pytest.mark.parametrize(
    ("body", "content_type"),
    [
        (b"not json", "application/json"),
        (b'{"type": "order-paid", "data": ', "application/json"),
        (b"\xff\xfe\x00", "application/json"),
        (b'{"type": "order-paid", "data": NaN}', "application/json"),
        (b"type=order-paid&data=1", "application/x-www-form-urlencoded"),
        (b"<xml/>", "application/xml"),
        (b'"just a string"', "application/json"),
        (b"[]", "application/json"),
    ],
)
def test_non_json_bodies_are_refused_and_store_nothing(staff_api, body, content_type):
    assert_refused_and_nothing_stored(post_raw(staff_api, body, content_type))


@pytest.mark.django_db
@SLOWER
@given(st.binary(max_size=300) | st.text(max_size=300).map(str.encode))
def test_arbitrary_bytes_to_the_events_api_get_4xx_and_store_nothing(staff_api, body):
    assume(body.strip() != b"")
    try:
        decoded = json.loads(body)
    except ValueError:
        decoded = None
    # Bytes that happen to be a valid event are the control case, not fuzz.
    assume(not (isinstance(decoded, dict) and decoded.get("type") == "order-paid"))
    assert_refused_and_nothing_stored(post_raw(staff_api, body))


@pytest.mark.django_db
def test_in_process_publish_refuses_deep_nesting_without_exhausting_the_stack(settings):
    from deliveries.publishing import InvalidPayload, publish

    EventTypeFactory(name="order-paid", schema={})
    deep: list = []
    for _ in range(200_000):
        deep = [deep]
    with pytest.raises(InvalidPayload, match=f"deeper than {settings.HOOKHUB_MAX_PAYLOAD_DEPTH}"):
        publish("order-paid", {"id": 1, "tags": deep})
    assert Event.objects.count() == 0
