"""The office's reads: work queues (tabs), their counts, orders and pages, and which tab a
dossier sits in."""

from __future__ import annotations

from dataclasses import dataclass

from django.conf import settings
from django.db import connections
from django.db.models import Q

from ..models import Dossier
from ..permissions import agency_ids_with_role, visibility_branches, visibility_filter
from ..queries import MAX_BRANCHES, apply_filters, keyset_page_of_union
from ..workflow import CLOCK_RUNNING_STATUSES, Role, Status
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
        Tab("payment", _("Chờ nộp phí")),
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
        # Paused dossiers (supplement, payment) wait in their own tabs, not in "mine".
        "mine": Q(status=Status.PROCESSING, assignee=user),
        "supplement": Q(status=Status.SUPPLEMENT_REQUESTED),
        "payment": Q(status=Status.AWAITING_PAYMENT),
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


def landing_tab(user) -> str:
    """The tab an official opens on: their own work first. A specialist lands on what they
    process, a leader on what waits for approval, reception on what waits to be received."""
    for role, tab in (
        (Role.SPECIALIST, "mine"),
        (Role.LEADER, "approve"),
        (Role.RECEPTION, "receive"),
    ):
        if agency_ids_with_role(user, role):
            return tab
    return "receive"


@dataclass(frozen=True)
class Order:
    key: str  # a never-null column every work tab's index ends with (before id)
    descending: bool


# The orders a queue can be read in, each served by an index per visibility branch
# (migration 0026): the legal due date and the filing time, either way. Other columns (name,
# procedure) have no such index and are not offered.
ORDERS = {
    "due": Order("due_sort", False),
    "-due": Order("due_sort", True),
    "filed": Order("submitted_at", False),
    "-filed": Order("submitted_at", True),
}
# "Due soon" and "overdue" are due-date ranges: only the due order reads them from an index.
DUE_ONLY_TABS = {"due_soon", "overdue"}


def default_order(tab: str) -> str:
    """Reception takes dossiers in the order they came (oldest first); the rest by due date."""
    return "filed" if tab == "receive" else "due"


def allowed_orders(tab: str) -> list[str]:
    return ["due", "-due"] if tab in DUE_ONLY_TABS else list(ORDERS)


def order_for(tab: str, requested: str) -> str:
    return requested if requested in allowed_orders(tab) else default_order(tab)


def is_search(params: dict) -> bool:
    return bool(str(params.get("q", "")).strip())


def queue_page(
    user, *, tab: str, params: dict, cursor: str, now, calendar: WorkCalendar, order: str = ""
):
    """(rows of one page, cursor of the next page or '').

    A search (`q`) looks through every dossier the official sees, whatever tab it sits in."""
    order = order_for(tab, order)
    condition = Q() if is_search(params) else tab_condition(tab, user, now, calendar)
    queryset = Dossier.objects.exclude(status=Status.DRAFT).filter(condition)
    key, descending = ORDERS[order].key, ORDERS[order].descending
    if key == "submitted_at":
        queryset = queryset.filter(submitted_at__isnull=False)  # every filed dossier has one
    queryset = apply_filters(queryset, params).select_related(
        "procedure", "assignee", "receiving_agency"
    )
    # The visibility rule, branch by branch: each an ordered index range (see the union).
    return keyset_page_of_union(
        queryset, visibility_branches(user), cursor, key=key, descending=descending
    )


# The work tab of each status that has one ("all" and the due ranges are views across them).
_TAB_OF_STATUS = {
    Status.SUBMITTED: "receive",
    Status.PROCESSING: "mine",  # for its assignee only
    Status.SUPPLEMENT_REQUESTED: "supplement",
    Status.AWAITING_PAYMENT: "payment",
    Status.PENDING_APPROVAL: "approve",
    Status.RESOLVED: "return",
}


def tab_of(dossier: Dossier, user) -> Tab | None:
    """The work tab `dossier` sits in for `user` (None: finished, or processed by another);
    the same rule as `tab_condition`, for rows already read."""
    key = _TAB_OF_STATUS.get(dossier.status)
    if key == "mine" and dossier.assignee_id != user.pk:
        return None
    return {t.key: t for t in tabs()}.get(key) if key else None
