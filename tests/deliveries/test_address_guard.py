"""The outbound guard: every spelling of an internal address is refused before connecting."""

from __future__ import annotations

import ipaddress

import pytest
from django.core.exceptions import ValidationError
from django.test import override_settings

from deliveries.models import Attempt, Delivery
from subscriptions.addresses import BlockedAddress, resolve_and_check, validate_endpoint_url

# Every way of writing an IPv4 address inside an IPv6 one, and whether the guard reads the
# IPv4 address back out ("written as IPv6") or blocks the whole prefix.
EMBEDDINGS = {
    "mapped": lambda v4: f"::ffff:{v4}",
    "translated (SIIT)": lambda v4: f"::ffff:0:{v4}",
    "compatible": lambda v4: f"::{v4}",
    "NAT64 well-known": lambda v4: f"64:ff9b::{v4}",
    "NAT64 local-use": lambda v4: f"64:ff9b:1::{v4}",
    "6to4": lambda v4: "2002:{:02x}{:02x}:{:02x}{:02x}::1".format(*map(int, v4.split("."))),
    "Teredo": lambda v4: "2001:0:4136:e378:8000:63bf:{:02x}{:02x}:{:02x}{:02x}".format(
        *(255 - int(part) for part in v4.split("."))  # Teredo stores the client's IPv4 inverted
    ),
}
WHOLE_PREFIX = {"NAT64 local-use": "a local NAT64 address", "Teredo": "a Teredo tunnel address"}
INTERNAL_IPV4 = {
    "127.0.0.1": "a loopback address",
    "10.1.2.3": "a private network address",
    "192.168.0.1": "a private network address",
    "169.254.1.1": "a link-local address",
    "169.254.169.254": "the cloud metadata address",
    "100.64.0.1": "a carrier-grade NAT (shared) address",
}

BLOCKED_HOSTS = {
    "10.0.0.1": "a private network address",
    "169.254.169.254": "the cloud metadata address",
    "[::ffff:10.0.0.1]": "a private network address written as IPv6",
    "[64:ff9b::a9fe:a9fe]": "the cloud metadata address written as IPv6",
    "[2002:a9fe:a9fe::]": "the cloud metadata address written as IPv6",
    "[::ffff:0:a9fe:a9fe]": "the cloud metadata address written as IPv6",
    "[::ffff:0:a00:1]": "a private network address written as IPv6",
    "100.64.0.1": "a carrier-grade NAT (shared) address",
    "0.0.0.0": "an unspecified (0.0.0.0) address",
    "224.0.0.1": "a multicast address",
    "[ff02::1]": "a multicast address",
    "[fe80::1]": "a link-local address",
    "172.16.5.4": "a private network address",
    "[fd00::1]": "a private network address",
}

# Loopback spellings: only refused when loopback is not allowlisted (the tests allow it).
LOOPBACK_SPELLINGS = ["0177.0.0.1", "2130706433", "0x7f.0.0.1", "127.1", "[::ffff:127.0.0.1]"]


@pytest.mark.django_db
@pytest.mark.parametrize(("host", "kind"), sorted(BLOCKED_HOSTS.items()))
def test_blocked_forms_are_refused_and_never_contacted(
    host, kind, receiver, make_endpoint, publish_now
):
    make_endpoint(url=f"http://{host}:{receiver.port}/hook")
    publish_now("order-paid", {"id": 1})
    attempt = Attempt.objects.get()
    assert attempt.error_class == Attempt.ErrorClass.BLOCKED_ADDRESS
    assert kind in attempt.error_message
    assert attempt.response_status is None
    assert receiver.requests == []
    assert Delivery.objects.get().status == Delivery.Status.PENDING  # retried on schedule


@pytest.mark.django_db
@pytest.mark.parametrize("host", LOOPBACK_SPELLINGS)
def test_loopback_spellings_are_judged_after_resolution(
    host, receiver, make_endpoint, publish_now, settings
):
    settings.HOOKHUB_ALLOWED_CIDRS = []
    make_endpoint(url=f"http://{host}:{receiver.port}/hook")
    publish_now("order-paid", {"id": 1})
    attempt = Attempt.objects.get()
    assert attempt.error_class == Attempt.ErrorClass.BLOCKED_ADDRESS
    assert "loopback" in attempt.error_message
    assert receiver.requests == []


@pytest.mark.django_db
def test_the_allowlist_exempts_listed_networks_only(receiver, make_endpoint, publish_now):
    # tests/settings.py allows 127.0.0.0/8: the receiver is reachable, spelled any way.
    make_endpoint(url=f"http://2130706433:{receiver.port}/hook")
    publish_now("order-paid", {"id": 1})
    assert receiver.wait_for(1)
    assert Delivery.objects.get().status == Delivery.Status.SUCCEEDED
    with pytest.raises(BlockedAddress):
        resolve_and_check("10.0.0.1", 80)
    with pytest.raises(BlockedAddress):
        resolve_and_check("169.254.169.254", 80)
    with override_settings(HOOKHUB_ALLOWED_CIDRS=["10.0.0.0/8"]):
        assert resolve_and_check("10.0.0.1", 80) == ["10.0.0.1"]


def test_a_name_is_refused_if_any_of_its_addresses_is(settings):
    settings.HOOKHUB_ALLOWED_CIDRS = []
    # "localhost" resolves to loopback only here; the rule is any-address-refused.
    with pytest.raises(BlockedAddress) as caught:
        resolve_and_check("localhost", 80)
    assert "loopback" in caught.value.reason


@pytest.mark.parametrize(
    ("url", "words"),
    [
        ("ftp://example.com/x", "https://"),
        ("http://user:secret@example.com/x", "user name or password"),
        ("http://[::1/x", "malformed"),
        ("http://example.com:99999/x", "malformed"),
        ("https:///path", "no host"),
        ("http://169.254.169.254/latest", "the cloud metadata address"),
        ("http://10.1.2.3/", "a private network address"),
        ("http://100.64.0.1/", "carrier-grade NAT"),
    ],
)
def test_validate_endpoint_url_explains_refusals_in_plain_words(url, words):
    with pytest.raises(ValidationError) as caught:
        validate_endpoint_url(url)
    assert words in caught.value.messages[0]


def test_validate_endpoint_url_accepts_public_and_not_yet_resolvable_hosts():
    validate_endpoint_url("https://93.184.216.34/hooks")
    validate_endpoint_url("https://receiver.example.invalid/hooks")


def test_the_guard_can_be_switched_off_for_private_deployments(settings):
    settings.HOOKHUB_ADDRESS_GUARD = False
    assert resolve_and_check("10.0.0.1", 80) == ["10.0.0.1"]


@pytest.mark.parametrize("form", sorted(EMBEDDINGS))
@pytest.mark.parametrize(("v4", "kind"), sorted(INTERNAL_IPV4.items()))
def test_every_ipv6_form_of_an_internal_ipv4_address_is_refused(form, v4, kind, settings):
    settings.HOOKHUB_ALLOWED_CIDRS = []
    address = EMBEDDINGS[form](v4)
    expected = WHOLE_PREFIX.get(form, f"{kind} written as IPv6")
    with pytest.raises(BlockedAddress) as caught:
        resolve_and_check(address, 80)  # what the transport runs before every connect
    assert caught.value.kind == expected
    with pytest.raises(ValidationError) as refused:
        validate_endpoint_url(f"http://[{address}]/hook")  # registration: form and API
    assert refused.value.code == "blocked_address"


@pytest.mark.parametrize("form", sorted(set(EMBEDDINGS) - set(WHOLE_PREFIX)))
def test_the_ipv6_forms_of_a_public_ipv4_address_are_judged_as_that_address(form, settings):
    settings.HOOKHUB_ALLOWED_CIDRS = []
    address = EMBEDDINGS[form]("93.184.215.14")
    assert resolve_and_check(address, 80) == [str(ipaddress.ip_address(address))]
