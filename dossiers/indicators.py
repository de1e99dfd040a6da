"""Service indicators for supervisors (definitions in docs/indicators.md).

Every counted figure is a named Q over the supervised dossiers; the dashboard counts them all in
one aggregate query, the per-procedure and per-agency tables group the same aggregates, and the
drill-down list filters by the very same Q, so a figure and its list cannot disagree.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from django.db.models import Avg, Count, F, Q
from django.db.models.functions import TruncDate, TruncMonth

from . import clock
from .models import Channel, Dossier
from .permissions import visibility_filter
from .workflow import CLOCK_RUNNING_STATUSES, Status
from .worktime import VN_TZ, WorkCalendar, day_start


@dataclass(frozen=True)
class Scope:
    """What a supervisor looks at: a period (Vietnam dates, inclusive), and optionally one
    agency and one procedure within their province."""

    date_from: dt.date
    date_to: dt.date
    agency_id: int | None = None
    procedure_code: str = ""

    @classmethod
    def of(
        cls,
        *,
        date_from: dt.date | None = None,
        date_to: dt.date | None = None,
        agency_id: int | None = None,
        procedure_code: str = "",
    ) -> Scope:
        """A scope with the defaults filled in: up to today, from the first of that year; a
        reversed period is turned round."""
        date_to = date_to or clock.now().astimezone(VN_TZ).date()
        date_from = date_from or date_to.replace(month=1, day=1)
        if date_from > date_to:
            date_from, date_to = date_to, date_from
        return cls(date_from, date_to, agency_id, procedure_code or "")

    @property
    def start(self) -> dt.datetime:
        return day_start(self.date_from)

    @property
    def end(self) -> dt.datetime:
        return day_start(self.date_to + dt.timedelta(days=1))


# Filed online: on onestop's own portal, or on the national portal or another system that sent
# the dossier here (those are online filings too, and count in the online share).
ONLINE_CHANNELS = (Channel.ONLINE, Channel.NATIONAL_PORTAL, Channel.OTHER_SYSTEM)


def _in(field: str, scope: Scope) -> Q:
    return Q(**{f"{field}__gte": scope.start, f"{field}__lt": scope.end})


def figure_conditions(scope: Scope, now: dt.datetime) -> dict[str, Q]:
    """Each counted figure's condition. Period figures use the period; 'in progress' and
    'paused' are the state now."""
    received = _in("received_at", scope)
    resolved = _in("resolved_at", scope)
    late = Q(resolved_at__gt=F("original_due_at"))
    same_day = Q(resolved_day=F("due_day"))
    running = Q(status__in=CLOCK_RUNNING_STATUSES)
    return {
        "received": received,
        "received_counter": received & Q(channel=Channel.COUNTER),
        "received_online": received & Q(channel__in=ONLINE_CHANNELS),
        "received_postal": received & Q(channel=Channel.POSTAL),
        "resolved": resolved,
        "resolved_before": resolved & ~late & ~same_day,
        "resolved_on": resolved & ~late & same_day,
        "resolved_after": resolved & late,
        "in_progress_on_time": running & Q(original_due_at__gte=now),
        "in_progress_overdue": running & Q(original_due_at__lt=now),
        "paused": Q(status__in=[Status.SUPPLEMENT_REQUESTED, Status.AWAITING_PAYMENT]),
        "returned": _in("returned_at", scope),
        "returned_electronic": _in("returned_at", scope) & Q(result_delivery="electronic"),
        "multi_supplement": received & Q(supplement_requests__gt=1),
        "rated": _in("rated_at", scope) & ~Q(rating=""),
        "rated_very_satisfied": _in("rated_at", scope) & Q(rating="very_satisfied"),
        "rated_satisfied": _in("rated_at", scope) & Q(rating="satisfied"),
        "rated_unsatisfied": _in("rated_at", scope) & Q(rating="unsatisfied"),
    }


FIGURE_LABELS = {
    "received": "Hồ sơ tiếp nhận",
    "received_counter": "Tiếp nhận trực tiếp",
    "received_online": "Tiếp nhận trực tuyến",
    "received_postal": "Tiếp nhận qua bưu chính",
    "resolved": "Đã giải quyết",
    "resolved_before": "Giải quyết trước hạn",
    "resolved_on": "Giải quyết đúng hạn",
    "resolved_after": "Giải quyết quá hạn",
    "in_progress_on_time": "Đang giải quyết, trong hạn",
    "in_progress_overdue": "Đang giải quyết, quá hạn",
    "paused": "Tạm dừng chờ bổ sung / nghĩa vụ tài chính",
    "returned": "Đã trả kết quả",
    "returned_electronic": "Trả kết quả điện tử",
    "multi_supplement": "Yêu cầu bổ sung hơn một lần",
    "rated": "Lượt đánh giá",
    "rated_very_satisfied": "Rất hài lòng",
    "rated_satisfied": "Hài lòng",
    "rated_unsatisfied": "Không hài lòng",
}


def supervised(user, scope: Scope):
    """The supervisor's province (the one visibility rule), narrowed to the scope, with the
    Vietnam calendar days that the before/on/after split compares."""
    queryset = Dossier.objects.filter(visibility_filter(user)).exclude(status=Status.DRAFT)
    if scope.agency_id:
        queryset = queryset.filter(
            Q(receiving_agency_id=scope.agency_id) | Q(competent_agency_id=scope.agency_id)
        )
    if scope.procedure_code:
        queryset = queryset.filter(procedure__code=scope.procedure_code)
    return queryset.annotate(
        resolved_day=TruncDate("resolved_at", tzinfo=VN_TZ),
        due_day=TruncDate("original_due_at", tzinfo=VN_TZ),
    )


def _percent(part, whole) -> float | None:
    return round(100 * part / whole, 1) if whole else None


def _derived(counts: dict, avg_seconds) -> dict:
    """Rates from the counts: on-time rate, shares, satisfaction, average days."""
    resolved, rated = counts["resolved"], counts["rated"]
    late_pct = _percent(counts["resolved_after"], resolved)
    unsatisfied_pct = _percent(counts["rated_unsatisfied"], rated)
    satisfaction = None
    if late_pct is not None or unsatisfied_pct is not None:
        satisfaction = round(100 - (late_pct or 0) - (unsatisfied_pct or 0), 1)
    seconds_per_day = WorkCalendar().seconds_per_day
    return {
        "on_time_rate": _percent(counts["resolved_before"] + counts["resolved_on"], resolved),
        "online_share": _percent(counts["received_online"], counts["received"]),
        "electronic_share": _percent(counts["returned_electronic"], counts["returned"]),
        "late_pct": late_pct,
        "unsatisfied_pct": unsatisfied_pct,
        "satisfaction": satisfaction,
        "average_days": round(avg_seconds / seconds_per_day, 2)
        if avg_seconds is not None
        else None,
    }


def _aggregates(scope: Scope, now) -> dict:
    conditions = figure_conditions(scope, now)
    aggregates = {key: Count("pk", filter=q) for key, q in conditions.items()}
    aggregates["avg_seconds"] = Avg("resolution_working_seconds", filter=conditions["resolved"])
    return aggregates


def headline(user, scope: Scope, now) -> dict:
    """All figures in one aggregate query."""
    row = supervised(user, scope).aggregate(**_aggregates(scope, now))
    avg = row.pop("avg_seconds")
    return {**row, **_derived(row, avg)}


def grouped(user, scope: Scope, now, by: str) -> list[dict]:
    """The same figures per procedure (`by='procedure'`) or per receiving agency."""
    field = {"procedure": "procedure__name", "agency": "receiving_agency__name"}[by]
    key = {"procedure": "procedure__code", "agency": "receiving_agency_id"}[by]
    rows = (
        supervised(user, scope)
        .values(key, field)
        .annotate(**_aggregates(scope, now))
        .order_by(field)
    )
    result = []
    for row in rows:
        avg = row.pop("avg_seconds")
        figures = {**row, **_derived(row, avg)}
        if figures["received"] or figures["resolved"] or figures["in_progress_overdue"]:
            result.append({"key": row[key], "name": row[field], **figures})
    return result


def monthly(user, scope: Scope) -> list[dict]:
    """Received and resolved per month of the period, with the on-time rate."""
    base = supervised(user, scope)
    received = dict(
        base.filter(_in("received_at", scope))
        .annotate(month=TruncMonth("received_at", tzinfo=VN_TZ))
        .values("month")
        .annotate(n=Count("pk"))
        .values_list("month", "n")
    )
    resolved_rows = (
        base.filter(_in("resolved_at", scope))
        .annotate(month=TruncMonth("resolved_at", tzinfo=VN_TZ))
        .values("month")
        .annotate(
            n=Count("pk"), on_time=Count("pk", filter=Q(resolved_at__lte=F("original_due_at")))
        )
    )
    resolved = {r["month"]: r for r in resolved_rows}
    months = sorted({_month(m) for m in [*received, *resolved]})
    out = []
    for month in months:
        got = next((v for k, v in received.items() if _month(k) == month), 0)
        done = next((v for k, v in resolved.items() if _month(k) == month), {"n": 0, "on_time": 0})
        out.append(
            {
                "month": month,
                "received": got,
                "resolved": done["n"],
                "on_time_rate": _percent(done["on_time"], done["n"]),
            }
        )
    return out


def _month(value) -> dt.date:
    return value.date().replace(day=1) if isinstance(value, dt.datetime) else value.replace(day=1)


def status_breakdown(user, scope: Scope) -> list[tuple[str, str, int]]:
    """Current status of the dossiers submitted in the period."""
    counts = dict(
        supervised(user, scope)
        .filter(_in("submitted_at", scope))
        .values("status")
        .annotate(n=Count("pk"))
        .values_list("status", "n")
    )
    return [(s.value, s.label, counts.get(s.value, 0)) for s in Status if s != Status.DRAFT]


def drill_down(user, scope: Scope, figure: str, now):
    """The dossiers behind one figure (or behind one status of the breakdown)."""
    conditions = figure_conditions(scope, now)
    queryset = supervised(user, scope)
    if figure in conditions:
        return queryset.filter(conditions[figure])
    if figure.startswith("status:") and figure[7:] in Status.values:
        return queryset.filter(_in("submitted_at", scope), status=figure[7:])
    return queryset.none()
