"""Reads for the office: work queues (tabs), filters, search, keyset pagination, tab counts."""

from __future__ import annotations

import base64
import datetime as dt
import json
from dataclasses import dataclass

from django.db.models import Count, DateTimeField, Q, Value
from django.db.models.functions import Coalesce

from .models import Dossier
from .permissions import visibility_filter
from .text import search_key
from .workflow import CLOCK_RUNNING_STATUSES, TERMINAL_STATUSES, Status
from .worktime import WorkCalendar, day_start

# Dossiers without a due date yet (waiting for intake) sort after every dated one.
FAR_FUTURE = dt.datetime(9999, 12, 31, tzinfo=dt.UTC)
PAGE_SIZE = 25


@dataclass(frozen=True)
class Tab:
    key: str
    label: str


def tabs() -> list[Tab]:
    from django.utils.translation import gettext as _

    return [
        Tab("receive", _("Chờ tiếp nhận")),
        Tab("mine", _("Tôi đang xử lý")),
        Tab("supplement", _("Chờ bổ sung")),
        Tab("approve", _("Chờ phê duyệt")),
        Tab("return", _("Chờ trả kết quả")),
        Tab("due_soon", _("Sắp đến hạn")),
        Tab("overdue", _("Quá hạn")),
        Tab("all", _("Tất cả")),
    ]


def office_dossiers(user):
    """Non-draft dossiers the official's agencies receive or decide (the one visibility rule)."""
    return Dossier.objects.filter(visibility_filter(user)).exclude(status=Status.DRAFT)


def tab_condition(tab: str, user, now, calendar: WorkCalendar) -> Q:
    running = Q(status__in=CLOCK_RUNNING_STATUSES)
    return {
        "receive": Q(status=Status.SUBMITTED),
        "mine": Q(status__in=[Status.PROCESSING, Status.SUPPLEMENT_REQUESTED], assignee=user),
        "supplement": Q(status=Status.SUPPLEMENT_REQUESTED),
        "approve": Q(status=Status.PENDING_APPROVAL),
        "return": Q(status=Status.RESOLVED),
        "due_soon": running
        & Q(original_due_at__gte=now, original_due_at__lte=calendar.due_soon_threshold(now)),
        "overdue": running & Q(original_due_at__lt=now),
        "all": Q(),
    }.get(tab, Q())


def tab_counts(user, now, calendar: WorkCalendar) -> dict[str, int]:
    """Counts of every work tab in one aggregate query over the open dossiers only."""
    open_dossiers = office_dossiers(user).exclude(status__in=TERMINAL_STATUSES)
    aggregates = {
        tab.key: Count("pk", filter=tab_condition(tab.key, user, now, calendar))
        for tab in tabs()
        if tab.key != "all"
    }
    return open_dossiers.aggregate(**aggregates)


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


def queue_page(user, *, tab: str, params: dict, cursor: str, now, calendar: WorkCalendar):
    """(rows of one page, cursor of the next page or '')."""
    queryset = office_dossiers(user).filter(tab_condition(tab, user, now, calendar))
    queryset = ordered(apply_filters(queryset, params)).select_related(
        "procedure", "assignee", "receiving_agency"
    )
    if cursor:
        queryset = after_cursor(queryset, cursor)
    rows = list(queryset[: PAGE_SIZE + 1])
    next_cursor = encode_cursor(rows[PAGE_SIZE - 1]) if len(rows) > PAGE_SIZE else ""
    return rows[:PAGE_SIZE], next_cursor
