"""The public address that links on slips (their QR codes) and in e-mails point at.

In production it is the required setting ONESTOP_PUBLIC_URL (checked at start-up: onestop.E002,
dossiers/checks.py). In development (DEBUG) it is the address the request came to, so a server
on another port or host prints links to itself; the request's address is set for the request
by `onestop.middleware.PublicBaseMiddleware`, and a job the action enqueues (a slip) carries it
to the worker. Without a request (commands, the worker's own jobs) the setting is used.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from urllib.parse import urlsplit

from django.conf import settings

_request_base: ContextVar[str | None] = ContextVar("onestop_request_base", default=None)


def public_base_url() -> str:
    """'https://motcua.example.gov.vn' (no trailing slash)."""
    if settings.DEBUG:
        base = _request_base.get()
        if base:
            return base
    return (settings.ONESTOP_PUBLIC_URL or "").rstrip("/")


@contextmanager
def request_base(base: str) -> Iterator[None]:
    """Within the block (one request), links point at `base` when DEBUG is on."""
    token = _request_base.set(base.rstrip("/"))
    try:
        yield
    finally:
        _request_base.reset(token)


def problem(value: str) -> str | None:
    """What is wrong with `value` as the public base address (None: nothing)."""
    if not value:
        return "it is not set"
    try:
        parts = urlsplit(value)
        parts.port  # noqa: B018  (raises on a malformed port)
    except ValueError as error:
        return f"it is not a URL ({error})"
    if parts.scheme not in ("http", "https") or not parts.hostname:
        return "it must be an absolute http:// or https:// address"
    if parts.username or parts.password or parts.query or parts.fragment:
        return "it must hold no user name, password, query or fragment"
    return None
