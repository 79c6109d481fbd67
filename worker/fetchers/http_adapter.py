"""The transport adapter of ``fetchers.http``: requests' HTTPAdapter with two additions.

- Pinned addresses keep their name for TLS. A checked untrusted URL is sent to the address
  the guard checked (``http_netguard.pinned_url``) with the site's name in the Host header;
  for such a request the TLS handshake sends that name (SNI) and the certificate is
  verified against it, exactly as if the name had been connected to.
- Every connection registers with its thread's deadline (``http_deadline``), so a request
  that runs past its overall deadline has its socket shut down.

Only documented extension points of requests and urllib3 are used:
``build_connection_pool_key_attributes``, ``init_poolmanager``, ``proxy_manager_for`` and
the pool managers' ``pool_classes_by_scheme``.
"""

from __future__ import annotations

import re
from typing import Any

from requests.adapters import DEFAULT_POOLBLOCK, HTTPAdapter
from requests.models import PreparedRequest
from urllib3.poolmanager import ProxyManager

from worker.fetchers.http_deadline import WATCHED_POOLS
from worker.fetchers.http_netguard import literal_address

_NAME_AND_PORT = re.compile(r"([^:\[\]@/\\\s]+?)(?::[0-9]+)?")


def pinned_name(request: PreparedRequest, url_host: str | None) -> str | None:
    """The host name a request sent to an IP address stands for (its Host header), else None."""
    header = request.headers.get("Host")
    if not isinstance(header, str) or url_host is None or literal_address(url_host) is None:
        return None
    match = _NAME_AND_PORT.fullmatch(header)
    if match is None or literal_address(match.group(1)) is not None:
        return None
    return match.group(1).lower()


class GuardedAdapter(HTTPAdapter):
    """HTTPAdapter whose TLS checks a pinned request against its name, with deadline-watched pools."""

    def init_poolmanager(
        self, connections: int, maxsize: int, block: bool = DEFAULT_POOLBLOCK, **pool_kwargs: Any
    ) -> None:
        super().init_poolmanager(connections, maxsize, block, **pool_kwargs)
        self.poolmanager.pool_classes_by_scheme = dict(WATCHED_POOLS)

    def proxy_manager_for(self, proxy: str, **proxy_kwargs: Any) -> Any:
        manager = super().proxy_manager_for(proxy, **proxy_kwargs)
        if isinstance(manager, ProxyManager):  # not SOCKS, which brings pool classes of its own
            manager.pool_classes_by_scheme = dict(WATCHED_POOLS)
        return manager

    def build_connection_pool_key_attributes(
        self, request: PreparedRequest, verify: Any, cert: Any = None
    ) -> tuple[Any, Any]:
        host_params, pool_kwargs = super().build_connection_pool_key_attributes(request, verify, cert)
        name = pinned_name(request, host_params.get("host"))
        if name is None or host_params.get("scheme") != "https":
            return host_params, pool_kwargs
        return host_params, {**pool_kwargs, "server_hostname": name}  # SNI, and the name the certificate must match
