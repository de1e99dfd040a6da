"""Request logs and request ids (docs/deployment.md, "Logs").

Every request gets an id: the one an incoming `X-Request-ID` header carries when the request
comes through a trusted proxy (ONESTOP_TRUSTED_PROXIES, onestop/net.py) and the value is a sane
token, else a new uuid4 hex. It is returned in the `X-Request-ID` response header, shown on the
500 page, and attached by `RequestIdFilter` to every log record written while the request is
handled (a context variable), so an error report carries the id a citizen quotes.

`RequestLogMiddleware` writes one record per request on the `onestop.request` logger: method,
route (the URL pattern that matched, e.g. `office/dossiers/<int:pk>/`, never the raw path with
its ids and query string), status, duration in ms, user id. `JsonFormatter` writes each record
as one JSON line (production); development keeps plain text (settings, LOG_FORMAT).

The formatter and the filter use the standard library only: gunicorn.conf.py uses them too,
before Django is set up.
"""

from __future__ import annotations

import contextvars
import datetime as dt
import json
import logging
import re
import time
import uuid

request_id_var: contextvars.ContextVar[str | None] = contextvars.ContextVar(
    "onestop_request_id", default=None
)

REQUEST_ID_HEADER = "X-Request-ID"
# Letters, digits and a few separators (UUIDs, proxies' ids); anything else is not echoed back
# into headers and logs.
SANE_REQUEST_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9._:-]{0,127}")

request_log = logging.getLogger("onestop.request")


class RequestIdFilter(logging.Filter):
    """Puts the current request's id (None outside a request) on every record it sees."""

    def filter(self, record: logging.LogRecord) -> bool:
        if getattr(record, "request_id", None) is None:
            record.request_id = request_id_var.get()
        return True


class JsonFormatter(logging.Formatter):
    """One JSON object per line: time (UTC), level, logger, message, request id, the fields a
    record carries in `extra={"fields": {...}}`, and the traceback of an exception."""

    def format(self, record: logging.LogRecord) -> str:
        entry = {
            "time": dt.datetime.fromtimestamp(record.created, dt.UTC).isoformat(
                timespec="milliseconds"
            ),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
            "request_id": getattr(record, "request_id", None),
        }
        # django.request's error records carry the response's status (and the request object,
        # which is not written).
        status = getattr(record, "status_code", None)
        if isinstance(status, int):
            entry["status"] = status
        fields = getattr(record, "fields", None)
        if isinstance(fields, dict):
            entry.update(fields)
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        elif record.exc_text:
            entry["exception"] = record.exc_text
        if record.stack_info:
            entry["stack"] = self.formatStack(record.stack_info)
        return json.dumps(entry, ensure_ascii=False, default=str)


def incoming_request_id(request) -> str | None:
    """The X-Request-ID a trusted proxy sent, if it is a sane token."""
    from .net import from_trusted_proxy

    value = request.META.get("HTTP_X_REQUEST_ID", "").strip()
    if value and SANE_REQUEST_ID.fullmatch(value) and from_trusted_proxy(request):
        return value
    return None


def _route(request) -> str | None:
    """The URL pattern that matched (Django joins the included prefixes), the static prefix
    for a file WhiteNoise served, else None: never the raw path."""
    match = getattr(request, "resolver_match", None)
    if match is not None:
        return match.route
    from django.conf import settings

    static = "/" + settings.STATIC_URL.lstrip("/")
    if request.path_info.startswith(static):
        return static.lstrip("/") + "<path>"
    return None


def _user_id(request):
    """The user's id if the request already knew who it was: never a query just for the log."""
    from django.utils.functional import SimpleLazyObject, empty

    user = getattr(request, "user", None)
    if user is None:
        return None
    if isinstance(user, SimpleLazyObject) and user._wrapped is empty:
        return None
    return user.pk if getattr(user, "is_authenticated", False) else None


class RequestLogMiddleware:
    """Early in MIDDLEWARE (after ClientAddressMiddleware, which tells which peer is a proxy):
    sets the request id, times the rest, writes the request's log line."""

    def __init__(self, get_response):
        self.get_response = get_response
        connect_signals()

    def __call__(self, request):
        request_id = incoming_request_id(request) or uuid.uuid4().hex
        request.request_id = request_id
        # Not reset at the end of this method: Django logs some error responses after every
        # middleware has returned; request_finished (below) clears it.
        request_id_var.set(request_id)
        started = time.perf_counter()
        status = 500
        try:
            response = self.get_response(request)
            status = response.status_code
            response[REQUEST_ID_HEADER] = request_id
            return response
        finally:
            duration = round((time.perf_counter() - started) * 1000, 1)
            route = _route(request)
            request_log.info(
                "%s %s %s %.1fms",
                request.method,
                route or "-",
                status,
                duration,
                extra={
                    "fields": {
                        "method": request.method,
                        "route": route,
                        "status": status,
                        "duration_ms": duration,
                        "user_id": _user_id(request),
                    }
                },
            )


def _clear_request_id(**kwargs):
    request_id_var.set(None)


def connect_signals():
    from django.core.signals import request_finished

    request_finished.connect(_clear_request_id, dispatch_uid="onestop_clear_request_id")
