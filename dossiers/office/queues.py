"""The office's reads: work queues (tabs), their counts and pages."""

from __future__ import annotations

from dataclasses import dataclass

from django.db.models import Count, Q

from ..models import Dossier
from ..permissions import visibility_filter
from ..queries import apply_filters, keyset_page, ordered
from ..workflow import CLOCK_RUNNING_STATUSES, TERMINAL_STATUSES, Status
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


def queue_page(user, *, tab: str, params: dict, cursor: str, now, calendar: WorkCalendar):
    """(rows of one page, cursor of the next page or '')."""
    queryset = office_dossiers(user).filter(tab_condition(tab, user, now, calendar))
    queryset = ordered(apply_filters(queryset, params)).select_related(
        "procedure", "assignee", "receiving_agency"
    )
    return keyset_page(queryset, cursor, key="due_sort")
