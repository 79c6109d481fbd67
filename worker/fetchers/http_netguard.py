"""URL and address checks for ``fetchers.http``: allowed schemes, and public addresses only.

Links found inside feeds, sitemaps and pages are untrusted: before any connection is
made, every address their host resolves to must be public (not private, loopback,
link-local, multicast, reserved, unspecified or otherwise non-global).
"""

from __future__ import annotations

import ipaddress
import socket
from collections.abc import Callable, Iterable
from urllib.parse import urlsplit

Resolver = Callable[[str], Iterable[str]]

SCHEMES = ("http", "https")


def split_host(url: str) -> tuple[str, str, int]:
    """``(scheme, host, port)`` of an http(s) URL, host lower-cased; ValueError when unusable."""
    parts = urlsplit(url)  # ValueError on a malformed IPv6 literal
    scheme = parts.scheme.lower()
    if scheme not in SCHEMES:
        raise ValueError(f"unsupported scheme {scheme or '(none)'!r}")
    host = (parts.hostname or "").rstrip(".")
    if not host:
        raise ValueError("no host")
    port = parts.port  # ValueError when not a number or out of range
    return scheme, host.lower(), port or (443 if scheme == "https" else 80)


def system_resolver(host: str) -> list[str]:
    """Every address ``host`` resolves to (socket.getaddrinfo); socket.gaierror when none."""
    infos = socket.getaddrinfo(host, None, type=socket.SOCK_STREAM)
    return [info[4][0] for info in infos]


def is_public(address: str) -> bool:
    """True when ``address`` is a globally routable unicast address (IPv4-mapped IPv6 unwrapped)."""
    ip = ipaddress.ip_address(address.split("%", 1)[0])
    if isinstance(ip, ipaddress.IPv6Address):
        if ip.ipv4_mapped is not None:
            ip = ip.ipv4_mapped
        elif ip.sixtofour is not None:
            ip = ip.sixtofour
    return not (
        ip.is_private
        or ip.is_loopback
        or ip.is_link_local
        or ip.is_multicast
        or ip.is_reserved
        or ip.is_unspecified
        or not ip.is_global
    )


def literal_address(host: str) -> str | None:
    """The host itself when it is an IP literal, else None."""
    try:
        return str(ipaddress.ip_address(host.strip("[]").split("%", 1)[0]))
    except ValueError:
        return None


def non_public_address(host: str, resolver: Resolver) -> str | None:
    """The first non-public address among those ``host`` resolves to, or None when all are public.

    Raises OSError (socket.gaierror) when the name does not resolve to anything.
    """
    literal = literal_address(host)
    addresses = [literal] if literal is not None else [str(a) for a in resolver(host)]
    if not addresses:
        raise socket.gaierror(f"no address for {host}")
    for address in addresses:
        try:
            if not is_public(address):
                return address
        except ValueError:  # not an IP address at all: refuse rather than guess
            return address
    return None
