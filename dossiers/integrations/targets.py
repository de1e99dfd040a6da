"""Where webhooks may be sent: never into private, loopback, link-local or otherwise internal
address ranges (server-side request forgery), unless the network is listed in
ONESTOP_WEBHOOK_ALLOWED_NETWORKS. Checked when a subscription is saved and again before every
delivery, since a name can be made to resolve elsewhere later."""

from __future__ import annotations

import ipaddress
import socket
from urllib.parse import urlsplit

from django.conf import settings
from django.utils.translation import gettext as _


class TargetRefused(ValueError):
    """The URL may not receive webhooks; the message says why."""


def _allowed_networks():
    return [
        ipaddress.ip_network(n, strict=False) for n in settings.ONESTOP_WEBHOOK_ALLOWED_NETWORKS
    ]


def _internal(address: ipaddress.IPv4Address | ipaddress.IPv6Address) -> bool:
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped:
        address = address.ipv4_mapped
    return (
        address.is_private
        or address.is_loopback
        or address.is_link_local
        or address.is_reserved
        or address.is_multicast
        or address.is_unspecified
        or not address.is_global
    )


def resolve(url: str) -> list[ipaddress.IPv4Address | ipaddress.IPv6Address]:
    """The addresses `url`'s host resolves to, or TargetRefused when the URL cannot be used."""
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise TargetRefused(_("Địa chỉ nhận phải là một URL http hoặc https."))
    if parts.username or parts.password:
        raise TargetRefused(_("Địa chỉ nhận không được chứa tên đăng nhập hay mật khẩu."))
    try:
        port = parts.port or (443 if parts.scheme == "https" else 80)
        infos = socket.getaddrinfo(parts.hostname, port, proto=socket.IPPROTO_TCP)
    except (OSError, ValueError, UnicodeError):
        raise TargetRefused(_("Không phân giải được tên miền của địa chỉ nhận.")) from None
    return [ipaddress.ip_address(info[4][0].split("%")[0]) for info in infos]


def check(url: str) -> None:
    """Raise TargetRefused unless every address of `url` is public or explicitly allowed."""
    allowed = _allowed_networks()
    for address in resolve(url):
        if _internal(address) and not any(address in network for network in allowed):
            raise TargetRefused(
                _("Không gửi đến địa chỉ nội bộ (%(address)s) khi chưa được cho phép.")
                % {"address": address}
            )
