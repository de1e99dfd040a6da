"""Reads shared by every audience: the dossier filters and search, Vietnam-day ranges, the
due-date order and its keyset pages."""

from __future__ import annotations

import base64
import datetime as dt
import json

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


def encode_cursor(dossier) -> str:
    raw = json.dumps([dossier.due_sort.isoformat(), dossier.pk]).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def after_cursor(queryset, cursor: str):
    """Rows after the cursor's (due date, id): keyset pagination, no deep OFFSET."""
    try:
        padded = cursor + "=" * (-len(cursor) % 4)
        due_text, last_id = json.loads(base64.urlsafe_b64decode(padded))
        due = dt.datetime.fromisoformat(due_text)
        last_id = int(last_id)
    except (ValueError, TypeError, json.JSONDecodeError):
        return queryset  # a mangled cursor shows the first page
    return queryset.filter(Q(due_sort__gt=due) | Q(due_sort=due, id__gt=last_id))
