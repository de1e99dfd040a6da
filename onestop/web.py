"""What every audience's pages share: how they answer domain errors (404 for not visible, 403
with the reason, and for a stale or out-of-status action a message and a fresh page; never a
500), role-gated views, table downloads and the export pages."""

from collections.abc import Iterable
from functools import wraps

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import FileResponse, Http404, HttpResponse, StreamingHttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _

from dossiers import export_jobs
from dossiers.errors import ChangedMeanwhile, DomainError, Forbidden, InvalidTransition, NotFound
from dossiers.exports import COLUMNS, csv_lines, xlsx_bytes
from dossiers.replica import streamed_from_replica


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


# --- exports too large for a request -------------------------------------------------------------


def export_response(request, *, audience: str, kind: str, fmt: str, params: dict, name: str):
    """A table download: answered in the request when it is small (export_jobs.is_small), else
    asked of the worker, and the user sent to their export page to wait for it."""
    if fmt not in ("csv", "xlsx"):
        raise Http404()
    if export_jobs.is_small(request.user, kind, params):
        rows = export_jobs.rows(request.user, kind, params)
        if audience == "supervision":
            # Streamed after the view returned: the supervisors' rows still read from the replica.
            rows = streamed_from_replica(rows)
        return table_response(name, fmt, rows, columns=export_jobs.columns(kind))
    try:
        job = export_jobs.request_export(
            request.user, audience=audience, kind=kind, fmt=fmt, params=params, filename=name
        )
    except NotFound as error:
        raise Http404() from error
    messages.info(
        request,
        _(
            "Tệp %(name)s lớn, đang được tạo ở chế độ nền (yêu cầu #%(id)s). Trang này tự cập "
            "nhật; khi tệp sẵn sàng, bạn sẽ nhận thư báo và tải tệp tại đây."
        )
        % {"name": job.filename, "id": job.pk},
    )
    return redirect(f"{audience}:exports")


def export_list(request, audience: str):
    """The user's own exports from `audience`'s pages, with their progress; the page reloads
    itself while one is waiting or running (a meta refresh: no script)."""
    jobs = export_jobs.jobs_of(request.user, audience)
    return render(
        request,
        "exports.html",
        {
            "jobs": jobs,
            "audience": audience,
            "refresh": any(job.active for job in jobs),
            "keep_days": export_jobs.keep_days(),
        },
    )


def export_download(request, audience: str, pk: int):
    """The file of the user's own export (404 for anyone else's, or one not ready)."""
    try:
        job = export_jobs.downloadable(request.user, audience, pk)
    except NotFound as error:
        raise Http404() from error
    response = FileResponse(job.file.open("rb"), as_attachment=True, filename=job.filename)
    export_jobs.record_download(job)
    return response
