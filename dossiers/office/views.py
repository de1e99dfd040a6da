"""The officials' workspace (/office/): queues, the dossier page and its actions, counter
intake, slips and the register. Thin views: reads from queues, writes through services."""

from __future__ import annotations

import contextlib
import datetime as dt
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

from .. import access, appointment, clock, filecheck, notify, payment, services, signatures, slips
from ..errors import DomainError, ValidationFailed
from ..formatting import vn_date
from ..models import (
    Agency,
    Attachment,
    Dossier,
    Procedure,
    ProcedureDocument,
    ProcedureField,
    SavedFilter,
)
from ..permissions import (
    agency_ids_with_role,
    authorize_role,
    available_actions,
    counter_payment_problem,
    is_official,
    official_agency_ids,
)
from ..queries import apply_filters
from ..services import Actor
from ..services.intake import online_only_problem
from ..validators import APPLICANT_FIELDS, is_id_number
from ..workflow import OFFICIAL_ROLES, Action, Role, Status
from ..worktime import WorkCalendar
from . import queues
from .forms import ACTION_FORMS, ApplicantForm, RegisterForm, specialists_of
from .time_left import time_left

BULK_LIMIT = 50
FILTER_KEYS = ("q", "procedure", "status", "channel", "assignee", "received_from", "received_to")


official_required = role_required(
    is_official, gettext_lazy("Trang này dành cho cán bộ một cửa, chuyên viên và lãnh đạo.")
)
RECEPTION_ONLY = gettext_lazy("Chỉ cán bộ một cửa được tiếp nhận hồ sơ tại quầy.")


def _visible(request, pk) -> Dossier:
    return get_object_or_404(
        queues.office_dossiers(request.user).select_related(
            "procedure",
            "receiving_agency",
            "competent_agency",
            "assignee",
            "applicant_user",
            "assisted_by",
        ),
        pk=pk,
    )


def checked_uploads(request, documents) -> tuple[dict, list[str]]:
    """Each paper's uploaded file (`doc_<id>`) checked before anything is written (counter
    intake, assisted filing): the checked files by document id, and every refusal at once."""
    checked, problems = {}, []
    for document in documents:
        upload = request.FILES.get(f"doc_{document.pk}")
        if upload:
            try:
                checked[document.pk] = services.check_upload(upload, document.allowed_types)
            except ValidationFailed as error:
                problems += [f"{document.name}: {p}" for ps in error.fields.values() for p in ps]
    return checked, problems


def _dossier_url(dossier) -> str:
    return reverse("office:dossier", args=[dossier.pk])


# --- queues ------------------------------------------------------------------------------------


@official_required
def queue(request):
    """The work queues. `q` (also sent by the header's search box) searches every tab."""
    now, calendar = clock.now(), WorkCalendar.current()
    tab = request.GET.get("tab", "")
    if tab not in {t.key for t in queues.tabs()}:
        tab = queues.landing_tab(request.user)
    params = {k: request.GET.get(k, "") for k in FILTER_KEYS}
    order = queues.order_for(tab, request.GET.get("order", ""))
    searching = queues.is_search(params)
    rows, next_cursor = queues.queue_page(
        request.user,
        tab=tab,
        params=params,
        cursor=request.GET.get("after", ""),
        now=now,
        calendar=calendar,
        order=order,
    )
    counts = queues.tab_counts(request.user, now, calendar)
    query = urlencode({k: v for k, v in params.items() if v})
    # Choosing a tab leaves a search (a search looks through every tab); other filters stay.
    tab_query = urlencode({k: v for k, v in params.items() if v and k != "q"})
    agencies = Agency.objects.filter(pk__in=official_agency_ids(request.user))
    context = {
        "tab": tab,
        "tabs": [(t, counts.get(t.key)) for t in queues.tabs()],
        "searching": searching,
        "rows": [
            {
                "dossier": d,
                "left": time_left(d, now, calendar),
                "in_tab": queues.tab_of(d, request.user) if searching else None,
            }
            for d in rows
        ],
        "params": params,
        "query": query,
        "tab_query": tab_query,
        "order": order,
        "sort_links": _sort_links(tab, order, query),
        "order_choices": [
            {
                "label": ORDER_LABELS[key],
                "href": _order_href(tab, key, query),
                "current": key == order,
            }
            for key in queues.allowed_orders(tab)
        ],
        "next_cursor": next_cursor,
        "procedures": Procedure.objects.filter(active=True).order_by("name").only("code", "name"),
        "statuses": [s for s in Status.choices if s[0] != Status.DRAFT],
        "channels": Dossier._meta.get_field("channel").choices,
        "specialists": specialists_of(agencies),
        "saved_filters": SavedFilter.objects.filter(user=request.user),
        "can_bulk_receive": bool(agency_ids_with_role(request.user, Role.RECEPTION)),
        "bulk_limit": BULK_LIMIT,
    }
    return render(request, "office/queue.html", context)


ORDER_LABELS = {
    "filed": gettext_lazy("nộp sớm nhất trước"),
    "-filed": gettext_lazy("nộp mới nhất trước"),
    "due": gettext_lazy("hạn giải quyết sớm nhất trước"),
    "-due": gettext_lazy("hạn giải quyết muộn nhất trước"),
}


def _order_href(tab: str, order: str, query: str) -> str:
    return "?" + urlencode({"tab": tab, "order": order}) + (f"&{query}" if query else "")


def _sort_links(tab: str, order: str, query: str) -> dict:
    """Per sortable column: the link that sorts by it (ascending first, then the other way) and
    the column's aria-sort state. Links start again at the first page."""
    allowed = queues.allowed_orders(tab)
    links = {}
    for column in ("filed", "due"):
        if column not in allowed:
            continue
        current = order.lstrip("-") == column
        descending = order.startswith("-")
        target = f"-{column}" if current and not descending else column
        links[column] = {
            "href": _order_href(tab, target, query),
            "aria_sort": ("descending" if descending else "ascending") if current else "none",
        }
    return links


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
            specialists_of(Agency.objects.filter(pk__in=official_agency_ids(request.user)))
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


# Actions that end a dossier or turn it away: shown apart from the others, styled as such.
DESTRUCTIVE_ACTIONS = (Action.REFUSE, Action.STOP, Action.WITHDRAW)


def _render_dossier(request, dossier, failed_action=None, failed_form=None, status=200):
    now, calendar = clock.now(), WorkCalendar.current()
    actions = _available_actions(request.user, dossier)
    forms = {}
    for action in actions:
        if action == failed_action:
            forms[action] = failed_form
        else:
            forms[action] = ACTION_FORMS[action](dossier=dossier)
    events = list(dossier.events.select_related("agency").order_by("-seq"))
    for event in events:  # read as words, not as codes
        event.from_label = _label(Status, event.from_status)
        event.to_label = _label(Status, event.to_status)
        event.role_label = _label(Role, event.role)
    attachments = list(
        dossier.attachments.select_related("document", "uploaded_by", "reused_from__source_dossier")
    )
    results = [a for a in attachments if a.purpose == Attachment.Purpose.RESULT and a.file]
    signed = signatures.signatures_of(results)
    for result in results:
        result.signature = signed.get(result.pk)
    context = {
        # Papers taken from the store: the dossier they came from, a link where the official
        # may open it (one query for all).
        "visible_sources": _visible_sources(request.user, attachments),
        "dossier": dossier,
        "answers": _answers(dossier),
        "attachments": attachments,
        # The result the leader approves: opened in the browser before approving.
        "results": results,
        # Whether approving signs them (the competent agency has a certificate).
        "signs_results": signatures.agency_signs(dossier.competent_agency),
        "requested": ProcedureDocument.objects.filter(pk__in=dossier.requested_documents),
        "events": events,
        "forms": [(Action(a), forms[a]) for a in actions],
        "main_forms": [(Action(a), forms[a]) for a in actions if a not in DESTRUCTIVE_ACTIONS],
        "danger_forms": [(Action(a), forms[a]) for a in actions if a in DESTRUCTIVE_ACTIONS],
        "slips": slips.listing(dossier, staff=True),
        "appointment": appointment.current(dossier),
        **payment.page_context(dossier),  # office/_payment.html
        # The fee due at filing, paid at this counter: reception of the receiving agency.
        "counter_fee": counter_payment_problem(request.user, dossier) is None,
        "left": time_left(dossier, now, calendar),
        "pauses": dossier.pauses.all(),
        "undelivered": notify.undelivered(dossier),
    }
    return render(request, "office/dossier.html", context, status=status)


def _visible_sources(user, attachments) -> set[int]:
    sources = {a.reused_from.source_dossier_id for a in attachments if a.reused_from_id}
    if not sources:
        return set()
    return set(queues.office_dossiers(user).filter(pk__in=sources).values_list("pk", flat=True))


def _label(choices, value: str) -> str:
    return str(choices(value).label) if value in choices.values else value


def _answers(dossier) -> list[tuple[str, str]]:
    """The form's answers as the applicant would write them: dates dd/mm/yyyy, yes or no."""
    definitions = {f.key: f for f in dossier.procedure.fields.all()}
    answers = []
    for key, value in dossier.form_data.items():
        definition = definitions.get(key)
        kind = definition.type if definition else ""
        if kind == ProcedureField.Type.DATE and value:
            with contextlib.suppress(ValueError):  # else the answer as typed
                value = vn_date(value)
        elif kind == ProcedureField.Type.CHECKBOX or isinstance(value, bool):
            value = _("Có") if value else _("Không")
        answers.append((definition.label if definition else key, value))
    return answers


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
    """The counter form. The applicant is typed once: the procedure's questions that ask for the
    applicant's own data (name, ID number...) take it from the applicant block. "Look up" fills
    that block from the latest dossier of the same ID number the agency holds."""
    procedure = get_object_or_404(Procedure, code=code, active=True)
    agencies = _reception_agencies(request.user)
    if not agencies:
        return forbidden(request, RECEPTION_ONLY)
    if procedure.online_only:  # no paper intake: the page says how to file it (assisted.py)
        context = {"procedure": procedure, "problem": online_only_problem(procedure)}
        status = 400 if request.method == "POST" else 200
        return render(request, "office/online_only.html", context, status=status)
    definitions = list(procedure.fields.all())
    from_applicant = {
        d.key: d.profile_source for d in definitions if d.profile_source in APPLICANT_FIELDS
    }
    asked = [d for d in definitions if d.key not in from_applicant]
    documents = list(procedure.documents.all())
    for document in documents:  # what was typed about each paper, shown again on a refusal
        document.typed = {
            key: request.POST.get(f"{key}_{document.pk}", "")
            for key in ("noscan", "scan_number", "scan_date", "scan_issuer")
        }
    looking_up = request.method == "POST" and "lookup" in request.POST
    data = None if request.method == "GET" or looking_up else request.POST
    initial = {"channel": 1, "delivery": Dossier.Delivery.COUNTER}
    answers_initial = {}
    if looking_up:
        initial.update(_posted(request.POST, ApplicantForm.base_fields))
        answers_initial = _posted(request.POST, {f"f_{d.key}" for d in asked})
        found = _earlier_applicant(request, request.POST.get("id_number", ""))
        initial.update(found or {})
    applicant_form = ApplicantForm(data, initial=initial)
    answers_form = _answers_form(data, asked, initial=answers_initial)
    context = {
        "procedure": procedure,
        "applicant_form": applicant_form,
        "answers_form": answers_form,
        "documents": documents,
        "agency": agencies.first(),
        "from_applicant": [d.label for d in definitions if d.key in from_applicant],
    }
    if looking_up:
        context["lookup_found"] = found is not None
        return render(request, "office/intake.html", context)
    if request.method == "GET":
        return render(request, "office/intake.html", context)
    seen = [d.pk for d in documents if request.POST.get(f"seen_{d.pk}")]
    if not (applicant_form.is_valid() and answers_form.is_valid()):
        return render(request, "office/intake.html", context, status=400)
    # Every file is checked before anything is written: a refused file leaves no dossier and no
    # stored file behind, and all refusals are reported at once.
    checked, problems = checked_uploads(request, documents)
    if problems:
        context["errors"] = problems
        messages.error(request, _("Một số tệp không được chấp nhận; vui lòng xem bên dưới."))
        return render(request, "office/intake.html", context, status=400)
    scans, reasons, details = _digitisation(request, documents, checked)
    bad_dates = [d.name[:80] for d in documents if details.get(d.pk, {}).get("issued_on") is False]
    if bad_dates:
        context["errors"] = [
            _("%(name)s: ngày cấp không hợp lệ.") % {"name": name} for name in bad_dates
        ]
        return render(request, "office/intake.html", context, status=400)
    actor = Actor.from_request(request)
    applicant = applicant_form.applicant()
    answers = {k.removeprefix("f_"): _plain(v) for k, v in answers_form.cleaned_data.items()}
    answers.update({key: applicant[source] for key, source in from_applicant.items()})
    try:
        with transaction.atomic():
            dossier = services.dossier_intake(
                actor=actor,
                procedure=procedure,
                agency=agencies.first(),
                applicant=applicant,
                form_data=answers,
                papers_seen=seen,
                channel=applicant_form.cleaned_data["channel"],
                requested_delivery=applicant_form.cleaned_data["delivery"],
                scans=scans,
                no_scan_reasons=reasons,
                scan_details=details,
            )
    except ValidationFailed as error:
        for field, problems in error.fields.items():
            target = f"f_{field}" if f"f_{field}" in answers_form.fields else None
            if target is None and field in from_applicant:
                target = from_applicant[field]  # a question answered by the applicant block
            for problem in problems:
                if target and target in answers_form.fields:
                    answers_form.add_error(target, problem)
                elif target and target in applicant_form.fields:
                    applicant_form.add_error(target, problem)
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


def _digitisation(request, documents, checked) -> tuple[dict, dict, dict]:
    """Per paper handed in: its scan (checked), or why it was not scanned, and what the official
    read on it (number, date, issuer) for the documents store."""
    reasons, details = {}, {}
    for document in documents:
        if document.kind != ProcedureDocument.Kind.SUBMIT:
            continue
        reasons[document.pk] = request.POST.get(f"noscan_{document.pk}", "")
        issued_on = request.POST.get(f"scan_date_{document.pk}", "")
        try:
            issued_on = dt.date.fromisoformat(issued_on) if issued_on else None
        except ValueError:
            issued_on = False  # said as an error before anything is written
        details[document.pk] = {
            "number": request.POST.get(f"scan_number_{document.pk}", "").strip(),
            "issued_on": issued_on,
            "issuer": request.POST.get(f"scan_issuer_{document.pk}", "").strip(),
        }
    return checked, reasons, details


def _posted(post, names) -> dict:
    """The values typed so far, to show again (unchecked) around a look-up."""
    return {name: post.get(name) for name in names if post.get(name)}


def _earlier_applicant(request, id_number: str) -> dict | None:
    """The applicant block of the latest dossier with this ID number among the dossiers the
    official's agencies hold (None: none, or not an ID number). Reading it shows a person's
    data, so it goes to the access log like any other read of a dossier."""
    id_number = id_number.strip()
    if not is_id_number(id_number):
        messages.error(request, _("Nhập đủ 12 chữ số của số định danh cá nhân để tra cứu."))
        return None
    earlier = (
        apply_filters(queues.office_dossiers(request.user), {"q": id_number})
        .order_by("-submitted_at", "-id")
        .first()
    )
    if earlier is None:
        messages.info(
            request,
            _("Chưa có hồ sơ nào của số định danh %(id)s tại cơ quan; vui lòng nhập thông tin.")
            % {"id": id_number},
        )
        return None
    access.record_staff_read(
        actor=Actor.from_request(request), dossier=earlier, purpose=access.Purpose.INTAKE_LOOKUP
    )
    messages.success(
        request,
        _("Đã điền thông tin người nộp theo hồ sơ %(code)s; vui lòng đối chiếu với giấy tờ.")
        % {"code": earlier.code},
    )
    return {k: v for k, v in earlier.applicant.items() if k in APPLICANT_FIELDS and v}


def _answers_form(data, definitions, initial=None):
    from django import forms

    form = forms.Form(data, initial=initial)
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
