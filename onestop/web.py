"""What every audience's pages share: how they answer domain errors (404 for not visible, 403
with the reason, and for a stale or out-of-status action a message and a fresh page; never a
500), role-gated views, and table downloads."""

from collections.abc import Iterable
from functools import wraps

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpResponse, StreamingHttpResponse
from django.shortcuts import redirect, render

from dossiers.errors import ChangedMeanwhile, DomainError, Forbidden, InvalidTransition, NotFound
from dossiers.exports import COLUMNS, csv_lines, xlsx_bytes


def answer_domain_error(request, error: DomainError, *, back: str):
    if isinstance(error, NotFound):
        raise Http404(str(error.message))
    if isinstance(error, Forbidden):
        return render(request, "403.html", {"reason": error.message}, status=403)
    if isinstance(error, ChangedMeanwhile | InvalidTransition):
        messages.error(request, error.message)
        return redirect(back)
    messages.error(request, error.message)
    for problems in error.fields.values():
        for problem in problems:
            messages.error(request, problem)
    return redirect(back)


def forbidden(request, reason):
    """403 with the reason, in the site's page."""
    return render(request, "403.html", {"reason": reason}, status=403)


def role_required(has_role, reason):
    """A view for users `has_role(user)` accepts: others get 403 with `reason`, anonymous users
    are sent to log in."""

    def decorator(view):
        @login_required
        @wraps(view)
        def wrapped(request, *args, **kwargs):
            if not has_role(request.user):
                return forbidden(request, reason)
            return view(request, *args, **kwargs)

        return wrapped

    return decorator


XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def table_response(name: str, fmt: str, rows: Iterable[list], columns: list[str] = COLUMNS):
    """A download of `rows`: CSV streamed line by line, or XLSX (write-only workbook)."""
    if fmt == "csv":
        response = StreamingHttpResponse(
            csv_lines(rows, columns), content_type="text/csv; charset=utf-8"
        )
    elif fmt == "xlsx":
        response = HttpResponse(xlsx_bytes(rows, columns), content_type=XLSX)
    else:
        raise Http404()
    response["Content-Disposition"] = f'attachment; filename="{name}.{fmt}"'
    return response
