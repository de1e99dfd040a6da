"""Service indicators for supervisors (definitions in docs/indicators.md).

Every counted figure is a named Q over the supervised dossiers; the dashboard counts them all in
one aggregate query, the per-procedure and per-agency tables group the same aggregates, and the
drill-down list filters by the very same Q, so a figure and its list cannot disagree.

At scale (docs/indicators.md, "How the figures are computed at scale") the period figures are
read from rollups: the same Qs counted per Vietnam day (and per whole month), per receiving
agency, competent agency and procedure, kept by the worker within a minute of each action
(`refresh_rollups`, from the sweep) and rebuilt in full by `rebuild_rollups` (`manage.py
rebuild_indicators`). The figures of the state now (in progress, paused) are always counted
from the open dossiers. The `raw_*` functions are the reference the rollups are tested against,
and what is shown until the rollups are first built.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from functools import cached_property

from django.db import connection, transaction
from django.db.models import Avg, Count, Exists, F, OuterRef, Q, Subquery, Sum, Value
from django.db.models.functions import Coalesce, TruncDate, TruncMonth
from django.utils import timezone

from . import clock, document_store
from .models import (
    STATUS_COLUMNS,
    Agency,
    Attachment,
    Channel,
    Dossier,
    IndicatorChange,
    IndicatorRollup,
    IndicatorRollupState,
    Procedure,
    ProcedureDocument,
)
from .models.dossier import OPEN_STATUSES
from .permissions import reader_agency_ids, visibility_filter
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


PAUSED_STATUSES = (Status.SUPPLEMENT_REQUESTED, Status.AWAITING_PAYMENT)


def period_figures() -> dict[str, tuple[str, Q]]:
    """Each period figure: the date that puts a dossier in the period, and its own condition."""
    late = Q(resolved_at__gt=F("original_due_at"))
    same_day = Q(resolved_day=F("due_day"))
    return {
        "received": ("received_at", Q()),
        "received_counter": ("received_at", Q(channel=Channel.COUNTER)),
        "received_online": ("received_at", Q(channel__in=ONLINE_CHANNELS)),
        "received_postal": ("received_at", Q(channel=Channel.POSTAL)),
        "resolved": ("resolved_at", Q()),
        "resolved_before": ("resolved_at", ~late & ~same_day),
        "resolved_on": ("resolved_at", ~late & same_day),
        "resolved_after": ("resolved_at", late),
        "returned": ("returned_at", Q()),
        "returned_electronic": ("returned_at", Q(result_delivery="electronic")),
        "multi_supplement": ("received_at", Q(supplement_requests__gt=1)),
        "rated": ("rated_at", ~Q(rating="")),
        "rated_very_satisfied": ("rated_at", Q(rating="very_satisfied")),
        "rated_satisfied": ("rated_at", Q(rating="satisfied")),
        "rated_unsatisfied": ("rated_at", Q(rating="unsatisfied")),
        "results_electronic": ("resolved_at", document_store.result_electronic_q()),
        "digitised": ("received_at", document_store.digitised_q()),
    }


# Counted over the papers (attachments) of the dossiers received in the period, not over the
# dossiers: every paper handed in or uploaded (application or supplement; not the papers only
# shown at the counter), and those taken from the documents store.
PAPERS = Q(purpose__in=document_store.PAPER_PURPOSES) & ~Q(
    document__kind=ProcedureDocument.Kind.PRESENT
)
ATTACHMENT_FIGURES = {"attachments": Q(), "attachments_reused": Q(reused_from__isnull=False)}


def _attachment_aggregates() -> dict:
    return {
        key: Count("pk", filter=q) if q else Count("pk") for key, q in ATTACHMENT_FIGURES.items()
    }


def _paper_sums(scope: Scope) -> dict:
    """The paper counts of the dossiers received in the period, as sums over the dossiers of a
    count of each one's papers (so that they join the dossiers' one aggregate query)."""
    sums = {}
    for key, condition in ATTACHMENT_FIGURES.items():
        per_dossier = (
            Attachment.objects.filter(PAPERS, condition, dossier=OuterRef("pk"))
            .order_by()
            .values("dossier")
            .annotate(n=Count("pk"))
            .values("n")
        )
        sums[key] = Coalesce(Sum(Subquery(per_dossier), filter=_in("received_at", scope)), 0)
    return sums


STATE_FIGURES = ("in_progress_on_time", "in_progress_overdue", "paused")


def state_figures(now: dt.datetime) -> dict[str, Q]:
    """The figures of the state now, whatever the period."""
    running = Q(status__in=CLOCK_RUNNING_STATUSES)
    return {
        "in_progress_on_time": running & Q(original_due_at__gte=now),
        "in_progress_overdue": running & Q(original_due_at__lt=now),
        "paused": Q(status__in=PAUSED_STATUSES),
    }


# Monthly chart: resolved on time compares the moments, as it always has.
IN_TIME = Q(resolved_at__lte=F("original_due_at"))


def figure_conditions(scope: Scope, now: dt.datetime) -> dict[str, Q]:
    """Each counted figure's condition. Period figures use the period; 'in progress' and
    'paused' are the state now."""
    period = {
        key: _in(field, scope) & condition for key, (field, condition) in period_figures().items()
    }
    state = state_figures(now)
    return {key: period[key] if key in period else state[key] for key in FIGURE_LABELS}


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
    "results_electronic": "Kết quả điện tử trong kho",
    "digitised": "Hồ sơ được số hóa",
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
        # Decision 766 (docs/indicators.md).
        "results_electronic_share": _percent(counts["results_electronic"], counts["resolved"]),
        "digitised_share": _percent(counts["digitised"], counts["received"]),
        "reuse_share": _percent(counts["attachments_reused"], counts["attachments"]),
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
    aggregates.update(_paper_sums(scope))
    return aggregates


def raw_headline(user, scope: Scope, now) -> dict:
    """All figures in one aggregate query over the dossiers."""
    row = supervised(user, scope).aggregate(**_aggregates(scope, now))
    avg = row.pop("avg_seconds")
    return {**row, **_derived(row, avg)}


def raw_grouped(user, scope: Scope, now, by: str) -> list[dict]:
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


def raw_monthly(user, scope: Scope) -> list[dict]:
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
        .annotate(n=Count("pk"), on_time=Count("pk", filter=IN_TIME))
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


def raw_status_breakdown(user, scope: Scope) -> list[tuple[str, str, int]]:
    """Current status of the dossiers submitted in the period."""
    counts = dict(
        supervised(user, scope)
        .filter(_in("submitted_at", scope))
        .values("status")
        .annotate(n=Count("pk"))
        .values_list("status", "n")
    )
    return [(s.value, s.label, counts.get(s.value, 0)) for s in Status if s != Status.DRAFT]


def drill_down_order(figure: str) -> str:
    """What a figure's list is paged by (with the id): the date that puts its dossiers in the
    period, so that a page walks that date's index from the period's start and stops after a
    page; the lists of the state now (few, open dossiers) by legal due date (`due_sort`)."""
    if figure in period_figures():
        return period_figures()[figure][0]
    if figure.startswith("status:"):
        return "submitted_at"
    return "due_sort"


def drill_down(user, scope: Scope, figure: str, now):
    """The dossiers behind one figure (or behind one status of the breakdown)."""
    conditions = figure_conditions(scope, now)
    queryset = supervised(user, scope)
    if figure in conditions:
        return queryset.filter(conditions[figure])
    if figure.startswith("status:") and figure[7:] in Status.values:
        return queryset.filter(_in("submitted_at", scope), status=figure[7:])
    return queryset.none()


# --- the figures from the rollups -----------------------------------------------------------------
#
# What the dashboard, the tables and the export show. The period figures are sums of rollup rows
# (whole months from month rows, the days at either end from day rows); the figures of the state
# now are counted from the open dossiers, a small share, read from their partial index. Until
# the rollups are first built, or for a supervisor whose own applications (the visibility rule
# shows them too) lie outside their agencies, the same figures come from the dossiers (raw_*).

DAY, MONTH = IndicatorRollup.Grain.DAY, IndicatorRollup.Grain.MONTH
DATE_FIELDS = ("submitted_at", "received_at", "resolved_at", "returned_at", "rated_at")


def _from_rollups(user) -> bool:
    """Whether the rollups give this user's figures: built, and nothing the user sees lies
    outside the agencies they are counted by (one query)."""
    agencies = reader_agency_ids(user)
    own_elsewhere = (
        Dossier.objects.filter(applicant_user=user.pk or 0)
        .exclude(status=Status.DRAFT)
        .exclude(Q(receiving_agency_id__in=agencies) | Q(competent_agency_id__in=agencies))
    )
    own = (
        IndicatorRollupState.objects.filter(built_at__isnull=False)
        .annotate(own=Exists(own_elsewhere))
        .values_list("own", flat=True)
        .first()
    )
    return own is False


def _period(scope: Scope) -> Q:
    """The rollup rows that make up the period: month rows for the whole months in it, day rows
    for the days before the first and after the last whole month."""
    first = scope.date_from if scope.date_from.day == 1 else _next_month(scope.date_from)
    end = (scope.date_to + dt.timedelta(days=1)).replace(day=1)
    if first >= end:
        return Q(grain=DAY, day__gte=scope.date_from, day__lte=scope.date_to)
    return (
        Q(grain=MONTH, day__gte=first, day__lt=end)
        | Q(grain=DAY, day__gte=scope.date_from, day__lt=first)
        | Q(grain=DAY, day__gte=end, day__lte=scope.date_to)
    )


def _next_month(day: dt.date) -> dt.date:
    return (day.replace(day=1) + dt.timedelta(days=32)).replace(day=1)


def _rollup_rows(user, scope: Scope):
    """The rollup rows of the scope in the user's agencies (as `supervised` selects dossiers)."""
    agencies = reader_agency_ids(user)
    rows = IndicatorRollup.objects.filter(
        Q(receiving_agency_id__in=agencies) | Q(competent_agency_id__in=agencies), _period(scope)
    )
    if scope.agency_id:
        rows = rows.filter(
            Q(receiving_agency_id=scope.agency_id) | Q(competent_agency_id=scope.agency_id)
        )
    if scope.procedure_code:
        rows = rows.filter(procedure__code=scope.procedure_code)
    return rows.order_by()


def _sums(columns) -> dict:
    return {f"sum_{column}": Sum(column) for column in columns}


def _period_counts(row: dict | None) -> dict:
    row = row or {}
    counts = {
        key: int(row.get(f"sum_{key}") or 0) for key in [*period_figures(), *ATTACHMENT_FIGURES]
    }
    counted = int(row.get("sum_working_seconds_counted") or 0)
    seconds = int(row.get("sum_working_seconds") or 0) / counted if counted else None
    return {**counts, "avg_seconds": seconds}


def _state_counts(user, scope: Scope, now, by: tuple[str, ...]) -> dict[tuple, dict]:
    """In progress and paused now, counted over the open dossiers only."""
    # Counting a never-null column of the index (COUNT(id) would read the table).
    counts = {key: Count("status", filter=q) for key, q in state_figures(now).items()}
    agencies = reader_agency_ids(user)
    # Only columns of the partial index of open dossiers (Dossier.Meta): an index-only scan.
    open_dossiers = Dossier.objects.filter(
        Q(receiving_agency_id__in=agencies) | Q(competent_agency_id__in=agencies),
        status__in=OPEN_STATUSES,
    ).order_by()
    if scope.agency_id:
        open_dossiers = open_dossiers.filter(
            Q(receiving_agency_id=scope.agency_id) | Q(competent_agency_id=scope.agency_id)
        )
    if scope.procedure_code:
        open_dossiers = open_dossiers.filter(procedure__code=scope.procedure_code)
    rows = open_dossiers.values(*by).annotate(**counts)
    return {tuple(row.pop(k) for k in by): row for row in rows}


def _figures(period: dict, state: dict) -> dict:
    counts = {**period, **{key: state.get(key) or 0 for key in STATE_FIGURES}}
    avg = counts.pop("avg_seconds")
    ordered = {key: counts[key] for key in [*FIGURE_LABELS, *ATTACHMENT_FIGURES]}
    return {**ordered, **_derived(ordered, avg)}


SUMMED = [*period_figures(), *ATTACHMENT_FIGURES, "working_seconds", "working_seconds_counted"]


class Figures:
    """Everything the dashboard and the export show for one scope, from the rollups, each query
    run once: the period's sums per (receiving agency, procedure) and per day, and the open
    dossiers' counts per (receiving agency, procedure). The totals, the two tables, the months
    and the statuses are summed from those in Python. Falls back to the raw_* reference when the
    rollups cannot give this user's figures (`_from_rollups`)."""

    KEYS = ("receiving_agency_id", "procedure_id")

    def __init__(self, user, scope: Scope, now: dt.datetime):
        self.user, self.scope, self.now = user, scope, now
        self.rolled_up = _from_rollups(user)

    @cached_property
    def _period(self) -> dict[tuple, dict]:
        rows = _rollup_rows(self.user, self.scope).values(*self.KEYS).annotate(**_sums(SUMMED))
        return {tuple(row.pop(k) for k in self.KEYS): row for row in rows}

    @cached_property
    def _state(self) -> dict[tuple, dict]:
        return _state_counts(self.user, self.scope, self.now, by=self.KEYS)

    @cached_property
    def _days(self) -> list[dict]:
        columns = ["received", "resolved", "resolved_in_time", *STATUS_COLUMNS.values()]
        return list(_rollup_rows(self.user, self.scope).values("day").annotate(**_sums(columns)))

    @staticmethod
    def _add_up(period_rows, state_rows) -> dict:
        """The figures of some (agency, procedure) pairs: their rows added up."""
        period: dict[str, int] = {}
        for row in period_rows:
            for column, value in row.items():
                period[column] = period.get(column, 0) + int(value or 0)
        state: dict[str, int] = {}
        for row in state_rows:
            for column, value in row.items():
                state[column] = state.get(column, 0) + value
        return _figures(_period_counts(period), state)

    def _total(self) -> dict:
        return self._add_up(self._period.values(), self._state.values())

    def headline(self) -> dict:
        if not self.rolled_up:
            return raw_headline(self.user, self.scope, self.now)
        return self._total()

    def grouped(self, by: str) -> list[dict]:
        """Per procedure (`by='procedure'`) or per receiving agency, as raw_grouped gives them
        (in name order, only the rows with something to show)."""
        if not self.rolled_up:
            return raw_grouped(self.user, self.scope, self.now, by)
        position = {"agency": 0, "procedure": 1}[by]
        period_rows: dict[int, list] = {}
        state_rows: dict[int, list] = {}
        for rows, source in ((period_rows, self._period), (state_rows, self._state)):
            for key, row in source.items():
                rows.setdefault(key[position], []).append(row)
        present = period_rows.keys() | state_rows.keys()
        if by == "procedure":
            names = Procedure.objects.filter(pk__in=present).order_by("name")
            names = names.values_list("pk", "code", "name")
            key_field, name_field = "procedure__code", "procedure__name"
        else:
            names = Agency.objects.filter(pk__in=present).order_by("name")
            names = names.values_list("pk", "pk", "name")
            key_field, name_field = "receiving_agency_id", "receiving_agency__name"
        result = []
        for pk, key, name in names:
            figures = self._add_up(period_rows.get(pk, []), state_rows.get(pk, []))
            if figures["received"] or figures["resolved"] or figures["in_progress_overdue"]:
                result.append(
                    {"key": key, "name": name, key_field: key, name_field: name, **figures}
                )
        return result

    def monthly(self) -> list[dict]:
        """Received and resolved per month of the period, with the on-time rate."""
        if not self.rolled_up:
            return raw_monthly(self.user, self.scope)
        months: dict[dt.date, list[int]] = {}
        for row in self._days:
            month = months.setdefault(row["day"].replace(day=1), [0, 0, 0])
            for i, column in enumerate(("received", "resolved", "resolved_in_time")):
                month[i] += int(row[f"sum_{column}"] or 0)
        return [
            {
                "month": month,
                "received": received,
                "resolved": resolved,
                "on_time_rate": _percent(in_time, resolved),
            }
            for month, (received, resolved, in_time) in sorted(months.items())
            if received or resolved
        ]

    def status_breakdown(self) -> list[tuple[str, str, int]]:
        """Current status of the dossiers submitted in the period."""
        if not self.rolled_up:
            return raw_status_breakdown(self.user, self.scope)
        counts = {
            status: sum(int(row[f"sum_{column}"] or 0) for row in self._days)
            for status, column in STATUS_COLUMNS.items()
        }
        return [(s.value, s.label, counts[s.value]) for s in Status if s != Status.DRAFT]


def headline(user, scope: Scope, now) -> dict:
    """All figures of the scope."""
    return Figures(user, scope, now).headline()


def grouped(user, scope: Scope, now, by: str) -> list[dict]:
    """The same figures per procedure (`by='procedure'`) or per receiving agency."""
    return Figures(user, scope, now).grouped(by)


def monthly(user, scope: Scope) -> list[dict]:
    """Received and resolved per month of the period, with the on-time rate."""
    return Figures(user, scope, clock.now()).monthly()


def status_breakdown(user, scope: Scope) -> list[tuple[str, str, int]]:
    """Current status of the dossiers submitted in the period."""
    return Figures(user, scope, clock.now()).status_breakdown()


# --- keeping the rollups ------------------------------------------------------------------------
#
# A rollup day row holds what the dossiers whose dates fall on that day count for, computed by
# the figures' own Qs. An action changes the figures only of the days its dossier's dates fall
# on (each date is set once, by one action, and never moved: submitted, received, resolved,
# returned, rated), so the action marks the dossier (`mark_changed`, in its transaction) and the
# worker's sweep recomputes those days from the dossiers and the months they are in
# (`refresh_rollups`). Recomputing, rather than adding and subtracting, means a refresh can run
# twice, or after a crash, and still leaves the exact counts.

ROLLUP_LOCK = 0x6F6E65_0010  # the advisory lock of rollup upkeep (one refresh at a time)
REFRESH_BATCH = 5000


def mark_changed(dossier: Dossier) -> None:
    """Inside an action's transaction: the dossier's days are to be recomputed."""
    if dossier.status != Status.DRAFT:
        IndicatorChange.objects.create(dossier_id=dossier.pk)


def _rollup_columns() -> dict[str, dict]:
    """Per date, the rollup columns the dossiers dated that day fill, and how each is counted:
    the period figures' own conditions, plus the monthly chart's, the processing time's sum and
    count, and the status breakdown's."""
    columns: dict[str, dict] = {field: {} for field in DATE_FIELDS}
    for key, (field, condition) in period_figures().items():
        columns[field][key] = Count("pk", filter=condition) if condition else Count("pk")
    columns["resolved_at"].update(
        resolved_in_time=Count("pk", filter=IN_TIME),
        working_seconds=Coalesce(Sum("resolution_working_seconds"), 0),
        working_seconds_counted=Count("resolution_working_seconds"),
    )
    for status, column in STATUS_COLUMNS.items():
        columns["submitted_at"][column] = Count("pk", filter=Q(status=status))
    return columns


def _ranges(days) -> list[tuple[dt.date, dt.date]]:
    """Sorted days as runs of consecutive days (first, last)."""
    runs: list[list[dt.date]] = []
    for day in sorted(days):
        if runs and day - runs[-1][1] == dt.timedelta(days=1):
            runs[-1][1] = day
        else:
            runs.append([day, day])
    return [(first, last) for first, last in runs]


def _quote(name: str) -> str:
    return connection.ops.quote_name(name)


def _insert(grain: str, day_sql: str, parts: list[tuple[str, list]], group: str) -> None:
    """INSERT the summed rows of the UNION ALL of `parts` (each selecting the key columns and
    every count column) into the rollup table."""
    columns = list(_count_columns())
    keys = ["receiving_agency_id", "competent_agency_id", "procedure_id"]
    sql = (
        f"INSERT INTO {_quote(IndicatorRollup._meta.db_table)} "  # nosec B608: quoted names
        f"({', '.join(_quote(c) for c in ['grain', 'day', *keys, *columns])}) "
        f"SELECT %s, {day_sql}, {', '.join(f'u.{_quote(k)}' for k in keys)}, "
        f"{', '.join(f'SUM(u.{_quote(c)})' for c in columns)} "
        f"FROM ({' UNION ALL '.join(sql for sql, _params in parts)}) u "
        f"GROUP BY {group}, {', '.join(f'u.{_quote(k)}' for k in keys)}"
    )
    params = [grain] + [p for _sql, part_params in parts for p in part_params]
    with connection.cursor() as cursor:
        cursor.execute(sql, params)


def _count_columns() -> dict[str, None]:
    columns = {column: None for counted in _rollup_columns().values() for column in counted}
    return columns | dict.fromkeys(ATTACHMENT_FIGURES)


def _insert_days(days) -> None:
    """The day rows of `days` (None: every day) from the dossiers."""
    columns = _rollup_columns()
    everything = list(_count_columns())
    parts = []
    for field, counted in columns.items():
        dated = Q(**{f"{field}__isnull": False})
        if days is not None:
            dated = _day_ranges(field, days)
        queryset = (
            Dossier.objects.exclude(status=Status.DRAFT)
            .filter(dated)
            .annotate(
                resolved_day=TruncDate("resolved_at", tzinfo=VN_TZ),
                due_day=TruncDate("original_due_at", tzinfo=VN_TZ),
                rollup_day=TruncDate(field, tzinfo=VN_TZ),
            )
            .order_by()
            .values("rollup_day", "receiving_agency_id", "competent_agency_id", "procedure_id")
            .annotate(**{c: counted.get(c, Value(0)) for c in everything})
        )
        parts.append(queryset.query.sql_with_params())
    parts.append(_papers_part(days, everything))
    _insert(DAY, "u.rollup_day", parts, "u.rollup_day")


def _papers_part(days, everything: list[str]) -> tuple[str, list]:
    """The paper counts (ATTACHMENT_FIGURES) by the day their dossier was received, in the same
    columns, in the same order, as the dossiers' parts."""
    dated = Q(dossier__received_at__isnull=False)
    if days is not None:
        dated = _day_ranges("dossier__received_at", days)
    counted = _attachment_aggregates()
    queryset = (
        Attachment.objects.filter(PAPERS, dated)
        .exclude(dossier__status=Status.DRAFT)
        .annotate(
            rollup_day=TruncDate("dossier__received_at", tzinfo=VN_TZ),
            receiving_agency_id=F("dossier__receiving_agency_id"),
            competent_agency_id=F("dossier__competent_agency_id"),
            procedure_id=F("dossier__procedure_id"),
        )
        .order_by()
        .values("rollup_day", "receiving_agency_id", "competent_agency_id", "procedure_id")
        .annotate(**{c: counted.get(c, Value(0)) for c in everything})
    )
    return queryset.query.sql_with_params()


def _day_ranges(field: str, days) -> Q:
    condition = Q(pk__in=[])
    for first, last in _ranges(days):
        condition |= Q(
            **{f"{field}__gte": day_start(first), f"{field}__lt": day_start(last + dt.timedelta(1))}
        )
    return condition


def _insert_months(months) -> None:
    """The month rows of `months` (first days; None: every month) from the day rows."""
    rows = IndicatorRollup.objects.filter(grain=DAY)
    if months is not None:
        within = Q(pk__in=[])
        for month in months:
            within |= Q(day__gte=month, day__lt=_next_month(month))
        rows = rows.filter(within)
    queryset = (
        rows.annotate(month=TruncMonth("day"))
        .order_by()
        .values("month", "receiving_agency_id", "competent_agency_id", "procedure_id")
        .annotate(**{c: Sum(c) for c in _count_columns()})
    )
    _insert(MONTH, "u.month", [queryset.query.sql_with_params()], "u.month")


def _take_lock(wait: bool) -> bool:
    if connection.vendor != "postgresql":
        return True  # SQLite writes one transaction at a time
    with connection.cursor() as cursor:
        if wait:
            cursor.execute("SELECT pg_advisory_xact_lock(%s)", [ROLLUP_LOCK])
            return True
        cursor.execute("SELECT pg_try_advisory_xact_lock(%s)", [ROLLUP_LOCK])
        return cursor.fetchone()[0]


def rebuild_rollups() -> int:
    """Recompute every rollup row from the dossiers (after a bulk load or a restore; the first
    sweep does it on a database that never had rollups). Returns the number of rows."""
    with transaction.atomic():
        _take_lock(wait=True)
        IndicatorRollup.objects.all().delete()
        _insert_days(None)
        _insert_months(None)
        now = timezone.now()
        IndicatorRollupState.objects.update_or_create(
            pk=1, defaults={"built_at": now, "refreshed_at": now}
        )
        # Marks left are folded in by the next refresh: recomputing a day twice is harmless.
        return IndicatorRollup.objects.count()


def refresh_rollups(batch: int = REFRESH_BATCH) -> int | None:
    """The worker's minute: recompute the days of the dossiers changed since the last refresh
    (at most `batch` marks; the rest at the next). Returns how many marks were folded in, or
    None when another refresh is running. Builds the rollups if they never were."""
    if not IndicatorRollupState.objects.filter(built_at__isnull=False).exists():
        rebuild_rollups()
    with transaction.atomic():
        if not _take_lock(wait=False):
            return None
        # Marks are read before the dossiers: a dossier whose mark is read here is seen with
        # that change below; a mark committed later stays for the next refresh.
        marks = list(IndicatorChange.objects.order_by("pk").values_list("pk", "dossier_id")[:batch])
        if marks:
            days = set()
            dates = Dossier.objects.filter(pk__in={dossier for _pk, dossier in marks})
            for values in dates.values_list(*DATE_FIELDS):
                days.update(v.astimezone(VN_TZ).date() for v in values if v is not None)
            _recompute(days)
            IndicatorChange.objects.filter(pk__in=[pk for pk, _dossier in marks]).delete()
        IndicatorRollupState.objects.filter(pk=1).update(refreshed_at=timezone.now())
    return len(marks)


def _recompute(days: set[dt.date]) -> None:
    if not days:
        return
    months = {day.replace(day=1) for day in days}
    IndicatorRollup.objects.filter(grain=DAY, day__in=days).delete()
    _insert_days(days)
    IndicatorRollup.objects.filter(grain=MONTH, day__in=months).delete()
    _insert_months(months)
