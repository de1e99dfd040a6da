"""The client's address: one answer for throttles, login lockout and the audit trail.

`X-Forwarded-For` is believed only when the request arrives from a configured trusted proxy
(ONESTOP_TRUSTED_PROXIES, CIDR networks; none by default). The header is read from the right:
each hop added by a trusted proxy is skipped, and the first address that is not a trusted
proxy is the client. Anything a client writes further left is ignored, so a forged header from
the internet changes nothing.
"""

from __future__ import annotations

import ipaddress
from functools import lru_cache

from django.conf import settings

ORIGINAL_REMOTE_ADDR = "onestop.peer_addr"


@lru_cache(maxsize=8)
def _networks(spec: tuple[str, ...]):
    return tuple(ipaddress.ip_network(item, strict=False) for item in spec)


def trusted_proxies():
    return _networks(tuple(getattr(settings, "ONESTOP_TRUSTED_PROXIES", ())))


def _parse(value: str):
    try:
        return ipaddress.ip_address(value.strip().strip("[]"))
    except ValueError:
        return None


def resolve_client_ip(peer: str | None, forwarded_for: str | None) -> str | None:
    """The client address given the TCP peer and the X-Forwarded-For header."""
    networks = trusted_proxies()
    address = _parse(peer or "")
    if address is None:
        return None
    if not networks or not forwarded_for:
        return str(address)
    hops = [hop for hop in forwarded_for.split(",") if hop.strip()]
    while any(address in network for network in networks) and hops:
        candidate = _parse(hops.pop())
        if candidate is None:
            # A garbled hop cannot be trusted: stop at the last address we could vouch for.
            break
        address = candidate
    return str(address)


def from_trusted_proxy(request) -> bool:
    """Whether the TCP peer of the request is one of the trusted proxies (whose headers, such as
    X-Request-ID, are believed)."""
    networks = trusted_proxies()
    peer = _parse(request.META.get(ORIGINAL_REMOTE_ADDR, request.META.get("REMOTE_ADDR")) or "")
    return peer is not None and any(peer in network for network in networks)


def client_ip(request) -> str | None:
    """The request's client address (computed once by ClientAddressMiddleware)."""
    if ORIGINAL_REMOTE_ADDR in request.META:
        return request.META.get("REMOTE_ADDR")
    return resolve_client_ip(
        request.META.get("REMOTE_ADDR"), request.META.get("HTTP_X_FORWARDED_FOR")
    )


class ClientAddressMiddleware:
    """Replaces REMOTE_ADDR by the client address, first thing, so every later reader (DRF's
    throttles with NUM_PROXIES=0, django-axes, the audit trail) sees the same one."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        if ORIGINAL_REMOTE_ADDR not in request.META:
            peer = request.META.get("REMOTE_ADDR")
            resolved = resolve_client_ip(peer, request.META.get("HTTP_X_FORWARDED_FOR"))
            request.META[ORIGINAL_REMOTE_ADDR] = peer
            request.META["REMOTE_ADDR"] = resolved or ""
        return self.get_response(request)
