"""The officials' workspace (/office/): queues, the dossier page and its actions, counter
intake, slips and the register. Thin views: reads from queues, writes through services."""

from __future__ import annotations

from urllib.parse import urlencode

from django.contrib import messages
from django.db import transaction
from django.http import FileResponse, Http404
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_http_methods, require_POST

from onestop import web as onestop_web
from onestop.forms import procedure_form_field
from onestop.web import answer_domain_error, export_list, export_response, forbidden, role_required

from .. import access, appointment, clock, filecheck, notify, payment, services, slips
from ..errors import DomainError, ValidationFailed
from ..models import Agency, Attachment, Dossier, Procedure, ProcedureDocument, SavedFilter
from ..permissions import (
    agency_ids_with_role,
    authorize_role,
    available_actions,
    is_official,
    official_agency_ids,
)
from ..services import Actor
from ..workflow import OFFICIAL_ROLES, Action, Role, Status
from ..worktime import WorkCalendar
from . import queues
from .forms import ACTION_FORMS, ApplicantForm, RegisterForm

BULK_LIMIT = 50
FILTER_KEYS = ("q", "procedure", "status", "channel", "assignee", "received_from", "received_to")


official_required = role_required(
    is_official, gettext_lazy("Trang này dành cho cán bộ một cửa, chuyên viên và lãnh đạo.")
)
RECEPTION_ONLY = gettext_lazy("Chỉ cán bộ một cửa được tiếp nhận hồ sơ tại quầy.")


def _visible(request, pk) -> Dossier:
    return get_object_or_404(
        queues.office_dossiers(request.user).select_related(
            "procedure", "receiving_agency", "competent_agency", "assignee", "applicant_user"
        ),
        pk=pk,
    )


def _dossier_url(dossier) -> str:
    return reverse("office:dossier", args=[dossier.pk])


# --- queues ------------------------------------------------------------------------------------


@official_required
def queue(request):
    now, calendar = clock.now(), WorkCalendar.current()
    tab = request.GET.get("tab", "receive")
    if tab not in {t.key for t in queues.tabs()}:
        tab = "receive"
    params = {k: request.GET.get(k, "") for k in FILTER_KEYS}
    rows, next_cursor = queues.queue_page(
        request.user,
        tab=tab,
        params=params,
        cursor=request.GET.get("after", ""),
        now=now,
        calendar=calendar,
    )
    counts = queues.tab_counts(request.user, now, calendar)
    query = urlencode({k: v for k, v in params.items() if v})
    agencies = Agency.objects.filter(pk__in=official_agency_ids(request.user))
    context = {
        "tab": tab,
        "tabs": [(t, counts.get(t.key)) for t in queues.tabs()],
        "rows": [
            {
                "dossier": d,
                "overdue": d.is_overdue(now),
                "due_soon": d.is_due_soon(now, calendar),
                "left": _time_left(d, now, calendar),
            }
            for d in rows
        ],
        "params": params,
        "query": query,
        "next_cursor": next_cursor,
        "procedures": Procedure.objects.filter(active=True).order_by("name").only("code", "name"),
        "statuses": [s for s in Status.choices if s[0] != Status.DRAFT],
        "channels": Dossier._meta.get_field("channel").choices,
        "specialists": _specialists(agencies),
        "saved_filters": SavedFilter.objects.filter(user=request.user),
        "can_bulk_receive": bool(agency_ids_with_role(request.user, Role.RECEPTION)),
        "bulk_limit": BULK_LIMIT,
    }
    return render(request, "office/queue.html", context)


def _specialists(agencies):
    from django.contrib.auth import get_user_model

    return (
        get_user_model()
        .objects.filter(memberships__agency__in=agencies, memberships__role=Role.SPECIALIST)
        .distinct()
        .order_by("first_name", "username")
    )


def _time_left(dossier, now, calendar) -> str:
    if dossier.original_due_at is None or dossier.status not in (
        Status.RECEIVED,
        Status.PROCESSING,
        Status.PENDING_APPROVAL,
    ):
        return ""
    if now > dossier.original_due_at:
        return _("quá hạn")
    hours = calendar.working_seconds_between(now, dossier.original_due_at) / 3600
    days, rest = divmod(hours, calendar.seconds_per_day / 3600)
    if days >= 1:
        return _("còn %(d)d ngày %(h)d giờ làm việc") % {"d": days, "h": rest}
    return _("còn %(h).1f giờ làm việc") % {"h": hours}


@official_required
@require_POST
def save_filter(request):
    name = request.POST.get("name", "").strip()[:80]
    query = request.POST.get("query", "")[:1000]
    if not name:
        messages.error(request, _("Vui lòng đặt tên cho bộ lọc."))
    else:
        SavedFilter.objects.update_or_create(
            user=request.user, name=name, defaults={"query": query}
        )
        messages.success(request, _("Đã lưu bộ lọc “%(name)s”.") % {"name": name})
    return redirect(f"{reverse('office:queue')}?{query}")


@official_required
@require_POST
def delete_filter(request, pk):
    SavedFilter.objects.filter(user=request.user, pk=pk).delete()
    return redirect("office:queue")


@official_required
@require_POST
def bulk(request):
    """Receive or assign several dossiers: each in its own transaction, each with its result."""
    action = request.POST.get("action")
    ids = [int(i) for i in request.POST.getlist("ids") if i.isdigit()]
    if action not in (Action.RECEIVE, Action.ASSIGN) or not ids:
        messages.error(request, _("Chọn hồ sơ và thao tác."))
        return redirect("office:queue")
    if len(ids) > BULK_LIMIT:
        messages.error(request, _("Mỗi lần xử lý tối đa %(n)d hồ sơ.") % {"n": BULK_LIMIT})
        return redirect("office:queue")
    assignee = None
    if action == Action.ASSIGN:
        assignee = (
            _specialists(Agency.objects.filter(pk__in=official_agency_ids(request.user)))
            .filter(pk=request.POST.get("assignee") or 0)
            .first()
        )
    actor = Actor.from_request(request)
    visible = {d.pk: d for d in queues.office_dossiers(request.user).filter(pk__in=ids)}
    results = []
    for pk in ids:
        dossier = visible.get(pk)
        if dossier is None:
            results.append(
                {"id": pk, "code": "—", "ok": False, "message": _("Không tìm thấy hồ sơ.")}
            )
            continue
        try:
            if action == Action.RECEIVE:
                services.dossier_receive(actor=actor, dossier=dossier)
            else:
                services.dossier_assign(actor=actor, dossier=dossier, assignee=assignee)
        except DomainError as error:
            detail = "; ".join(p for ps in error.fields.values() for p in ps)
            results.append(
                {
                    "id": pk,
                    "code": dossier.code,
                    "ok": False,
                    "message": f"{error.message} {detail}".strip(),
                }
            )
        else:
            results.append({"id": pk, "code": dossier.code, "ok": True, "message": _("Đã xong.")})
    return render(
        request, "office/bulk_results.html", {"results": results, "action": Action(action)}
    )


# --- the dossier page --------------------------------------------------------------------------


def _available_actions(user, dossier) -> list[str]:
    """The actions of this page that the official may take now (permissions.authorize, read
    only; the services check again under the row lock)."""
    return [
        a for a in available_actions(user, dossier, as_roles=OFFICIAL_ROLES) if a in ACTION_FORMS
    ]


@official_required
def dossier_page(request, pk):
    dossier = _visible(request, pk)
    # Opening the page shows the applicant's personal data: that read goes to the access log.
    access.record_staff_read(
        actor=Actor.from_request(request), dossier=dossier, purpose=access.Purpose.PROCESSING
    )
    return _render_dossier(request, dossier)


def _render_dossier(request, dossier, failed_action=None, failed_form=None, status=200):
    now, calendar = clock.now(), WorkCalendar.current()
    actions = _available_actions(request.user, dossier)
    forms = {}
    for action in actions:
        if action == failed_action:
            forms[action] = failed_form
        else:
            forms[action] = ACTION_FORMS[action](dossier=dossier)
    labels = {f.key: f.label for f in dossier.procedure.fields.all()}
    answers = [(labels.get(k, k), v) for k, v in dossier.form_data.items()]
    events = dossier.events.select_related("agency").order_by("-seq")
    context = {
        "dossier": dossier,
        "answers": answers,
        "attachments": dossier.attachments.select_related("document", "uploaded_by"),
        "requested": ProcedureDocument.objects.filter(pk__in=dossier.requested_documents),
        "events": events,
        "forms": [(Action(a), forms[a]) for a in actions],
        "slips": slips.listing(dossier, staff=True),
        "appointment": appointment.current(dossier),
        "payment": payment.due(dossier),
        "overdue": dossier.is_overdue(now),
        "due_soon": dossier.is_due_soon(now, calendar),
        "left": _time_left(dossier, now, calendar),
        "pauses": dossier.pauses.all(),
        "undelivered": notify.undelivered(dossier),
    }
    return render(request, "office/dossier.html", context, status=status)


@official_required
@require_POST
def act(request, pk, action):
    dossier = _visible(request, pk)
    if action not in ACTION_FORMS:
        raise Http404()
    try:
        authorize_role(request.user, dossier, action)  # 403 before the form is read
    except DomainError as error:
        return answer_domain_error(request, error, back=_dossier_url(dossier))
    form = ACTION_FORMS[action](request.POST, request.FILES, dossier=dossier)
    if not form.is_valid():
        messages.error(request, _("Vui lòng kiểm tra lại thông tin của thao tác."))
        return _render_dossier(request, dossier, action, form, status=400)
    actor = Actor.from_request(request)
    try:
        if action == Action.PROPOSE and form.cleaned_data.get("result"):
            services.attachment_add(
                actor=actor,
                dossier=dossier,
                upload=form.cleaned_data["result"],
                purpose=Attachment.Purpose.RESULT,
            )
        if action == Action.SUPPLEMENT:
            problems = services.attach_requested(
                actor=actor, dossier=dossier, uploads=request.FILES
            )
            if problems:
                raise ValidationFailed(problems[0], fields={"doc": problems})
        services.ACTION_SERVICES[action](actor=actor, dossier=dossier, **form.service_kwargs())
    except ValidationFailed as error:
        for field, problems in error.fields.items():
            for problem in problems:
                form.add_error(field if field in form.fields else None, problem)
        if not error.fields:
            form.add_error(None, error.message)
        messages.error(request, error.message)
        return _render_dossier(
            request, Dossier.objects.get(pk=dossier.pk), action, form, status=400
        )
    except DomainError as error:
        return answer_domain_error(request, error, back=_dossier_url(dossier))
    messages.success(request, _("Đã thực hiện: %(action)s.") % {"action": Action(action).label})
    return redirect(_dossier_url(dossier))


@official_required
def attachment_download(request, pk, attachment_id):
    dossier = _visible(request, pk)
    attachment = get_object_or_404(dossier.attachments.exclude(file=""), pk=attachment_id)
    access.record_staff_read(
        actor=Actor.from_request(request),
        dossier=dossier,
        purpose=access.Purpose.PROCESSING,
        what=access.What.FILE,
    )
    # Inline only for a checked PDF or image (dossiers/filecheck.py); nosniff comes from
    # SecurityMiddleware (SECURE_CONTENT_TYPE_NOSNIFF).
    content_type, may_inline = filecheck.served_type(attachment.content_type)
    return FileResponse(
        attachment.file.open("rb"),
        as_attachment=not (may_inline and request.GET.get("preview") == "1"),
        filename=filecheck.download_name(
            attachment.original_name, content_type, f"tai-lieu-{attachment.pk}"
        ),
        content_type=content_type,
    )


@official_required
def slip_download(request, pk, kind, seq=None):
    """A slip: the newest of its kind, or the version documenting event `seq`."""
    dossier = _visible(request, pk)
    if kind not in slips.available_kinds(dossier, staff=True):
        raise Http404()
    slip = slips.slip_for(dossier, kind, seq)
    access.record_staff_read(  # a slip prints the applicant's identity
        actor=Actor.from_request(request),
        dossier=dossier,
        purpose=access.Purpose.PROCESSING,
        what=access.What.FILE,
    )
    return FileResponse(
        slip.file.open("rb"),
        filename=f"{kind}-{dossier.code}{f'-{seq}' if seq else ''}.pdf",
        content_type="application/pdf",
    )


# --- counter intake ----------------------------------------------------------------------------


def _reception_agencies(user):
    return Agency.objects.filter(pk__in=agency_ids_with_role(user, Role.RECEPTION))


@official_required
def intake_choose(request):
    agencies = _reception_agencies(request.user)
    if not agencies:
        return forbidden(request, RECEPTION_ONLY)
    procedures = Procedure.objects.filter(active=True).order_by("sector", "name")
    code = request.GET.get("procedure", "")
    if code:
        return redirect("office:intake", code=code)
    return render(request, "office/intake_choose.html", {"procedures": procedures})


@official_required
@require_http_methods(["GET", "POST"])
def intake(request, code):
    procedure = get_object_or_404(Procedure, code=code, active=True)
    agencies = _reception_agencies(request.user)
    if not agencies:
        return forbidden(request, RECEPTION_ONLY)
    definitions = list(procedure.fields.all())
    documents = list(procedure.documents.all())
    applicant_form = ApplicantForm(request.POST or None, initial={"channel": 1})
    answers_form = _answers_form(request.POST or None, definitions)
    context = {
        "procedure": procedure,
        "applicant_form": applicant_form,
        "answers_form": answers_form,
        "documents": documents,
        "agency": agencies.first(),
    }
    if request.method == "GET":
        return render(request, "office/intake.html", context)
    seen = [d.pk for d in documents if request.POST.get(f"seen_{d.pk}")]
    if not (applicant_form.is_valid() and answers_form.is_valid()):
        return render(request, "office/intake.html", context, status=400)
    # Every file is checked before anything is written: a refused file leaves no dossier and no
    # stored file behind, and all refusals are reported at once.
    checked, problems = {}, []
    for document in documents:
        upload = request.FILES.get(f"doc_{document.pk}")
        if upload:
            try:
                checked[document.pk] = services.check_upload(upload, document.allowed_types)
            except ValidationFailed as error:
                problems += [f"{document.name}: {p}" for ps in error.fields.values() for p in ps]
    if problems:
        context["errors"] = problems
        messages.error(request, _("Một số tệp không được chấp nhận; vui lòng xem bên dưới."))
        return render(request, "office/intake.html", context, status=400)
    actor = Actor.from_request(request)
    answers = {k.removeprefix("f_"): _plain(v) for k, v in answers_form.cleaned_data.items()}
    try:
        with transaction.atomic():
            dossier = services.dossier_intake(
                actor=actor,
                procedure=procedure,
                agency=agencies.first(),
                applicant=applicant_form.applicant(),
                form_data=answers,
                papers_seen=seen,
                channel=applicant_form.cleaned_data["channel"],
            )
            for document in documents:
                if document.pk in checked:
                    services.attachment_add(
                        actor=actor, dossier=dossier, upload=checked[document.pk], document=document
                    )
    except ValidationFailed as error:
        for field, problems in error.fields.items():
            target = f"f_{field}" if f"f_{field}" in answers_form.fields else None
            for problem in problems:
                if target:
                    answers_form.add_error(target, problem)
                elif field in applicant_form.fields:
                    applicant_form.add_error(field, problem)
                else:
                    context.setdefault("errors", []).append(problem)
        messages.error(request, error.message)
        return render(request, "office/intake.html", context, status=400)
    except DomainError as error:
        return answer_domain_error(request, error, back=reverse("office:queue"))
    messages.success(
        request,
        _("Đã tiếp nhận hồ sơ %(code)s. In giấy tiếp nhận và hẹn trả kết quả cho người nộp.")
        % {"code": dossier.code},
    )
    return redirect(_dossier_url(dossier))


def _answers_form(data, definitions):
    from django import forms

    form = forms.Form(data)
    for definition in definitions:
        field = procedure_form_field(definition)
        field.onestop_required = definition.required
        form.fields[f"f_{definition.key}"] = field
    return form


def _plain(value):
    import datetime as dt

    return value.isoformat() if isinstance(value, dt.date) else value


# --- register export ---------------------------------------------------------------------------


@official_required
def register(request):
    form = RegisterForm(request.GET or None)
    fmt = request.GET.get("format", "")
    if request.GET and form.is_valid() and fmt in ("xlsx", "csv"):
        start, end = form.cleaned_data["date_from"], form.cleaned_data["date_to"]
        params = {
            "agency_ids": sorted(official_agency_ids(request.user)),
            "date_from": start.isoformat(),
            "date_to": end.isoformat(),
        }
        return export_response(
            request,
            audience="office",
            kind="register",
            fmt=fmt,
            params=params,
            name=f"so-theo-doi-{start:%Y%m%d}-{end:%Y%m%d}",
        )
    return render(
        request,
        "office/register.html",
        {"form": form},
        status=400 if request.GET and not form.is_valid() else 200,
    )


@official_required
def exports(request):
    return export_list(request, "office")


@official_required
def export_download(request, pk):
    return onestop_web.export_download(request, "office", pk)
