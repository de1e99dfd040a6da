"""Where webhooks may be sent: never into private, loopback, link-local or otherwise internal
address ranges (server-side request forgery), unless the network is listed in
ONESTOP_WEBHOOK_ALLOWED_NETWORKS. Checked when a subscription is saved and again before every
delivery, since a name can be made to resolve elsewhere later; a delivery then connects to the
very address that was checked (`pinned`), so a name cannot answer the check with a public
address and the connection with an internal one (DNS rebinding)."""

from __future__ import annotations

import ipaddress
import socket
from urllib.parse import urlsplit, urlunsplit

from django.conf import settings
from django.utils.translation import gettext as _

Address = ipaddress.IPv4Address | ipaddress.IPv6Address

# IPv6 prefixes that carry an IPv4 address (NAT64's well-known prefix): judged by that address.
NAT64 = ipaddress.ip_network("64:ff9b::/96")


class TargetRefused(ValueError):
    """The URL may not receive webhooks; the message says why."""


def _allowed_networks():
    return [
        ipaddress.ip_network(n, strict=False) for n in settings.ONESTOP_WEBHOOK_ALLOWED_NETWORKS
    ]


def _embedded_ipv4(address: Address) -> ipaddress.IPv4Address | None:
    """The IPv4 address an IPv6 address stands for (mapped, 6to4, Teredo, NAT64), if any."""
    if isinstance(address, ipaddress.IPv4Address):
        return None
    if address.ipv4_mapped:
        return address.ipv4_mapped
    if address.sixtofour:
        return address.sixtofour
    if address.teredo:
        return address.teredo[1]
    if address in NAT64:
        return ipaddress.IPv4Address(int(address) & 0xFFFFFFFF)
    return None


def _internal(address: Address) -> bool:
    embedded = _embedded_ipv4(address)
    if embedded is not None and _internal(embedded):
        return True
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped:
        return False  # judged by its IPv4 address above
    return (
        address.is_private
        or address.is_loopback
        or address.is_link_local
        or address.is_reserved
        or address.is_multicast
        or address.is_unspecified
        or not address.is_global
    )


def _parts(url: str):
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError:  # a malformed IPv6 literal or port
        raise TargetRefused(_("Địa chỉ nhận phải là một URL http hoặc https.")) from None
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise TargetRefused(_("Địa chỉ nhận phải là một URL http hoặc https."))
    if parts.username or parts.password:
        raise TargetRefused(_("Địa chỉ nhận không được chứa tên đăng nhập hay mật khẩu."))
    return parts, port or (443 if parts.scheme == "https" else 80)


def resolve(url: str) -> list[Address]:
    """The addresses `url`'s host resolves to, or TargetRefused when the URL cannot be used."""
    parts, port = _parts(url)
    try:
        infos = socket.getaddrinfo(parts.hostname, port, proto=socket.IPPROTO_TCP)
        addresses = [ipaddress.ip_address(info[4][0].split("%")[0]) for info in infos]
    except (OSError, ValueError, UnicodeError):
        raise TargetRefused(_("Không phân giải được tên miền của địa chỉ nhận.")) from None
    if not addresses:
        raise TargetRefused(_("Không phân giải được tên miền của địa chỉ nhận."))
    return list(dict.fromkeys(addresses))


def check(url: str) -> list[Address]:
    """Raise TargetRefused unless every address of `url` is public or explicitly allowed;
    returns those addresses."""
    allowed = _allowed_networks()
    addresses = resolve(url)
    for address in addresses:
        if _internal(address) and not any(address in network for network in allowed):
            raise TargetRefused(
                _("Không gửi đến địa chỉ nội bộ (%(address)s) khi chưa được cho phép.")
                % {"address": address}
            )
    return addresses


def pinned(url: str, address: Address) -> tuple[str, dict[str, str], dict[str, str]]:
    """`url` rewritten to connect to `address` (checked), with the Host header and, for https,
    the TLS server name (and so the certificate's name) of the original host:
    (url, headers, httpx request extensions)."""
    parts, port = _parts(url)
    literal = f"[{address}]" if address.version == 6 else str(address)
    url_to_address = urlunsplit(
        (parts.scheme, f"{literal}:{port}", parts.path or "/", parts.query, "")
    )
    host = f"[{parts.hostname}]" if ":" in parts.hostname else parts.hostname
    if parts.port:
        host = f"{host}:{parts.port}"
    extensions = {"sni_hostname": parts.hostname} if parts.scheme == "https" else {}
    return url_to_address, {"host": host}, extensions
