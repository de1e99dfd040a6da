"""Reads shared by every audience: the dossier filters and search, Vietnam-day ranges, the
due-date order and its keyset pages."""

from __future__ import annotations

import base64
import contextlib
import datetime as dt
import json
import re
from functools import reduce
from operator import or_

from django.core.exceptions import ValidationError
from django.db import connection
from django.db.models import Q, Subquery
from django.db.models.fields.json import KeyTextTransform
from django.db.models.lookups import Exact

from .models import Dossier
from .models.dossier import FAR_FUTURE
from .text import search_key
from .validators import is_id_number
from .workflow import Status
from .worktime import day_start

__all__ = ["FAR_FUTURE", "PAGE_SIZE", "apply_filters", "keyset_page", "keyset_page_of_union"]

PAGE_SIZE = 25
# A whole dossier code as the search key writes it (lower case): 000.00.01.h27-261110-0001.
CODE_WORD = re.compile(r"^\d{3}\.\d{2}\.\d{2}\.[a-z]\d{2}-\d{6}-\d{4,}$")


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
        queryset = queryset.filter(word_condition(word))
    return queryset


def word_condition(word: str):
    """Dossiers whose search key (code, unaccented applicant name, ID number) contains `word`.

    A whole ID number or a whole dossier code is read through its own index: an ID number has
    exactly 12 digits and no code holds 12 digits in a row, so containing it means being it; a
    whole code sits only at the start of a code (codes have one shape), so containing it means
    starting with it. Any other word is a substring match (a trigram index on PostgreSQL)."""
    if is_id_number(word):
        return Exact(KeyTextTransform("id_number", "applicant"), word)
    if CODE_WORD.match(word):
        return Q(code__startswith=word.upper())
    return Q(search_text__contains=word)


def user_id_named(username: str) -> Subquery:
    """The id of the account named `username` (NULL: none), as a sub-query the database runs
    once, before the rows that name it are read in order from their index."""
    from django.contrib.auth import get_user_model

    return Subquery(get_user_model().objects.filter(username=username).values("pk")[:1])


def dossier_id_coded(code: str) -> Subquery:
    """The id of the dossier coded `code` (NULL: none), as a sub-query run once."""
    return Subquery(Dossier.objects.filter(code=code).values("pk")[:1])


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
    """The due order: earliest legal due date first, dossiers without one last (`due_sort`)."""
    return queryset.order_by("due_sort", "id")


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
    return _cursor(key, value, row.pk)


def _cursor(key: str, value, pk) -> str:
    raw = json.dumps([key, _pack(value), pk], separators=(",", ":")).encode()
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
    sign = "-" if descending else ""
    queryset = _after(queryset, decode_cursor(cursor, key), key, descending)
    rows = list(queryset.order_by(f"{sign}{key}", f"{sign}pk")[: size + 1])
    next_cursor = encode_cursor(rows[size - 1], key) if len(rows) > size else ""
    return rows[:size], next_cursor


def _after(queryset, position, key: str, descending=False):
    """Rows after `position` ((value, id) or None) in (`key`, id) order."""
    if position is None:
        return queryset
    value, last_id = position
    after, reach = ("lt", "lte") if descending else ("gt", "gte")
    # A value of the wrong type for the key is refused here, before any query: first page.
    with contextlib.suppress(ValidationError, ValueError, TypeError):
        return queryset.filter(
            # The plain bound lets an index on (key, id) start the scan at the cursor.
            Q(**{f"{key}__{reach}": value}),
            Q(**{f"{key}__{after}": value}) | Q(**{key: value, f"pk__{after}": last_id}),
        )
    return queryset


# Beyond this many branches a page is read with the plain OR (and sorted by the database).
MAX_BRANCHES = 8


def keyset_page_of_union(
    queryset, branches: list[Q], cursor: str, *, key: str, size=None, descending=False
):
    """`keyset_page` of the rows of `queryset` matching any of `branches`, in (`key`, id) order,
    ascending or descending on both.

    An OR of conditions on two columns (a dossier's receiving or competent agency) cannot be
    read in order from one index: the database would fetch every matching row and sort them.
    Here each branch is read on its own, in (`key`, id) order from its index, at most one page
    of it, and the union of those short lists gives the page (a row in two branches counts once).
    Then the page's rows are read by id. Two queries, whatever the table's size and the page.
    SQLite (no LIMIT inside a UNION) and many branches take the plain OR."""
    size = size or PAGE_SIZE
    features = connection.features
    if (
        len(branches) < 2
        or len(branches) > MAX_BRANCHES
        or not (features.supports_slicing_ordering_in_compound)
    ):
        return keyset_page(
            queryset.filter(reduce(or_, branches)),
            cursor,
            key=key,
            size=size,
            descending=descending,
        )
    position = decode_cursor(cursor, key)
    order = (f"-{key}", "-id") if descending else (key, "id")
    arms = [
        _after(queryset.filter(branch), position, key, descending)
        .order_by(*order)
        .values_list(key, "id")[: size + 1]
        for branch in branches
    ]
    keys = list(arms[0].union(*arms[1:]).order_by(*order)[: size + 1])
    by_id = {row.pk: row for row in queryset.filter(pk__in=[pk for _v, pk in keys[:size]])}
    # A row changed between the two reads so that it left the list is left out of the page.
    rows = [by_id[pk] for _v, pk in keys[:size] if pk in by_id]
    next_cursor = _cursor(key, *keys[size - 1]) if len(keys) > size else ""
    return rows, next_cursor
