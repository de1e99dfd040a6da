"""The office's bank statement import (reception of the receiving agency): upload the account's
statement (CSV, dossiers/statements.py), see which lines match a dossier waiting for payment,
then record the matched ones. The preview writes nothing; the file travels back with the
confirmation (a hidden field), is read and matched again, and only then recorded."""

from __future__ import annotations

from django.contrib import messages
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_http_methods, require_POST

from onestop.web import answer_domain_error, forbidden, role_required

from .. import statements
from ..errors import DomainError
from ..models import Agency
from ..permissions import agency_ids_with_role, is_official
from ..services import Actor
from ..services.payments import filing_fee_record_at_counter
from ..workflow import Role
from . import queues

RECEPTION_ONLY = gettext_lazy("Chỉ cán bộ một cửa được nhập sao kê ngân hàng.")


@role_required(is_official, gettext_lazy("Trang này dành cho cán bộ."))
@require_http_methods(["GET", "POST"])
def statement_import(request):
    agencies = list(
        Agency.objects.filter(pk__in=agency_ids_with_role(request.user, Role.RECEPTION)).order_by(
            "name"
        )
    )
    if not agencies:
        return forbidden(request, RECEPTION_ONLY)
    context = {"agencies": agencies, "agency": agencies[0]}
    if request.method == "GET":
        return render(request, "office/statement_import.html", context)
    chosen = next((a for a in agencies if str(a.pk) == request.POST.get("agency")), None)
    if chosen is None:
        return render(
            request,
            "office/statement_import.html",
            {**context, "error": _("Vui lòng chọn cơ quan.")},
            status=400,
        )
    context["agency"] = chosen
    if request.POST.get("step") == "confirm":
        content = request.POST.get("content", "").encode("utf-8")
        try:
            result = statements.record_statement(
                actor=Actor.from_request(request), agency=chosen, content=content
            )
        except statements.StatementError as error:
            return render(
                request, "office/statement_import.html", {**context, "error": error}, status=400
            )
        except DomainError as error:
            return answer_domain_error(request, error, back=request.path)
        messages.success(
            request,
            _(
                "Đã ghi nhận %(recorded)s khoản nộp; %(already)s giao dịch đã ghi nhận trước đó; "
                "%(refused)s dòng sai số tiền bị từ chối; %(skipped)s dòng không khớp."
            )
            % {
                "recorded": len(result.recorded),
                "already": result.already,
                "refused": result.refused,
                "skipped": result.skipped,
            },
        )
        return redirect("office:statement_import")
    upload = request.FILES.get("statement")
    if upload is None:
        return render(
            request,
            "office/statement_import.html",
            {**context, "error": _("Vui lòng chọn tệp sao kê (CSV).")},
            status=400,
        )
    content = upload.read(statements.MAX_BYTES + 1)
    try:
        statement = statements.parse(content)
    except statements.StatementError as error:
        return render(
            request, "office/statement_import.html", {**context, "error": error}, status=400
        )
    rows = statements.match(statement, chosen)
    return render(
        request,
        "office/statement_import.html",
        {
            **context,
            "rows": rows,
            "matched": sum(r.status == statements.LineStatus.MATCHED for r in rows),
            "content": content.decode("utf-8-sig"),
            "filename": upload.name,
        },
    )


@role_required(is_official, gettext_lazy("Trang này dành cho cán bộ."))
@require_POST
def filing_fee_counter(request, pk: int):
    """Reception records the fee due at filing of an online filing, paid at the counter."""
    dossier = get_object_or_404(queues.office_dossiers(request.user), pk=pk)
    back = reverse("office:dossier", args=[dossier.pk]) + "#payment"
    try:
        paid = filing_fee_record_at_counter(
            actor=Actor.from_request(request),
            dossier=dossier,
            receipt_number=request.POST.get("receipt_number", ""),
        )
    except DomainError as error:
        return answer_domain_error(request, error, back=back)
    messages.success(
        request,
        _("Đã ghi nhận phí, lệ phí nộp tại quầy; biên lai điện tử số %(number)s.")
        % {"number": paid.receipt_number},
    )
    return redirect(back)
