"""The client address the audit trail records (DESIGN.md §2.5: "client").

``X-Forwarded-For`` is written by whoever sends the request, so it is believed only when
the direct peer is one of the deployment's own reverse proxies (``security.trusted_proxies``);
then the address is the right-most hop that is not itself a trusted proxy.
"""

from __future__ import annotations

import ipaddress
from functools import lru_cache

from starlette.requests import HTTPConnection

Network = ipaddress.IPv4Network | ipaddress.IPv6Network


@lru_cache(maxsize=16)
def _networks(proxies: tuple[str, ...]) -> tuple[Network, ...]:
    return tuple(ipaddress.ip_network(p.strip(), strict=False) for p in proxies if p.strip())


def _ip(text: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    try:
        return ipaddress.ip_address(text.strip())
    except ValueError:
        return None


def _trusted(addr: str | None, proxies: tuple[str, ...]) -> bool:
    ip = _ip(addr or "")
    return ip is not None and any(ip in net for net in _networks(proxies))


def client_address(request: HTTPConnection, settings) -> str | None:
    """The peer's address, or the client a trusted proxy names for it."""
    peer = request.client.host if request.client else None
    proxies = tuple(settings.security.trusted_proxies)
    if not proxies or not _trusted(peer, proxies):
        return peer
    hops = [h.strip() for h in ",".join(request.headers.getlist("x-forwarded-for")).split(",") if h.strip()]
    for hop in reversed(hops):
        if _ip(hop) is None:
            return peer  # a malformed chain names no one
        if not _trusted(hop, proxies):
            return str(_ip(hop))
    return peer
