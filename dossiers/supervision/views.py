"""Supervisors' pages (/supervision/): indicators with drill-down, a dossier's full audit trail,
the global audit log, the log of reads of personal data, exports and the trail's integrity.
Read-only: nothing here changes a dossier (opening a trail only adds its read to the access log;
starting a verification run asks the worker to read the whole trail), and supervisors have no
office access."""

from __future__ import annotations

import datetime as dt
from urllib.parse import urlencode

from django.contrib import messages
from django.db.models import Q
from django.http import HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_POST, require_safe

from onestop.web import role_required, table_response

from .. import access, clock, exports, indicators, queries, verification
from ..audit import verify_dossier
from ..formatting import vn_datetime
from ..models import Agency, Attachment, ClockPause, Dossier, DossierEvent, Procedure
from ..permissions import is_supervisor, supervised_agency_ids, visibility_filter
from ..services import Actor
from ..workflow import EventType
from .forms import ScopeForm

AUDIT_PAGE = 50


supervisor_required = role_required(
    is_supervisor, gettext_lazy("Trang này dành cho cán bộ giám sát.")
)


def _scope_query(scope: indicators.Scope) -> str:
    return urlencode(
        {
            "date_from": scope.date_from.isoformat(),
            "date_to": scope.date_to.isoformat(),
            **({"agency": scope.agency_id} if scope.agency_id else {}),
            **({"procedure": scope.procedure_code} if scope.procedure_code else {}),
        }
    )


@supervisor_required
def dashboard(request):
    form = ScopeForm(request.GET or None, user=request.user)
    scope, now = form.scope(), clock.now()
    figures = indicators.headline(request.user, scope, now)
    months = indicators.monthly(request.user, scope)
    statuses = indicators.status_breakdown(request.user, scope)
    peak = max([m["received"] for m in months] + [m["resolved"] for m in months] + [1])
    status_peak = max([n for _v, _l, n in statuses] + [1])
    return render(
        request,
        "supervision/dashboard.html",
        {
            "form": form,
            "scope": scope,
            "query": _scope_query(scope),
            "figures": figures,
            "labels": indicators.FIGURE_LABELS,
            "by_procedure": indicators.grouped(request.user, scope, now, "procedure"),
            "by_agency": indicators.grouped(request.user, scope, now, "agency"),
            "months": [
                {
                    **m,
                    "received_h": 100 * m["received"] / peak,
                    "resolved_h": 100 * m["resolved"] / peak,
                }
                for m in months
            ],
            "statuses": [(v, label, n, 100 * n / status_peak) for v, label, n in statuses],
        },
    )


@supervisor_required
def drill_down(request):
    form = ScopeForm(request.GET or None, user=request.user)
    scope, now = form.scope(), clock.now()
    figure = request.GET.get("figure", "")
    queryset = queries.ordered(indicators.drill_down(request.user, scope, figure, now))
    queryset = queryset.select_related("procedure", "receiving_agency")
    rows, next_cursor = queries.keyset_page(queryset, request.GET.get("after", ""), key="due_sort")
    label = indicators.FIGURE_LABELS.get(figure) or figure.removeprefix("status:")
    return render(
        request,
        "supervision/dossiers.html",
        {
            "rows": rows,
            "next_cursor": next_cursor,
            "figure": figure,
            "label": label,
            "scope": scope,
            "query": _scope_query(scope),
        },
    )


# --- a dossier's audit trail ---------------------------------------------------------------------


def _display(field, value):
    if value in (None, ""):
        return "—"
    if field.choices:
        return str(dict(field.flatchoices).get(value, value))
    if isinstance(value, dt.datetime):
        return vn_datetime(value)
    return str(value)


def _history_entries(history_rows, title) -> list[dict]:
    entries = []
    for record in history_rows:
        changes = []
        previous = record.prev_record
        if previous is not None:
            for change in record.diff_against(previous).changes:
                field = record.instance._meta.get_field(change.field)
                changes.append(
                    (
                        str(field.verbose_name),
                        _display(field, change.old),
                        _display(field, change.new),
                    )
                )
        entries.append(
            {
                "at": record.history_date,
                "kind": "change",
                "title": {"+": _("Tạo"), "~": _("Sửa"), "-": _("Xóa")}[record.history_type]
                + f" {title}",
                "who": record.history_user.get_full_name() or record.history_user.username
                if record.history_user
                else "—",
                "changes": changes,
            }
        )
    return entries


@supervisor_required
def dossier_trail(request, pk):
    dossier = get_object_or_404(Dossier.objects.filter(visibility_filter(request.user)), pk=pk)
    # The trail shows the applicant's data and its changes: that read goes to the access log.
    access.record_staff_read(
        actor=Actor.from_request(request), dossier=dossier, purpose=access.Purpose.SUPERVISION
    )
    events = [
        {
            "at": e.created_at,
            "kind": "event",
            "title": e.get_event_type_display(),
            "event": e,
        }
        for e in dossier.events.select_related("agency").order_by("seq")
    ]
    history = _history_entries(
        dossier.history.select_related("history_user").order_by("history_date"), _("hồ sơ")
    )
    history += _history_entries(
        Attachment.history.filter(dossier_id=dossier.pk).select_related("history_user"),
        _("tài liệu"),
    )
    history += _history_entries(
        ClockPause.history.filter(dossier_id=dossier.pk).select_related("history_user"),
        _("khoảng tạm dừng"),
    )
    entries = sorted(events + history, key=lambda e: (e["at"], e["kind"] != "event"))
    return render(
        request,
        "supervision/trail.html",
        {"dossier": dossier, "entries": entries, "problem": verify_dossier(dossier)},
    )


@supervisor_required
@require_safe
def integrity(request):
    """The latest verification runs and the stored daily digests, as stored: verifying is the
    worker's job (start_verification), never this page's."""
    from ..models import AuditAnchor, AuditDigest

    runs = verification.recent_runs()
    latest = next((run for run in runs if run.finished), None)
    return render(
        request,
        "supervision/integrity.html",
        {
            "runs": runs,
            "latest": latest,
            "latest_counts": [
                (verification.COUNT_LABELS.get(what, what), n)
                for what, n in (latest.counts.items() if latest else [])
            ],
            "active": next((run for run in runs if run.active), None),
            "digests": AuditDigest.objects.order_by("-day")[:31],
            "last_anchor": AuditAnchor.objects.order_by("-seq").first(),
        },
    )


@supervisor_required
@require_POST
def start_verification(request):
    """Ask the worker to verify the whole trail (reading only); a run already waiting or
    running is not doubled."""
    run, created = verification.request_run(request.user)
    if created:
        messages.success(
            request,
            _("Đã yêu cầu kiểm tra toàn vẹn (lần #%(id)s): tải lại trang để xem kết quả.")
            % {"id": run.pk},
        )
    else:
        messages.info(
            request,
            _("Lần kiểm tra #%(id)s đang chờ hoặc đang chạy: không cần yêu cầu thêm.")
            % {"id": run.pk},
        )
    return redirect("supervision:integrity")


# --- the global audit log ------------------------------------------------------------------------


def _audit_events(request):
    province = supervised_agency_ids(request.user)
    events = DossierEvent.objects.filter(
        Q(dossier__receiving_agency_id__in=province) | Q(dossier__competent_agency_id__in=province),
        # The one visibility rule: a citizen's draft (and its events) is not the province's.
        # Read on the event's own dossier row (newest events first, each joined by its key),
        # not as a semi-join over every visible dossier.
        visibility_filter(request.user, prefix="dossier__"),
    )
    params = request.GET
    # A named actor or dossier is looked up first (a sub-query run once), so that the events
    # are read newest first from the (actor, created_at) or (dossier, seq) index.
    if params.get("actor"):
        events = events.filter(actor_id=queries.user_id_named(params["actor"].strip()))
    if str(params.get("agency", "")).isdigit():
        events = events.filter(agency_id=int(params["agency"]))
    if params.get("event_type") in EventType.values:
        events = events.filter(event_type=params["event_type"])
    if params.get("procedure"):
        events = events.filter(dossier__procedure__code=params["procedure"])
    if params.get("code"):
        events = events.filter(dossier_id=queries.dossier_id_coded(params["code"].strip()))
    events = queries.in_date_range(
        events, "created_at", params.get("date_from", ""), params.get("date_to", "")
    )
    return events.order_by("-created_at", "-id")


AUDIT_COLUMNS = [
    "Thời điểm",
    "Mã hồ sơ",
    "Sự kiện",
    "Từ",
    "Sang",
    "Người thực hiện",
    "Vai trò",
    "Cơ quan",
    "IP",
    "Ghi chú",
    "Băm",
]


@supervisor_required
def audit_log(request):
    events = _audit_events(request).select_related("dossier", "agency")
    if request.GET.get("format") == "csv":
        rows = _audit_rows(events.iterator(chunk_size=2000))
        return table_response("nhat-ky", "csv", rows, columns=AUDIT_COLUMNS)
    rows, next_cursor = queries.keyset_page(
        events, request.GET.get("after", ""), key="created_at", size=AUDIT_PAGE, descending=True
    )
    query = urlencode({k: v for k, v in request.GET.items() if k not in ("after", "format") and v})
    return render(
        request,
        "supervision/audit.html",
        {
            "rows": rows,
            "next_cursor": next_cursor,
            "query": query,
            "params": request.GET,
            "event_types": EventType.choices,
            "agencies": Agency.objects.filter(pk__in=supervised_agency_ids(request.user)),
            "procedures": Procedure.objects.order_by("name").only("code", "name"),
        },
    )


def _audit_rows(events):
    for e in events:
        yield [
            vn_datetime(e.created_at),
            e.dossier.code or f"#{e.dossier_id}",
            e.event_type,
            e.from_status,
            e.to_status,
            e.actor_name,
            e.role,
            e.agency.name if e.agency else "",
            e.ip or "",
            e.note,
            e.hash,
        ]


# --- the log of reads of personal data -----------------------------------------------------------

ACCESS_PAGE = 50


@supervisor_required
def access_log(request):
    """Who read whose personal data, for the dossiers of the supervisor's province."""
    params, province = request.GET, supervised_agency_ids(request.user)
    entries = access.supervised_entries(
        agency_ids=province,
        actor_username=params.get("actor", ""),
        dossier_code=params.get("code", ""),
        agency_id=params.get("agency", ""),
        purpose=params.get("purpose", ""),
        date_from=params.get("date_from", ""),
        date_to=params.get("date_to", ""),
    ).select_related("dossier", "agency")
    rows, next_cursor = queries.keyset_page(
        entries, params.get("after", ""), key="created_at", size=ACCESS_PAGE, descending=True
    )
    return render(
        request,
        "supervision/access.html",
        {
            "rows": rows,
            "next_cursor": next_cursor,
            "query": urlencode({k: v for k, v in params.items() if k != "after" and v}),
            "params": params,
            "purposes": access.Purpose.choices,
            "agencies": Agency.objects.filter(pk__in=province),
        },
    )


# --- exports -------------------------------------------------------------------------------------

EXPORT_FIGURES = [
    *list(indicators.FIGURE_LABELS),
    "on_time_rate",
    "online_share",
    "electronic_share",
    "satisfaction",
    "average_days",
]
DERIVED_LABELS = {
    "on_time_rate": "Tỷ lệ đúng hạn (%)",
    "online_share": "Tỷ lệ trực tuyến (%)",
    "electronic_share": "Tỷ lệ trả kết quả điện tử (%)",
    "satisfaction": "Mức độ hài lòng (%)",
    "average_days": "Thời gian giải quyết trung bình (ngày làm việc)",
}


def _indicator_table(request, scope, now):
    header = ["Phạm vi"] + [
        indicators.FIGURE_LABELS.get(k) or DERIVED_LABELS[k] for k in EXPORT_FIGURES
    ]
    total = indicators.headline(request.user, scope, now)
    rows = [["Tổng"] + [total[k] for k in EXPORT_FIGURES]]
    for group in ("agency", "procedure"):
        for row in indicators.grouped(request.user, scope, now, group):
            rows.append([row["name"]] + [row[k] for k in EXPORT_FIGURES])
    return header, rows


@supervisor_required
def export_indicators(request, fmt):
    form = ScopeForm(request.GET or None, user=request.user)
    scope, now = form.scope(), clock.now()
    header, rows = _indicator_table(request, scope, now)
    name = f"chi-so-{scope.date_from:%Y%m%d}-{scope.date_to:%Y%m%d}"
    return table_response(name, fmt, rows, columns=header)


@supervisor_required
def export_register(request, fmt):
    form = ScopeForm(request.GET or None, user=request.user)
    scope = form.scope()
    agencies = [scope.agency_id] if scope.agency_id else list(supervised_agency_ids(request.user))
    rows = exports.register_rows(
        agency_ids=agencies,
        date_from=scope.date_from,
        date_to=scope.date_to,
        visible_to=request.user,
    )
    name = f"so-theo-doi-{scope.date_from:%Y%m%d}-{scope.date_to:%Y%m%d}"
    return table_response(name, fmt, rows)


@supervisor_required
def integrity_keys(request):
    """The public keys that verify every seal and anchor (docs/integrity.md), to verify
    exports and the anchor file away from this server."""
    from ..sealing import public_keys_pem

    response = HttpResponse(public_keys_pem(), content_type="application/x-pem-file")
    response["Content-Disposition"] = 'attachment; filename="onestop-audit-keys.pem"'
    return response
