"""Assisted filing at the counter (/office/assisted/): reception files online on a citizen's
behalf (services.dossier_file_assisted). Counter intake sends an online-only procedure here
(office/online_only.html). Kept apart from views.py's counter intake, whose helpers it
borrows."""

from __future__ import annotations

from django.contrib import messages
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods

from onestop.web import answer_domain_error, forbidden

from .. import services
from ..errors import DomainError, ValidationFailed
from ..models import Channel, Dossier, Procedure, ProcedureDocument
from ..services import Actor
from ..validators import APPLICANT_FIELDS
from .forms import AssistedApplicantForm
from .views import (
    RECEPTION_ONLY,
    _answers_form,
    _dossier_url,
    _plain,
    _reception_agencies,
    checked_uploads,
    official_required,
)


@official_required
def assisted_choose(request):
    if not _reception_agencies(request.user):
        return forbidden(request, RECEPTION_ONLY)
    code = request.GET.get("procedure", "")
    if code:
        return redirect("office:assisted", code=code)
    procedures = Procedure.objects.filter(active=True).order_by("sector", "name")
    online = [p for p in procedures if p.accepts(Channel.ONLINE)]
    return render(request, "office/assisted_choose.html", {"procedures": online})


@official_required
@require_http_methods(["GET", "POST"])
def assisted(request, code):
    procedure = get_object_or_404(Procedure, code=code, active=True)
    agencies = _reception_agencies(request.user)
    if not agencies:
        return forbidden(request, RECEPTION_ONLY)
    definitions = list(procedure.fields.all())
    from_applicant = {
        d.key: d.profile_source for d in definitions if d.profile_source in APPLICANT_FIELDS
    }
    asked = [d for d in definitions if d.key not in from_applicant]
    documents = [
        d
        for d in procedure.documents.all()
        if d.kind == ProcedureDocument.Kind.SUBMIT and d.applies_to(Channel.ONLINE)
    ]
    data = request.POST if request.method == "POST" else None
    applicant_form = AssistedApplicantForm(data, initial={"delivery": Dossier.Delivery.ELECTRONIC})
    answers_form = _answers_form(data, asked)
    context = {
        "procedure": procedure,
        "applicant_form": applicant_form,
        "answers_form": answers_form,
        "documents": documents,
        "agency": agencies.first(),
        "from_applicant": [d.label for d in definitions if d.key in from_applicant],
        "accepts_online": procedure.accepts(Channel.ONLINE),
    }
    if request.method == "GET":
        return render(request, "office/assisted.html", context)
    if not (applicant_form.is_valid() and answers_form.is_valid()):
        return render(request, "office/assisted.html", context, status=400)
    scans, problems = checked_uploads(request, documents)
    if problems:
        context["errors"] = problems
        messages.error(request, _("Một số tệp không được chấp nhận; vui lòng xem bên dưới."))
        return render(request, "office/assisted.html", context, status=400)
    applicant = applicant_form.applicant()
    answers = {k.removeprefix("f_"): _plain(v) for k, v in answers_form.cleaned_data.items()}
    try:
        dossier = services.dossier_file_assisted(
            actor=Actor.from_request(request),
            procedure=procedure,
            agency=agencies.first(),
            id_number=applicant.pop("id_number"),
            applicant=applicant,
            form_data=answers,
            scans=scans,
            requested_delivery=applicant_form.cleaned_data.get("delivery") or "",
        )
    except ValidationFailed as error:
        for field, found in error.fields.items():
            for problem in found:
                if f"f_{field}" in answers_form.fields:
                    answers_form.add_error(f"f_{field}", problem)
                elif from_applicant.get(field) in applicant_form.fields:
                    applicant_form.add_error(from_applicant[field], problem)
                elif field in applicant_form.fields:
                    applicant_form.add_error(field, problem)
                elif field == "documents":
                    context.setdefault("errors", []).append(
                        _("Cần bản chụp: %(name)s") % {"name": problem}
                    )
                else:
                    context.setdefault("errors", []).append(problem)
        messages.error(request, error.message)
        return render(request, "office/assisted.html", context, status=400)
    except DomainError as error:
        return answer_domain_error(request, error, back=reverse("office:queue"))
    messages.success(
        request,
        _(
            "Đã nộp trực tuyến thay công dân hồ sơ %(code)s; người nộp đã được thông báo. "
            "In giấy tiếp nhận và hẹn trả kết quả cho người nộp."
        )
        % {"code": dossier.code},
    )
    return redirect(_dossier_url(dossier))
