"""The office's reads: work queues (tabs), their counts and pages."""

from __future__ import annotations

from dataclasses import dataclass

from django.conf import settings
from django.db import connections
from django.db.models import Q

from ..models import Dossier
from ..permissions import visibility_branches, visibility_filter
from ..queries import MAX_BRANCHES, apply_filters, keyset_page_of_union
from ..workflow import CLOCK_RUNNING_STATUSES, Status
from ..worktime import WorkCalendar


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
    # `due_sort` is the legal due date where there is one (far in the future otherwise), so
    # these ranges are those of original_due_at, read from the queue's index.
    return {
        "receive": Q(status=Status.SUBMITTED),
        "mine": Q(status__in=[Status.PROCESSING, Status.SUPPLEMENT_REQUESTED], assignee=user),
        "supplement": Q(status=Status.SUPPLEMENT_REQUESTED),
        "approve": Q(status=Status.PENDING_APPROVAL),
        "return": Q(status=Status.RESOLVED),
        "due_soon": running & Q(due_sort__gte=now, due_sort__lte=calendar.due_soon_threshold(now)),
        "overdue": running & Q(due_sort__lt=now),
        "all": Q(),
    }.get(tab, Q())


def count_bound() -> int:
    """Tab counts are exact up to this many; above it a tab shows "bound+"."""
    return settings.ONESTOP_QUEUE_COUNT_LIMIT


def tab_counts(user, now, calendar: WorkCalendar) -> dict[str, int | str]:
    """Each work tab's count, exact up to `count_bound()`, else "bound+": one query made of one
    sub-query per tab that stops after bound + 1 rows, so no count reads a whole agency's
    dossiers. On PostgreSQL each branch of the visibility rule is counted apart (capped too)
    and the union of those ids counted: index-only scans of the partial indexes over open
    dossiers. A branch that reaches the cap makes the tab "bound+", as it should."""
    bound = count_bound()
    visible = office_dossiers(user).order_by()
    branches = visibility_branches(user)
    by_branch = 2 <= len(branches) <= MAX_BRANCHES and (
        connections[visible.db].features.supports_slicing_ordering_in_compound
    )
    keys = [t.key for t in tabs() if t.key != "all"]
    parts, params = [], []
    for number, key in enumerate(keys):
        condition = tab_condition(key, user, now, calendar)
        if by_branch:
            arms = [
                Dossier.objects.exclude(status=Status.DRAFT)
                .filter(branch, condition)
                .order_by()
                .values("id")[: bound + 1]
                for branch in branches
            ]
            limited = arms[0].union(*arms[1:])
        else:
            limited = visible.filter(condition).values("pk")[: bound + 1]
        sql, part_params = limited.query.sql_with_params()
        parts.append(f"(SELECT COUNT(*) FROM ({sql}) AS tab{number})")  # nosec B608: our SQL
        params.extend(part_params)
    with connections[visible.db].cursor() as cursor:
        cursor.execute("SELECT " + ", ".join(parts), params)
        counted = cursor.fetchone()
    return {key: n if n <= bound else f"{bound}+" for key, n in zip(keys, counted, strict=True)}


def queue_page(user, *, tab: str, params: dict, cursor: str, now, calendar: WorkCalendar):
    """(rows of one page, cursor of the next page or '')."""
    queryset = Dossier.objects.exclude(status=Status.DRAFT).filter(
        tab_condition(tab, user, now, calendar)
    )
    queryset = apply_filters(queryset, params).select_related(
        "procedure", "assignee", "receiving_agency"
    )
    # The visibility rule, branch by branch: each an ordered index range (see the union).
    return keyset_page_of_union(queryset, visibility_branches(user), cursor, key="due_sort")
