"""Reads shared by every audience: the dossier filters and search, Vietnam-day ranges, the
due-date order and its keyset pages."""

from __future__ import annotations

import base64
import contextlib
import datetime as dt
import json

from django.core.exceptions import ValidationError
from django.db.models import DateTimeField, Q, Value
from django.db.models.functions import Coalesce

from .text import search_key
from .workflow import Status
from .worktime import day_start

# Dossiers without a due date yet (waiting for intake) sort after every dated one.
FAR_FUTURE = dt.datetime(9999, 12, 31, tzinfo=dt.UTC)
PAGE_SIZE = 25


def apply_filters(queryset, params: dict):
    """Filters of the queue form; unknown or malformed values are ignored, never an error."""
    procedure = params.get("procedure", "")
    if procedure:
        queryset = queryset.filter(procedure__code=procedure)
    if params.get("status") in Status.values:
        queryset = queryset.filter(status=params["status"])
    if str(params.get("channel", "")).isdigit():
        queryset = queryset.filter(channel=int(params["channel"]))
    if str(params.get("assignee", "")).isdigit():
        queryset = queryset.filter(assignee_id=int(params["assignee"]))
    queryset = in_date_range(
        queryset, "received_at", params.get("received_from", ""), params.get("received_to", "")
    )
    words = search_key(str(params.get("q", ""))[:100]).split()
    for word in words:
        # Code, applicant name and ID number are all in the unaccented search key.
        queryset = queryset.filter(search_text__contains=word)
    return queryset


def in_date_range(queryset, field: str, date_from: str, date_to: str):
    """Rows whose `field` falls on Vietnam days `date_from`..`date_to` (ISO dates, inclusive);
    a missing or malformed bound is ignored, never an error."""
    for value, lookup, shift in ((date_from, "gte", 0), (date_to, "lt", 1)):
        try:
            day = dt.date.fromisoformat(str(value))
        except ValueError:
            continue
        bound = day_start(day + dt.timedelta(days=shift))
        queryset = queryset.filter(**{f"{field}__{lookup}": bound})
    return queryset


def ordered(queryset):
    return queryset.annotate(
        due_sort=Coalesce("original_due_at", Value(FAR_FUTURE, output_field=DateTimeField()))
    ).order_by("due_sort", "id")


# --- keyset pages ------------------------------------------------------------------------------
#
# Every paged list (the office queue, the supervisors' drill-down and audit log) goes through
# `keyset_page`: rows in (value, id) order, the next page being the rows after the last one
# shown. No deep OFFSET, and rows added meanwhile never shift a page. The cursor is opaque
# (URL-safe base64 of JSON naming the key, its value and the id); a mangled cursor, or one made
# for another list, shows the first page, never an error.


def _pack(value):
    if isinstance(value, dt.datetime):
        return {"dt": value.isoformat()}
    if isinstance(value, dt.date):
        return {"d": value.isoformat()}
    if value is None or isinstance(value, bool | float | dict | list):
        raise TypeError(f"cannot page on {value!r}")
    return value  # int or str: JSON as is


def _unpack(packed):
    if isinstance(packed, dict):
        ((tag, text),) = packed.items()
        if tag == "dt":
            moment = dt.datetime.fromisoformat(text)
            if moment.tzinfo is None:
                raise ValueError("naive datetime")
            return moment
        if tag == "d":
            return dt.date.fromisoformat(text)
        raise ValueError(tag)
    if isinstance(packed, int | str) and not isinstance(packed, bool):
        return packed
    raise ValueError(packed)


def encode_cursor(row, key: str) -> str:
    """The opaque cursor just after `row` in (`key`, id) order."""
    value = row
    for part in key.split("__"):
        value = getattr(value, part)
    raw = json.dumps([key, _pack(value), row.pk], separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_cursor(cursor: str, key: str):
    """(value, id) of a cursor made by `encode_cursor` for `key`; None when it is mangled."""
    if not cursor:
        return None
    try:
        padded = cursor + "=" * (-len(cursor) % 4)
        named, packed, last_id = json.loads(base64.urlsafe_b64decode(padded.encode("ascii")))
        if named != key or not isinstance(last_id, int) or isinstance(last_id, bool):
            return None
        return _unpack(packed), last_id
    except (ValueError, TypeError, AttributeError):  # incl. base64, UTF-8 and JSON errors
        return None


def keyset_page(queryset, cursor: str, *, key: str, size: int | None = None, descending=False):
    """(rows of one page of `queryset` in (`key`, id) order, cursor of the next page or '').

    `key` names a never-null field or annotation (a datetime, date, int or str); the order is
    set here, ascending or descending on both; `size` defaults to PAGE_SIZE. A mangled cursor
    shows the first page."""
    size = size or PAGE_SIZE
    sign, after = ("-", "lt") if descending else ("", "gt")
    queryset = queryset.order_by(f"{sign}{key}", f"{sign}pk")
    position = decode_cursor(cursor, key)
    if position is not None:
        value, last_id = position
        # A value of the wrong type for the key is refused here, before any query: first page.
        with contextlib.suppress(ValidationError, ValueError, TypeError):
            queryset = queryset.filter(
                Q(**{f"{key}__{after}": value}) | Q(**{key: value, f"pk__{after}": last_id})
            )
    rows = list(queryset[: size + 1])
    next_cursor = encode_cursor(rows[size - 1], key) if len(rows) > size else ""
    return rows[:size], next_cursor
