"""URL and address checks for ``fetchers.http``: one reading of a URL, and public addresses only.

A URL is read once, the way the HTTP client reads it: requests prepares it (urllib3's
``parse_url``, IDNA, quoting) and picks its connection pool from the prepared URL with
``urllib.parse``. ``parse_target`` returns that prepared URL and its host, and refuses a
URL that the parsers could read differently (a backslash, a control character or a space
in the authority, more than one ``@``, a percent-escape in the host name), so the host
that is checked is the host that is connected to.

Links found inside feeds, sitemaps and pages are untrusted: before any connection is
made, every address their host resolves to must be public (not private, loopback,
link-local, multicast, reserved, unspecified or otherwise non-global), and the connection
goes to the address that was checked (``pinned_url``), never to a second lookup's answer.
"""

from __future__ import annotations

import ipaddress
import re
import socket
import unicodedata
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from urllib.parse import urlsplit

from requests.exceptions import RequestException
from requests.models import PreparedRequest
from urllib3.exceptions import LocationParseError
from urllib3.util import parse_url

Resolver = Callable[[str], Iterable[str]]

SCHEMES = ("http", "https")
DEFAULT_PORTS = {"http": 80, "https": 443}
_AUTHORITY = re.compile(r"([A-Za-z][A-Za-z0-9+.-]*):(//)?([^/?#]*)")


@dataclass(frozen=True)
class Target:
    """A URL as the HTTP client will send it, and the one host it connects to."""

    url: str  # prepared by requests: IDNA host, quoted path
    scheme: str  # http | https
    host: str  # lower case, no brackets, no trailing dot: what is resolved and connected to
    port: int
    host_header: str  # the Host header the client sends: host, and the port when not the default


def _authority_problem(authority: str) -> str | None:
    """Why the parsers could read this authority differently, or None."""
    if "\\" in authority:
        return "backslash in the authority (parsers disagree on its host)"
    if any(c.isspace() or unicodedata.category(c) in ("Cc", "Cf") for c in authority):
        return "control character or space in the authority"
    if authority.count("@") > 1:
        return "more than one '@' in the authority"
    if "%" in authority.rpartition("@")[2]:
        return "percent-escape in the host (parsers disagree on its host)"
    return None


def _bare(host: str) -> str:
    return host.strip("[]").rstrip(".").lower()


def parse_target(url: str) -> Target:
    """The ``Target`` of an http(s) URL; ValueError (its message says why) when unusable or ambiguous."""
    text = url.lstrip()  # as requests does
    head = _AUTHORITY.match(text)
    scheme = head.group(1).lower() if head else ""
    if head is None or scheme not in SCHEMES:
        raise ValueError(f"unsupported scheme {scheme or '(none)'!r}")
    authority = head.group(3)
    if not head.group(2):
        raise ValueError("no host")
    problem = _authority_problem(authority)
    if problem:
        raise ValueError(problem)
    try:
        raw = urlsplit(text)  # urllib.parse's reading of the URL as given
        raw_host = _bare(raw.hostname or "") if authority.isascii() else None
        prepared = _prepared_url(text)
        parsed = parse_url(prepared)  # the host urllib3 reads
        split = urlsplit(prepared)  # the host requests picks its connection pool by
        split_port = split.port  # ValueError when not a number or out of range
    except (RequestException, LocationParseError, ValueError) as exc:
        raise ValueError(str(exc) or type(exc).__name__) from None
    host = _bare(parsed.host or "")
    if not host:
        raise ValueError("no host")
    if host != _bare(split.hostname or "") or parsed.port != split_port or raw_host not in (None, host):
        raise ValueError("the host is read differently by the URL parsers")
    port = parsed.port or DEFAULT_PORTS[scheme]
    bracketed = f"[{host}]" if ":" in host else host
    header = bracketed if port == DEFAULT_PORTS[scheme] else f"{bracketed}:{port}"
    return Target(url=prepared, scheme=scheme, host=host, port=port, host_header=header)


def _prepared_url(url: str) -> str:
    """``url`` as requests sends it (IDNA host, quoted path), its credentials checked as sendable."""
    prepared = PreparedRequest()
    prepared.prepare_url(url, None)
    prepared.prepare_headers({})
    prepared.prepare_auth(None)
    return str(prepared.url)


def pinned_url(target: Target, address: str) -> str:
    """``target.url`` with its host replaced by ``address`` (the connection goes there, nowhere else)."""
    literal = f"[{address}]" if ":" in address else address
    return parse_url(target.url)._replace(host=literal).url


def system_resolver(host: str) -> list[str]:
    """Every address ``host`` resolves to (socket.getaddrinfo); socket.gaierror when none."""
    infos = socket.getaddrinfo(host, None, type=socket.SOCK_STREAM)
    return [str(info[4][0]) for info in infos]


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


def checked_addresses(host: str, resolver: Resolver) -> tuple[list[str], str | None]:
    """``(addresses, first non-public one or None)`` for ``host`` (an IP literal is its own address).

    Raises OSError (socket.gaierror) when the name does not resolve to anything.
    """
    literal = literal_address(host)
    addresses = [literal] if literal is not None else [str(a) for a in resolver(host)]
    if not addresses:
        raise socket.gaierror(f"no address for {host}")
    for address in addresses:
        try:
            if not is_public(address):
                return addresses, address
        except ValueError:  # not an IP address at all: refuse rather than guess
            return addresses, address
    return addresses, None
