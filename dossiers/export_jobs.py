"""Exports that cannot time out: a small one is answered in the request, a large one is built by
the worker into a file of the default storage and downloaded from the requester's export page.

Small or large is decided by a bounded count (at most ONESTOP_EXPORT_STREAM_MAX_ROWS + 1 rows
are counted, never the whole table). A large export is an `ExportJob` written with its job
(`build_export`) in one transaction; its scope (the agencies, the period, the filters) is fixed
then, and the worker reads only what the requester sees (the one visibility rule) when it runs.
The worker writes the rows from a server-side cursor into a temporary file (CSV as UTF-8 with a
BOM, XLSX in openpyxl's write-only mode: memory stays flat whatever the size), moving the
progress on every PROGRESS_EVERY rows, then stores the file through the storage API
(`STORAGES["default"]`: a local directory or S3), with its size and SHA-256. The requester is
told by e-mail (`send_export_notice`) and on the page. Files are deleted by the worker's sweep
ONESTOP_EXPORT_KEEP_DAYS after they were built; the job row stays as the record of who exported
what, and of every download.

Retry-safe: a job claims its export with a conditional update; a second run of the same job
(its worker killed, the job put back) claims it again only once the first attempt's heartbeat
is older than ONESTOP_STALE_JOB_SECONDS, writes under another name, and only the newest attempt
may finish the export.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import logging
import tempfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass

from django.conf import settings
from django.core.files import File
from django.core.files.storage import default_storage
from django.core.mail import send_mail
from django.db import transaction
from django.db.models import F, Q
from django.utils import timezone, translation
from django.utils.translation import gettext as _
from django_tasks import task

from . import clock, exports, links
from .errors import NotFound
from .formatting import vn_datetime
from .models import ExportJob, export_path
from .permissions import export_agency_ids, may_export

log = logging.getLogger(__name__)

Kind, Format, Status = ExportJob.Kind, ExportJob.Format, ExportJob.Status

# The progress (and the heartbeat that tells a live attempt from a dead one) moves on this often.
PROGRESS_EVERY = 5000
# An e-mail notice that fails is tried again this many times (1 minute, doubling).
NOTICE_ATTEMPTS = 6
# Where each audience's export page is (for the e-mail notice; the domain does not reverse URLs).
EXPORT_PAGES = {"office": "/office/exports/", "supervision": "/supervision/exports/"}


class Superseded(Exception):
    """A newer attempt claimed the export: this one stops and keeps nothing."""


# --- what each kind of export reads --------------------------------------------------------------


@dataclass(frozen=True)
class Spec:
    columns: list[str]
    title: str
    # (requester, parameters) -> the ordered queryset of the rows
    queryset: Callable
    # that queryset -> the table's rows
    rows: Callable[..., Iterator[list]]


def _register_queryset(user, params: dict):
    return exports.register_queryset(
        agency_ids=params["agency_ids"],
        date_from=dt.date.fromisoformat(params["date_from"]),
        date_to=dt.date.fromisoformat(params["date_to"]),
        visible_to=user,
    )


def _audit_queryset(user, params: dict):
    return exports.audit_queryset(
        agency_ids=params["agency_ids"], filters=params.get("filters", {}), visible_to=user
    )


SPECS = {
    Kind.REGISTER: Spec(
        exports.COLUMNS, "Sổ theo dõi hồ sơ", _register_queryset, exports.register_table
    ),
    Kind.AUDIT: Spec(exports.AUDIT_COLUMNS, "Nhật ký", _audit_queryset, exports.audit_rows),
}


def _queryset(user, kind: str, params: dict):
    return SPECS[kind].queryset(user, params)


def columns(kind: str) -> list[str]:
    return SPECS[kind].columns


def rows(user, kind: str, params: dict) -> Iterator[list]:
    """The export's rows as `user` sees them, read in chunks (the request's own download)."""
    return SPECS[kind].rows(_queryset(user, kind, params))


def keep_days() -> float:
    return settings.ONESTOP_EXPORT_KEEP_DAYS


def stream_max_rows() -> int:
    return settings.ONESTOP_EXPORT_STREAM_MAX_ROWS


def is_small(user, kind: str, params: dict) -> bool:
    """Whether the export has at most ONESTOP_EXPORT_STREAM_MAX_ROWS rows: a count over a
    LIMIT subquery, so a province-year costs what the threshold costs, never a full count."""
    limit = stream_max_rows()
    queryset = _queryset(user, kind, params).order_by()
    return queryset.values("pk")[: limit + 1].count() <= limit


# --- asking for an export ------------------------------------------------------------------------


def request_export(
    user, *, audience: str, kind: str, fmt: str, params: dict, filename: str
) -> ExportJob:
    """Write the export and its job in one transaction (the job exists exactly when the export
    does). `params["agency_ids"]` is narrowed to the agencies `user` may export now."""
    if kind not in SPECS or fmt not in Format.values or not may_export(user, audience):
        raise NotFound()
    allowed = export_agency_ids(user, audience)
    params = {
        **params,
        "agency_ids": sorted(set(params["agency_ids"]) & allowed),
        # The labels in the file (statuses) in the language of the page that asked for it.
        "language": translation.get_language() or settings.LANGUAGE_CODE,
        # The address the notice's link points at, as the request knew it (dossiers/links.py).
        "public_url": links.public_base_url(),
    }
    with transaction.atomic():
        job = ExportJob.objects.create(
            requester=user,
            audience=audience,
            kind=kind,
            format=fmt,
            parameters=params,
            filename=f"{filename}.{fmt}"[:120],
            created_at=timezone.now(),
        )
        build_export.enqueue(job.pk)
    log.info("export %s (%s.%s) asked for by %s: %s", job.pk, kind, fmt, user.pk, params)
    return job


def jobs_of(user, audience: str, limit: int = 50) -> list[ExportJob]:
    """`user`'s own exports from `audience`'s pages, newest first."""
    return list(ExportJob.objects.filter(requester=user, audience=audience)[:limit])


def downloadable(user, audience: str, pk: int) -> ExportJob:
    """The export `pk` if it is `user`'s own, from `audience`'s pages, ready, and `user` may
    still export there; NotFound otherwise (someone else's export is not there at all)."""
    job = ExportJob.objects.filter(
        pk=pk, requester=user, audience=audience, status=Status.DONE
    ).first()
    if job is None or not job.file or not may_export(user, audience):
        raise NotFound()
    return job


def record_download(job: ExportJob) -> None:
    """Count the download on the export's row (the record of who took which personal data)."""
    ExportJob.objects.filter(pk=job.pk).update(
        download_count=F("download_count") + 1, last_downloaded_at=timezone.now()
    )
    log.info("export %s downloaded by %s", job.pk, job.requester_id)


# --- the worker's part ---------------------------------------------------------------------------


def _stale_before() -> dt.datetime:
    return timezone.now() - dt.timedelta(seconds=settings.ONESTOP_STALE_JOB_SECONDS)


def _claim(job_id: int) -> ExportJob | None:
    now = timezone.now()
    claimable = Q(status=Status.QUEUED) | Q(status=Status.RUNNING, heartbeat_at__lt=_stale_before())
    claimed = ExportJob.objects.filter(claimable, pk=job_id).update(
        status=Status.RUNNING,
        started_at=now,
        heartbeat_at=now,
        attempts=F("attempts") + 1,
        rows_done=0,
        error="",
    )
    return ExportJob.objects.select_related("requester").get(pk=job_id) if claimed else None


def _mine(job: ExportJob):
    """The export's row while `job`'s attempt is the newest and running."""
    return ExportJob.objects.filter(pk=job.pk, attempts=job.attempts, status=Status.RUNNING)


def _progressing(rows: Iterator[list], job: ExportJob) -> Iterator[list]:
    done = 0
    for row in rows:
        yield row
        done += 1
        moved = done % PROGRESS_EVERY or _mine(job).update(
            rows_done=done, heartbeat_at=timezone.now()
        )
        if not moved:
            raise Superseded()
    job.rows_done = done


def _hash(file) -> tuple[int, str]:
    file.seek(0)
    digest, size = hashlib.sha256(), 0
    while chunk := file.read(1 << 20):
        digest.update(chunk)
        size += len(chunk)
    file.seek(0)
    return size, digest.hexdigest()


@task()
def build_export(job_id: int) -> None:
    """The worker's job: build the export's file. Run twice, the second run finds the export
    done or claimed by a live attempt and does nothing."""
    job = _claim(job_id)
    if job is None:
        return  # done, failed, running elsewhere, or unknown
    for earlier in range(1, job.attempts):
        # A dead attempt may have stored its file before dying: not kept.
        default_storage.delete(export_path(_as_attempt(job, earlier), ""))
    stored = ""
    try:
        if not may_export(job.requester, job.audience):
            raise PermissionError("the requester may no longer export from these pages")
        spec = SPECS[job.kind]
        queryset = _queryset(job.requester, job.kind, job.parameters)
        _mine(job).update(rows_expected=queryset.order_by().count(), heartbeat_at=timezone.now())
        language = job.parameters.get("language") or settings.LANGUAGE_CODE
        with tempfile.TemporaryFile() as out, translation.override(language):
            table = _progressing(spec.rows(queryset), job)
            if job.format == Format.CSV:
                exports.write_csv(table, out, spec.columns)
            else:
                exports.write_xlsx(table, out, spec.columns, spec.title)
            size, sha256 = _hash(out)
            _mine(job).update(heartbeat_at=timezone.now())
            stored = default_storage.save(export_path(job, ""), File(out))
        now = timezone.now()
        with transaction.atomic():
            finished = _mine(job).update(
                status=Status.DONE,
                file=stored,
                size=size,
                sha256=sha256,
                rows_done=job.rows_done,
                finished_at=now,
                heartbeat_at=now,
                expires_at=now + dt.timedelta(days=settings.ONESTOP_EXPORT_KEEP_DAYS),
            )
            if finished:
                send_export_notice.enqueue(job.pk)
        if not finished:
            raise Superseded()
    except Superseded:
        if stored:
            default_storage.delete(stored)
        return
    except Exception as error:  # recorded on the export; asking again is one button away
        log.exception("export %s failed", job_id)
        if stored:
            default_storage.delete(stored)
        _mine(job).update(
            status=Status.FAILED,
            error=f"{type(error).__name__}: {error}"[:2000],
            finished_at=timezone.now(),
        )
        return
    log.info("export %s built: %s rows, %s bytes", job.pk, job.rows_done, size)


def _as_attempt(job: ExportJob, attempt: int) -> ExportJob:
    return ExportJob(token=job.token, format=job.format, attempts=attempt)


def _notice(job: ExportJob) -> tuple[str, str]:
    with translation.override(settings.LANGUAGE_CODE):
        subject = _("Tệp xuất dữ liệu đã sẵn sàng: %(name)s") % {"name": job.filename}
        base = job.parameters.get("public_url") or links.public_base_url()
        url = base + EXPORT_PAGES[job.audience]
        body = "\n".join(
            [
                _("Tệp %(name)s (%(rows)s dòng) đã được tạo lúc %(at)s.")
                % {"name": job.filename, "rows": job.rows_done, "at": vn_datetime(job.finished_at)},
                _("Tải tệp tại: %(url)s (sau khi đăng nhập; chỉ người yêu cầu tải được).")
                % {"url": url},
                _("Tệp sẽ bị xóa lúc %(at)s.") % {"at": vn_datetime(job.expires_at)},
            ]
        )
    return subject, body


@task()
def send_export_notice(job_id: int) -> None:
    """Tell the requester by e-mail that their export is ready (the page says it too). A
    requester without an e-mail address has the page only. Sent at least once."""
    job = (
        ExportJob.objects.filter(pk=job_id, status=Status.DONE, notified_at=None)
        .select_related("requester")
        .first()
    )
    if job is None:
        return
    if job.requester.email:
        subject, body = _notice(job)
        try:
            send_mail(subject, body, None, [job.requester.email], fail_silently=False)
        except Exception as error:  # any transport error: tried again a few times
            attempts = job.notice_attempts + 1
            ExportJob.objects.filter(pk=job_id).update(notice_attempts=attempts)
            log.warning("notice of export %s failed (attempt %s): %s", job_id, attempts, error)
            if attempts < NOTICE_ATTEMPTS:
                delay = clock.backoff(attempts, base=60, cap=3600)
                send_export_notice.using(run_after=timezone.now() + delay).enqueue(job_id)
            return
    ExportJob.objects.filter(pk=job_id).update(
        notified_at=timezone.now(), notice_attempts=job.notice_attempts + 1
    )


# --- the sweep's part ----------------------------------------------------------------------------


def expire(limit: int = 500) -> int:
    """Delete the files of exports past their expiry (the row stays, marked expired). Returns
    how many."""
    expired = 0
    due = ExportJob.objects.filter(status=Status.DONE, expires_at__lte=timezone.now())
    for job in due.order_by("expires_at")[:limit]:
        if job.file:
            job.file.delete(save=False)
        expired += ExportJob.objects.filter(pk=job.pk, status=Status.DONE).update(
            status=Status.EXPIRED, file=""
        )
    return expired


def kick_stale(limit: int = 50) -> int:
    """Running exports whose heartbeat stopped (their worker died, and the job was already
    taken again, or lost): a new job claims them again. Returns how many."""
    stale = ExportJob.objects.filter(status=Status.RUNNING, heartbeat_at__lt=_stale_before())
    ids = list(stale.values_list("pk", flat=True)[:limit])
    for pk in ids:
        build_export.enqueue(pk)
    return len(ids)
