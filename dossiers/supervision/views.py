"""Supervisors' pages (/supervision/): indicators with drill-down, a dossier's full audit trail,
the global audit log, the log of reads of personal data, exports and the trail's integrity.
Read-only: nothing here changes a dossier (opening a trail only adds its read to the access log;
starting a verification run asks the worker to read the whole trail), and supervisors have no
office access.

The figures, lists, logs and exports read from the read replica when there is one
(`replica_reads`, dossiers/replica.py; the role is checked on the primary first). The trail
(it writes to the access log and verifies the chain as it is now) and the integrity page (it
shows the run just asked for) read the primary."""

from __future__ import annotations

from urllib.parse import urlencode

from django.contrib import messages
from django.http import HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, pgettext
from django.views.decorators.http import require_POST, require_safe

from onestop import web
from onestop.web import export_list, export_response, role_required, table_response

from .. import access, clock, exports, indicators, queries, verification
from ..audit import verify_dossier
from ..models import Agency, Dossier, Procedure
from ..permissions import is_supervisor, supervised_agency_ids, visibility_filter
from ..replica import replica_reads
from ..services import Actor
from ..workflow import EventType
from . import charts, trail
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
@replica_reads
def dashboard(request):
    form = ScopeForm(request.GET or None, user=request.user)
    scope, now = form.scope(), clock.now()
    computed = indicators.Figures(request.user, scope, now)
    figures = computed.headline()
    months = computed.monthly()
    statuses = computed.status_breakdown()
    month_labels = [f"{m['month']:%m/%Y}" for m in months]
    trend_chart = charts.bar_chart(
        "trend",
        _("Hồ sơ tiếp nhận và đã giải quyết theo tháng"),
        _(
            "Biểu đồ cột: mỗi tháng hai cột, số hồ sơ tiếp nhận và số hồ sơ đã giải quyết. "
            "Số liệu ở bảng bên cạnh."
        ),
        month_labels,
        [
            (pgettext("indicator", "Tiếp nhận"), [m["received"] for m in months]),
            (_("Đã giải quyết"), [m["resolved"] for m in months]),
        ],
    )
    status_chart = charts.bar_chart(
        "statuses",
        _("Trạng thái hồ sơ nộp trong kỳ"),
        _("Biểu đồ thanh ngang: số hồ sơ ở mỗi trạng thái. Số liệu ở bảng bên cạnh."),
        [label for _v, label, _n in statuses],
        [(_("Số hồ sơ"), [n for _v, _l, n in statuses])],
    )
    return render(
        request,
        "supervision/dashboard.html",
        {
            "form": form,
            "scope": scope,
            "query": _scope_query(scope),
            "figures": figures,
            "labels": indicators.FIGURE_LABELS,
            "by_procedure": computed.grouped("procedure"),
            "by_agency": computed.grouped("agency"),
            "months": months,
            "statuses": statuses,
            "trend_chart": trend_chart,
            "status_chart": status_chart,
        },
    )


@require_safe
def chart_stylesheet(request):
    """The charts' style sheet (charts.py): the page's CSP allows no <style> inside the SVG."""
    response = HttpResponse(charts.stylesheet(), content_type="text/css; charset=utf-8")
    response["Cache-Control"] = "public, max-age=86400"
    return response


@supervisor_required
@replica_reads
def drill_down(request):
    form = ScopeForm(request.GET or None, user=request.user)
    scope, now = form.scope(), clock.now()
    figure = request.GET.get("figure", "")
    queryset = indicators.drill_down(request.user, scope, figure, now)
    key = indicators.drill_down_order(figure)
    if key == "due_sort":
        queryset = queries.ordered(queryset)
    queryset = queryset.select_related("procedure", "receiving_agency")
    rows, next_cursor = queries.keyset_page(queryset, request.GET.get("after", ""), key=key)
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


@supervisor_required
def dossier_trail(request, pk):
    dossier = get_object_or_404(
        Dossier.objects.filter(visibility_filter(request.user)).select_related(
            "procedure", "receiving_agency"
        ),
        pk=pk,
    )
    # The trail shows the applicant's data and its changes: that read goes to the access log.
    access.record_staff_read(
        actor=Actor.from_request(request), dossier=dossier, purpose=access.Purpose.SUPERVISION
    )
    return render(
        request,
        "supervision/trail.html",
        {
            "dossier": dossier,
            "entries": trail.trail_entries(dossier),
            "problem": verify_dossier(dossier),
        },
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


def _audit_filters(params) -> dict:
    return {k: params[k] for k in exports.AUDIT_FILTERS if params.get(k)}


@supervisor_required
@replica_reads
def audit_log(request):
    province = supervised_agency_ids(request.user)
    filters = _audit_filters(request.GET)
    if request.GET.get("format") == "csv":
        return export_response(
            request,
            audience="supervision",
            kind="audit",
            fmt="csv",
            params={"agency_ids": sorted(province), "filters": filters},
            name="nhat-ky",
        )
    events = exports.audit_queryset(
        agency_ids=province, filters=filters, visible_to=request.user
    ).select_related("dossier", "agency")
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
            "agencies": Agency.objects.filter(pk__in=province),
            "procedures": Procedure.objects.order_by("name").only("code", "name"),
        },
    )


# --- the log of reads of personal data -----------------------------------------------------------

ACCESS_PAGE = 50


@supervisor_required
@replica_reads
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
    "attachments",
    "attachments_reused",
    "results_electronic_share",
    "digitised_share",
    "reuse_share",
    "satisfaction",
    "average_days",
]
DERIVED_LABELS = {
    "on_time_rate": "Tỷ lệ đúng hạn (%)",
    "online_share": "Tỷ lệ trực tuyến (%)",
    "electronic_share": "Tỷ lệ trả kết quả điện tử (%)",
    "attachments": "Giấy tờ của hồ sơ tiếp nhận",
    "attachments_reused": "Giấy tờ dùng lại từ kho",
    "results_electronic_share": "Tỷ lệ cấp kết quả điện tử, QĐ 766 (%)",
    "digitised_share": "Tỷ lệ số hóa hồ sơ, QĐ 766 (%)",
    "reuse_share": "Tỷ lệ tái sử dụng giấy tờ đã số hóa, QĐ 766 (%)",
    "satisfaction": "Mức độ hài lòng (%)",
    "average_days": "Thời gian giải quyết trung bình (ngày làm việc)",
}


def _indicator_table(request, scope, now):
    header = ["Phạm vi"] + [
        indicators.FIGURE_LABELS.get(k) or DERIVED_LABELS[k] for k in EXPORT_FIGURES
    ]
    computed = indicators.Figures(request.user, scope, now)
    total = computed.headline()
    rows = [["Tổng"] + [total[k] for k in EXPORT_FIGURES]]
    for group in ("agency", "procedure"):
        for row in computed.grouped(group):
            rows.append([row["name"]] + [row[k] for k in EXPORT_FIGURES])
    return header, rows


@supervisor_required
@replica_reads
def export_indicators(request, fmt):
    form = ScopeForm(request.GET or None, user=request.user)
    scope, now = form.scope(), clock.now()
    header, rows = _indicator_table(request, scope, now)
    name = f"chi-so-{scope.date_from:%Y%m%d}-{scope.date_to:%Y%m%d}"
    return table_response(name, fmt, rows, columns=header)


@supervisor_required
@replica_reads
def export_register(request, fmt):
    form = ScopeForm(request.GET or None, user=request.user)
    scope = form.scope()
    agencies = [scope.agency_id] if scope.agency_id else list(supervised_agency_ids(request.user))
    params = {
        "agency_ids": sorted(agencies),
        "date_from": scope.date_from.isoformat(),
        "date_to": scope.date_to.isoformat(),
    }
    return export_response(
        request,
        audience="supervision",
        kind="register",
        fmt=fmt,
        params=params,
        name=f"so-theo-doi-{scope.date_from:%Y%m%d}-{scope.date_to:%Y%m%d}",
    )


@supervisor_required
def export_jobs(request):
    return export_list(request, "supervision")


@supervisor_required
def export_download(request, pk):
    return web.export_download(request, "supervision", pk)


@supervisor_required
def integrity_keys(request):
    """The public keys that verify every seal and anchor (docs/integrity.md), to verify
    exports and the anchor file away from this server."""
    from ..sealing import public_keys_pem

    response = HttpResponse(public_keys_pem(), content_type="application/x-pem-file")
    response["Content-Disposition"] = 'attachment; filename="onestop-audit-keys.pem"'
    return response
