"""The citizen's own dossiers: apply (draft, upload, submit), follow, supplement, withdraw,
rate, download files and slips. Every lookup goes through `my_dossiers()`, so another person's
dossier answers 404 on every page, file and PDF."""

from __future__ import annotations

import uuid

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.http import FileResponse, Http404
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods, require_POST

from dossiers import (
    appointment,
    clock,
    filecheck,
    identity,
    payment,
    services,
    signatures,
    slips,
)
from dossiers.errors import ChangedMeanwhile, DomainError, ValidationFailed
from dossiers.models import Attachment, Channel, Dossier, Procedure, ProcedureDocument
from dossiers.permissions import (
    available_actions,
    result_visible_to_applicant,
    reusable_documents,
    visible_dossiers,
)
from dossiers.services import Actor
from dossiers.timeline import citizen_timeline
from dossiers.workflow import Action, Status
from dossiers.worktime import WorkCalendar
from onestop.web import answer_domain_error

from ..forms import ApplicationForm, RatingForm, SupplementForm, WithdrawForm


def my_dossiers(user):
    """The citizen's own dossiers, through the one visibility rule."""
    return visible_dossiers(user).filter(applicant_user=user)


def _mine(request, pk) -> Dossier:
    return get_object_or_404(
        my_dossiers(request.user).select_related("procedure", "receiving_agency"), pk=pk
    )


def _detail_url(dossier) -> str:
    return reverse("citizens:dossier_detail", args=[dossier.pk])


# --- list and detail -----------------------------------------------------------------------


@login_required
def dossier_list(request):
    dossiers = my_dossiers(request.user).select_related("procedure", "receiving_agency")
    status = request.GET.get("status", "")
    if status in Status.values:
        dossiers = dossiers.filter(status=status)
    page = Paginator(dossiers.order_by("-created_at", "-id"), 20).get_page(request.GET.get("page"))
    calendar, now = WorkCalendar.current(), clock.now()
    rows = [
        {
            "dossier": d,
            "overdue": d.is_overdue(now),
            "due_soon": d.is_due_soon(now, calendar),
            "appointment": appointment.current(d, with_since=False),
        }
        for d in page
    ]
    return render(
        request,
        "citizens/dossier_list.html",
        {"page": page, "rows": rows, "status": status, "statuses": Status.choices},
    )


@login_required
def dossier_detail(request, pk):
    dossier = _mine(request, pk)
    if dossier.status == Status.DRAFT:
        return redirect("citizens:dossier_edit", pk=dossier.pk)
    attachments = dossier.attachments.select_related("document").exclude(file="")
    if not result_visible_to_applicant(dossier):
        attachments = attachments.exclude(purpose=Attachment.Purpose.RESULT)
    requested = ProcedureDocument.objects.filter(pk__in=dossier.requested_documents)
    now = clock.now()
    may = available_actions(request.user, dossier)
    results = [a for a in attachments if a.purpose == Attachment.Purpose.RESULT]
    signed = signatures.signatures_of(results)
    for result in results:
        result.signature = signed.get(result.pk)
    context = {
        "dossier": dossier,
        "timeline": citizen_timeline(dossier),
        "attachments": [a for a in attachments if a.purpose != Attachment.Purpose.RESULT],
        "results": results,
        "slips": slips.listing(dossier),
        "appointment": appointment.current(dossier),
        **payment.page_context(dossier),  # the fee section (citizens/_payment.html)
        "overdue": dossier.is_overdue(now),
        "due_soon": dossier.is_due_soon(now, WorkCalendar.current()),
        "can_withdraw": Action.WITHDRAW in may,
        "can_rate": Action.RATE in may,
        "requested": requested,
        "supplement_form": SupplementForm(initial={"version": dossier.version}),
        "rating_form": RatingForm(initial={"version": dossier.version}),
    }
    response = render(request, "citizens/dossier_detail.html", context)
    if context["pay_online"]:
        # "Pay online" posts here and is redirected to the gateway: the CSP's form-action
        # must name the gateway's origin on this page (and only on this page).
        response._csp_update = {"form-action": [payment.gateway_origin()]}
    return response


# --- apply ---------------------------------------------------------------------------------


def _documents_for_upload(procedure):
    return [
        d
        for d in procedure.documents.all()
        if d.kind == ProcedureDocument.Kind.SUBMIT and d.applies_to(Channel.ONLINE)
    ]


def _initial_answers(request, procedure) -> dict:
    profile = getattr(request.user, "citizen_profile", None)
    snapshot = profile.snapshot() if profile else {}
    return {
        f"f_{f.key}": snapshot.get(f.profile_source)
        for f in procedure.fields.all()
        if f.profile_source and snapshot.get(f.profile_source)
    }


def _render_apply(request, procedure, form, dossier=None, upload_errors=None, status=200):
    documents = _documents_for_upload(procedure)
    attached = {}
    if dossier is not None:
        for attachment in dossier.attachments.filter(purpose=Attachment.Purpose.APPLICATION):
            attached.setdefault(attachment.document_id, []).append(attachment)
    on_file = list(services.documents_on_file(request.user).exclude(dossier=dossier)[:50])
    stored = _stored_for(request.user, documents)
    chosen = {d.pk: request.POST.get(f"stored_{d.pk}", "") for d in documents}
    rows = [
        {
            "document": doc,
            "attached": attached.get(doc.pk, []),
            "errors": (upload_errors or {}).get(doc.pk, []),
            "stored": [e for e in stored if e.document_type_id == doc.document_type_id],
            "chosen": chosen[doc.pk],
        }
        for doc in documents
    ]
    return render(
        request,
        "citizens/apply.html",
        {
            "procedure": procedure,
            "form": form,
            "dossier": dossier,
            "rows": rows,
            "on_file": on_file,
            "shown": [
                d for d in procedure.documents.all() if d.kind == ProcedureDocument.Kind.PRESENT
            ],
            "client_token": request.POST.get("client_token") or uuid.uuid4().hex,
        },
        status=status,
    )


def _stored_for(user, documents) -> list:
    """The user's own documents in the store of the types these papers are (one query): what
    the form offers instead of an upload ("dùng giấy tờ đã có")."""
    types = {d.document_type_id for d in documents if d.document_type_id}
    if not types:
        return []
    return list(
        reusable_documents(user)
        .filter(document_type_id__in=types)
        .order_by("-issued_on", "-id")[:50]
    )


@login_required
@require_http_methods(["GET", "POST"])
def apply(request, code):
    """A new application: the first save (or submit) creates the draft."""
    procedure = get_object_or_404(Procedure, code=code, active=True)
    if not procedure.accepts(Channel.ONLINE):
        messages.error(request, _("Thủ tục này chỉ tiếp nhận hồ sơ trực tiếp tại bộ phận một cửa."))
        return redirect("citizens:procedure_detail", code=code)
    if not hasattr(request.user, "citizen_profile"):
        messages.error(request, _("Vui lòng dùng tài khoản công dân để nộp hồ sơ."))
        return redirect("citizens:procedure_detail", code=code)
    needs_eid = _needs_eid(request, procedure)
    if needs_eid:
        return needs_eid
    definitions = procedure.fields.all()
    vouched = services.identity_answers(procedure, request.user)
    if request.method == "GET":
        initial = _initial_answers(request, procedure)
        agency = request.GET.get("agency")
        if agency and agency.isdigit():
            initial["agency"] = agency
        form = ApplicationForm(
            initial=initial, procedure=procedure, definitions=definitions, identity=vouched
        )
        return _render_apply(request, procedure, form)
    form = ApplicationForm(
        request.POST, procedure=procedure, definitions=definitions, identity=vouched
    )
    form.is_valid()
    agency = form.cleaned_data.get("agency")
    if agency is None:
        return _render_apply(request, procedure, form, status=400)
    checked = {}
    client_token = request.POST.get("client_token", "")[:64]
    first_draft = not (
        client_token and my_dossiers(request.user).filter(client_token=client_token).exists()
    )
    if request.POST.get("intent") == "submit" and first_draft:
        # Submitted at once: what is missing is said before any draft exists, so a refused
        # submission leaves none behind (the page keeps its token: one draft per attempt).
        checked = _check_first_submission(request, procedure, form)
        if not isinstance(checked, dict):
            return checked
    try:
        dossier = services.dossier_create_draft(
            actor=Actor.from_request(request),
            procedure=procedure,
            receiving_agency=agency,
            form_data=form.answers(),
            client_token=request.POST.get("client_token", ""),
            requested_delivery=form.delivery_choice() or "",
        )
    except ValidationFailed as error:
        _put_errors(form, error)
        return _render_apply(request, procedure, form, status=400)
    if dossier.status != Status.DRAFT:  # this form was already submitted once
        messages.info(request, _("Hồ sơ này đã được nộp."))
        return redirect(_detail_url(dossier))
    return _save_draft(request, dossier, form, checked)


def _needs_eid(request, procedure):
    """The page saying this procedure asks for an e-ID login (with the button to log in with
    it and come back), or None when the session's login is enough."""
    problem = identity.eid_problem(procedure, Actor.from_request(request).eid_acr)
    if problem is None:
        return None
    return render(
        request,
        "citizens/eid_required.html",
        {"procedure": procedure, "problem": problem, "next": request.get_full_path()},
        status=403,
    )


def _check_first_submission(request, procedure, form):
    """The checked files of a new application submitted at once, or the page saying every gap
    (answers, required documents, files), with no draft made."""
    documents = _documents_for_upload(procedure)
    uploads = {
        d.pk: request.FILES[f"doc_{d.pk}"] for d in documents if f"doc_{d.pk}" in request.FILES
    }
    on_file = services.documents_on_file(request.user)
    upload_errors: dict[int, list[str]] = {}
    stored = {e.pk: e for e in _stored_for(request.user, documents)}
    from_store = []
    for d in documents:
        choice = request.POST.get(f"stored_{d.pk}", "")
        if d.pk in uploads or not choice:
            continue
        entry = stored.get(int(choice)) if choice.isdecimal() and choice.isascii() else None
        if entry is None or entry.document_type_id != d.document_type_id:
            upload_errors[d.pk] = [_("Không tìm thấy giấy tờ đã chọn trong kho giấy tờ của bạn.")]
        else:
            from_store.append(d.pk)
    reused = from_store + [
        d.pk
        for d in documents
        if d.pk not in uploads
        and d.pk not in from_store
        and request.POST.get(f"reuse_{d.pk}", "").isdigit()
        and on_file.filter(pk=int(request.POST[f"reuse_{d.pk}"])).exists()
    ]
    checked, refused = {}, False
    try:
        checked = services.check_first_submission(
            procedure=procedure, form_data=form.answers(), uploads=uploads, reused=reused
        )
    except ValidationFailed as error:
        refused = True
        missing = error.fields.pop("documents", [])
        for doc in documents:
            problems = error.fields.pop(f"file_{doc.pk}", [])
            if doc.name in missing and doc.pk not in upload_errors:
                problems.append(_("Giấy tờ bắt buộc: vui lòng tải lên."))
            if problems:
                upload_errors.setdefault(doc.pk, []).extend(problems)
        _put_errors(form, error)
    if not (refused or form.errors or upload_errors):
        return checked
    messages.error(
        request,
        _("Hồ sơ chưa đủ để nộp; vui lòng xem các thông báo bên dưới. Chưa có gì được lưu."),
    )
    if uploads:
        messages.warning(request, _("Các tệp bạn đã chọn chưa được lưu: vui lòng chọn lại."))
    return _render_apply(request, procedure, form, None, upload_errors, status=400)


@login_required
@require_http_methods(["GET", "POST"])
def dossier_edit(request, pk):
    dossier = _mine(request, pk)
    if dossier.status != Status.DRAFT:
        if request.method == "POST":
            messages.info(request, _("Hồ sơ này đã được nộp."))
        return redirect(_detail_url(dossier))
    procedure = dossier.procedure
    needs_eid = _needs_eid(request, procedure)
    if needs_eid:
        return needs_eid
    definitions = procedure.fields.all()
    vouched = services.identity_answers(procedure, request.user)
    if request.method == "GET":
        initial = {f"f_{k}": v for k, v in dossier.form_data.items()}
        initial["agency"] = dossier.receiving_agency_id
        if dossier.requested_delivery:
            initial["delivery"] = dossier.requested_delivery
        form = ApplicationForm(
            initial=initial,
            procedure=procedure,
            definitions=definitions,
            lock_agency=True,
            identity=vouched,
        )
        return _render_apply(request, procedure, form, dossier)
    # The place of filing is fixed once the draft exists (a disabled field takes its initial).
    form = ApplicationForm(
        request.POST,
        initial={"agency": dossier.receiving_agency_id},
        procedure=procedure,
        definitions=definitions,
        lock_agency=True,
        identity=vouched,
    )
    form.is_valid()
    return _save_draft(request, dossier, form)


def _put_errors(form, error: ValidationFailed) -> None:
    for key, problems in error.fields.items():
        name = f"f_{key}" if f"f_{key}" in form.fields else None
        for problem in problems:
            if name is None or name not in form.errors:
                form.add_error(name, problem)


def _save_draft(request, dossier: Dossier, form: ApplicationForm, checked=None):
    """Store what is valid (answers, files), report the rest next to its field, submit if asked.
    `checked` holds the files already checked (by document id), stored as they are."""
    actor = Actor.from_request(request)
    procedure = dossier.procedure
    upload_errors: dict[int, list[str]] = {}
    try:
        dossier = services.dossier_update_draft(
            actor=actor,
            dossier=dossier,
            form_data=form.answers(),
            requested_delivery=form.delivery_choice(),
        )
    except DomainError as error:
        return answer_domain_error(request, error, back=_detail_url(dossier))
    documents = {d.pk: d for d in _documents_for_upload(procedure)}
    for doc_id, document in documents.items():
        upload = (checked or {}).get(doc_id) or request.FILES.get(f"doc_{doc_id}")
        reuse = request.POST.get(f"reuse_{doc_id}", "")
        from_store = request.POST.get(f"stored_{doc_id}", "")
        try:
            if upload:
                services.attachment_add(
                    actor=actor, dossier=dossier, upload=upload, document=document
                )
            elif from_store:
                services.attachment_reuse_stored(
                    actor=actor, dossier=dossier, stored_id=from_store, document=document
                )
            elif reuse.isdigit():
                source = services.documents_on_file(request.user).filter(pk=int(reuse)).first()
                if source is None:
                    raise ValidationFailed(fields={"file": [_("Không tìm thấy tài liệu đã chọn.")]})
                services.attachment_reuse(
                    actor=actor, dossier=dossier, source=source, document=document
                )
        except ValidationFailed as error:
            upload_errors[doc_id] = [p for problems in error.fields.values() for p in problems] or [
                str(error.message)
            ]
    remove = request.POST.get("remove", "")
    if remove.isdigit():
        _remove_draft_attachment(request, dossier, int(remove))
    if form.errors or upload_errors:
        messages.error(
            request, _("Một số thông tin chưa hợp lệ; vui lòng xem các thông báo bên dưới.")
        )
        return _render_apply(request, procedure, form, dossier, upload_errors, status=400)
    if request.POST.get("intent") != "submit":
        messages.success(request, _("Đã lưu nháp. Bạn có thể quay lại nộp sau."))
        return redirect("citizens:dossier_edit", pk=dossier.pk)
    try:
        dossier = services.dossier_submit(actor=actor, dossier=Dossier.objects.get(pk=dossier.pk))
    except ChangedMeanwhile:
        messages.info(request, _("Hồ sơ này đã được nộp."))
        return redirect(_detail_url(dossier))
    except ValidationFailed as error:
        missing = error.fields.pop("documents", [])
        for doc in documents.values():
            if doc.name in missing:
                upload_errors.setdefault(doc.pk, []).append(
                    _("Giấy tờ bắt buộc: vui lòng tải lên.")
                )
        _put_errors(form, error)
        messages.error(request, error.message)
        return _render_apply(request, procedure, form, dossier, upload_errors, status=400)
    except DomainError as error:
        return answer_domain_error(request, error, back=_detail_url(dossier))
    messages.success(
        request,
        _("Đã nộp hồ sơ. Mã hồ sơ của bạn: %(code)s. Hãy tải giấy tiếp nhận bên dưới.")
        % {"code": dossier.code},
    )
    return redirect(_detail_url(dossier))


def _remove_draft_attachment(request, dossier, attachment_id) -> None:
    """A draft's file can be taken out before submission (the row stays in history)."""
    removed = dossier.attachments.filter(pk=attachment_id, purpose=Attachment.Purpose.APPLICATION)
    if removed.exists():
        services.attachment_detach(
            actor=Actor.from_request(request), dossier=dossier, attachment=removed.get()
        )


# --- actions on a filed dossier --------------------------------------------------------------


def _run(request, dossier, service, **kwargs):
    try:
        service(actor=Actor.from_request(request), dossier=dossier, **kwargs)
    except DomainError as error:
        return answer_domain_error(request, error, back=_detail_url(dossier))
    return None


@login_required
@require_POST
def supplement(request, pk):
    dossier = _mine(request, pk)
    form = SupplementForm(request.POST)
    if not form.is_valid():
        messages.error(request, _("Biểu mẫu không hợp lệ; vui lòng thử lại."))
        return redirect(_detail_url(dossier))
    try:
        problems = services.attach_requested(
            actor=Actor.from_request(request), dossier=dossier, uploads=request.FILES
        )
    except DomainError as error:
        return answer_domain_error(request, error, back=_detail_url(dossier))
    if problems:
        for problem in problems:
            messages.error(request, problem)
        return redirect(_detail_url(dossier))
    failed = _run(
        request,
        dossier,
        services.dossier_supplement,
        note=form.cleaned_data["note"],
        expected_version=form.cleaned_data["version"],
    )
    if failed:
        return failed
    messages.success(request, _("Đã gửi hồ sơ bổ sung."))
    return redirect(_detail_url(dossier))


@login_required
@require_http_methods(["GET", "POST"])
def withdraw(request, pk):
    dossier = _mine(request, pk)
    if Action.WITHDRAW not in available_actions(request.user, dossier):
        messages.error(request, _("Hồ sơ ở trạng thái này không thể rút."))
        return redirect(_detail_url(dossier))
    form = WithdrawForm(request.POST or None, initial={"version": dossier.version})
    if request.method == "POST" and form.is_valid():
        failed = _run(
            request,
            dossier,
            services.dossier_withdraw,
            reason=form.cleaned_data["reason"],
            expected_version=form.cleaned_data["version"],
        )
        if failed:
            return failed
        messages.success(request, _("Đã rút hồ sơ."))
        return redirect(_detail_url(dossier))
    return render(request, "citizens/withdraw.html", {"dossier": dossier, "form": form})


@login_required
@require_POST
def rate(request, pk):
    dossier = _mine(request, pk)
    form = RatingForm(request.POST)
    if not form.is_valid():
        messages.error(request, _("Vui lòng chọn mức độ hài lòng."))
        return redirect(_detail_url(dossier))
    failed = _run(
        request,
        dossier,
        services.dossier_rate,
        rating=form.cleaned_data["rating"],
        comment=form.cleaned_data["comment"],
        expected_version=form.cleaned_data["version"],
    )
    if failed:
        return failed
    messages.success(request, _("Cảm ơn bạn đã đánh giá."))
    return redirect(_detail_url(dossier))


# --- files ---------------------------------------------------------------------------------


@login_required
def attachment_download(request, pk, attachment_id):
    dossier = _mine(request, pk)
    attachment = get_object_or_404(dossier.attachments.exclude(file=""), pk=attachment_id)
    if attachment.purpose == Attachment.Purpose.RESULT and not result_visible_to_applicant(dossier):
        raise Http404()
    content_type, _inline = filecheck.served_type(attachment.content_type)
    return FileResponse(  # nosniff: SecurityMiddleware (SECURE_CONTENT_TYPE_NOSNIFF)
        attachment.file.open("rb"),
        as_attachment=True,
        filename=filecheck.download_name(
            attachment.original_name, content_type, f"tai-lieu-{attachment.pk}"
        ),
        content_type=content_type,
    )


@login_required
def slip_download(request, pk, kind, seq=None):
    """A slip: the newest of its kind, or the version documenting event `seq`."""
    dossier = _mine(request, pk)
    if kind not in slips.available_kinds(dossier):
        raise Http404()
    slip = slips.slip_for(dossier, kind, seq)
    return FileResponse(
        slip.file.open("rb"),
        as_attachment=False,
        filename=f"{kind}-{dossier.code}{f'-{seq}' if seq else ''}.pdf",
        content_type="application/pdf",
    )
