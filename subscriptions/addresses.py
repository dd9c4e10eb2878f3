"""The outbound address guard: which hosts HookHub may send webhooks to.

One set of rules serves the endpoint form, the API serializer and the transport. The rules
judge *resolved* addresses, never the spelling in the URL: `getaddrinfo` turns `0177.0.0.1`
and `2130706433` into 127.0.0.1, which `ipaddress` alone would miss. A name is refused when
ANY of its addresses is refused (a DNS answer mixing a public and a private address is an
attack), and the transport connects to the addresses checked here (no second lookup, so DNS
rebinding gains nothing).

Explicit network lists, because on Python 3.11 `is_private` misses CGNAT and `is_global`
is True for the NAT64 and 6to4 spellings of 169.254.169.254.
"""

from __future__ import annotations

import functools
import ipaddress
import socket
from dataclasses import dataclass
from urllib.parse import urlsplit

from django.conf import settings
from django.core.exceptions import ValidationError

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address

METADATA = "the cloud metadata address"

# (network, plain-words kind). Order matters: the first match names the reason.
_BLOCKED: list[tuple[str, str]] = [
    ("169.254.169.254/32", METADATA),
    ("169.254.170.2/32", METADATA),  # AWS ECS task metadata
    ("100.100.100.200/32", METADATA),  # Alibaba Cloud
    ("fd00:ec2::254/128", METADATA),  # AWS over IPv6
    ("0.0.0.0/8", "an unspecified (0.0.0.0) address"),
    ("127.0.0.0/8", "a loopback address"),
    ("10.0.0.0/8", "a private network address"),
    ("172.16.0.0/12", "a private network address"),
    ("192.168.0.0/16", "a private network address"),
    ("100.64.0.0/10", "a carrier-grade NAT (shared) address"),
    ("169.254.0.0/16", "a link-local address"),
    ("192.0.0.0/24", "a reserved protocol address"),
    ("192.0.2.0/24", "a documentation address"),
    ("198.51.100.0/24", "a documentation address"),
    ("203.0.113.0/24", "a documentation address"),
    ("198.18.0.0/15", "a benchmarking address"),
    ("224.0.0.0/4", "a multicast address"),
    ("240.0.0.0/4", "a reserved address"),  # includes 255.255.255.255 broadcast
    ("::/128", "an unspecified (::) address"),
    ("::1/128", "a loopback address"),
    ("fe80::/10", "a link-local address"),
    ("fec0::/10", "a site-local address"),
    ("fc00::/7", "a private network address"),
    ("ff00::/8", "a multicast address"),
    ("100::/64", "a discard-only address"),
    ("2001:db8::/32", "a documentation address"),
    ("2001::/32", "a Teredo tunnel address"),
    ("64:ff9b:1::/48", "a local NAT64 address"),
]
_BLOCKED_NETWORKS = [(ipaddress.ip_network(net), kind) for net, kind in _BLOCKED]

_NAT64 = ipaddress.ip_network("64:ff9b::/96")
# SIIT's "IPv4-translated" form (RFC 2765, 6145): ::ffff:0:a.b.c.d, not the mapped ::ffff:a.b.c.d.
_TRANSLATED = ipaddress.ip_network("::ffff:0:0:0/96")
_SIX_TO_FOUR = ipaddress.ip_network("2002::/16")
_V4_COMPATIBLE = ipaddress.ip_network("::/96")


class BlockedAddress(Exception):
    """The host resolves to an address the guard refuses. `.reason` is plain words."""

    def __init__(self, host: str, address: str, kind: str) -> None:
        self.host = host
        self.address = address
        self.kind = kind
        shown = host if host == address else f"{host} ({address})"
        self.reason = f"{shown} is {kind}, which HookHub does not send webhooks to."
        super().__init__(self.reason)


class UnresolvableHost(Exception):
    """DNS gave no address for the host."""


@dataclass(frozen=True)
class Target:
    """Where a URL points, after the guard: what to connect to and what to call it."""

    scheme: str
    host: str
    port: int
    addresses: tuple[str, ...]


def embedded_ipv4(address: IPAddress) -> ipaddress.IPv4Address | None:
    """The IPv4 address hidden in a mapped, translated, NAT64, 6to4 or IPv4-compatible IPv6
    address. (Teredo and local-use NAT64 are blocked whole: see _BLOCKED.)"""
    if not isinstance(address, ipaddress.IPv6Address):
        return None
    if address.ipv4_mapped is not None:
        return address.ipv4_mapped
    in_low_bits = address in _NAT64 or address in _TRANSLATED
    if in_low_bits or (address in _V4_COMPATIBLE and int(address) > 1):
        return ipaddress.IPv4Address(int(address) & 0xFFFFFFFF)
    if address in _SIX_TO_FOUR:
        return address.sixtofour
    return None


def _allowed_networks() -> tuple:
    return _networks(tuple(settings.HOOKHUB_ALLOWED_CIDRS))


@functools.lru_cache(maxsize=16)
def _networks(cidrs: tuple[str, ...]) -> tuple:
    # Keyed by the setting's value, so a changed allowlist (tests change it) is never stale.
    return tuple(ipaddress.ip_network(net, strict=False) for net in cidrs)


@functools.lru_cache(maxsize=4096)
def _verdict(address: str, allowed: tuple) -> str | None:
    # The transport judges every address of every send; a verdict depends only on the
    # address and the allowlist, so a worker judges each (address, allowlist) once.
    return blocked_kind(ipaddress.ip_address(address), list(allowed))


def _allowlisted(address: IPAddress, allowed: list) -> bool:
    return any(address.version == net.version and address in net for net in allowed)


def blocked_kind(address: IPAddress, allowed: list | None = None) -> str | None:
    """Why `address` is refused, in plain words; None when HookHub may send to it."""
    allowed = _allowed_networks() if allowed is None else allowed
    if _allowlisted(address, allowed):
        return None
    inner = embedded_ipv4(address)
    if inner is not None:
        # Judge the IPv4 address the packet would really reach; the allowlist applies to it too.
        kind = blocked_kind(inner, allowed)
        return f"{kind} written as IPv6" if kind else None
    for network, kind in _BLOCKED_NETWORKS:
        if address.version == network.version and address in network:
            return kind
    return None


def resolve(host: str, port: int) -> list[str]:
    """Every address `host` resolves to, in resolver order, without duplicates."""
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except (socket.gaierror, UnicodeError) as exc:
        raise UnresolvableHost(f"{host} could not be resolved ({exc}).") from None
    seen: list[str] = []
    for _family, _type, _proto, _name, sockaddr in infos:
        address = str(ipaddress.ip_address(sockaddr[0].split("%", 1)[0]))
        if address not in seen:
            seen.append(address)
    if not seen:
        raise UnresolvableHost(f"{host} has no address.")
    return seen


def resolve_and_check(host: str, port: int) -> list[str]:
    """Resolve once and judge every address. Returns the addresses to connect to; raises
    BlockedAddress if any of them is refused, UnresolvableHost if there is none."""
    addresses = resolve(host, port)
    if not settings.HOOKHUB_ADDRESS_GUARD:
        return addresses
    allowed = _allowed_networks()
    for address in addresses:
        kind = _verdict(address, allowed)
        if kind:
            raise BlockedAddress(host, address, kind)
    return addresses


@functools.lru_cache(maxsize=4096)  # pure, and the transport calls it for every send
def split_url(url: str) -> tuple[str, str, int]:
    """(scheme, host, port) of an endpoint URL; ValueError in plain words when it is unusable."""
    try:
        parts = urlsplit(url.strip())
        port = parts.port
    except ValueError:
        raise ValueError("The URL is malformed (check the host and port).") from None
    scheme = parts.scheme.lower()
    if scheme not in ("http", "https"):
        raise ValueError("The URL must start with https:// or http://.")
    if parts.username is not None or parts.password is not None:
        raise ValueError(
            "The URL must not contain a user name or password; use custom headers instead."
        )
    host = parts.hostname
    if not host:
        raise ValueError("The URL has no host name.")
    return scheme, host, port or (443 if scheme == "https" else 80)


def check_url(url: str) -> Target:
    """The transport's entry point: parse, resolve once, judge. Raises ValueError (bad URL),
    UnresolvableHost or BlockedAddress."""
    scheme, host, port = split_url(url)
    return Target(scheme, host, port, tuple(resolve_and_check(host, port)))


def validate_endpoint_url(url: str) -> None:
    """Form and serializer validation with the transport's rules, in plain words.

    A name that does not resolve today is accepted (the receiver may not be deployed yet);
    its deliveries record a DNS error until it does. Anything that resolves to a refused
    address is rejected now."""
    try:
        scheme, host, port = split_url(url)
        resolve_and_check(host, port)
    except ValueError as exc:
        raise ValidationError(str(exc), code="invalid_url") from None
    except BlockedAddress as exc:
        raise ValidationError(
            f"This URL points to {exc.kind} ({exc.address}); HookHub only sends webhooks to "
            "public internet addresses.",
            code="blocked_address",
        ) from None
    except UnresolvableHost:
        return
