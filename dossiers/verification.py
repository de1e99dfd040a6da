"""Verifying the whole audit trail, once, for the command and the worker alike.

`verify_everything` runs every check of `CHECKS` in turn and returns one report. `manage.py
verify_audit` prints it; the integrity page asks for a `VerificationRun`, which the worker's job
(`run_verification`) fills in, so that no page ever recomputes the trail on a request.

A check is a function taking the `Verification` under way: it counts what it looked at
(`verification.count`) and reports what it found (`verification.found`), stopping early when
`verification.enough` says the first problem is all that was asked for.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Callable
from contextlib import contextmanager
from dataclasses import dataclass, field

from django.conf import settings
from django.db import IntegrityError, connection, transaction
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django_tasks import task

from . import anchors, integrity, sealing
from .access import verify_access_log
from .audit import verify_all, verify_digests
from .models import (
    AccessLogEntry,
    AuditAnchor,
    AuditDigest,
    Dossier,
    DossierEvent,
    VerificationRun,
)

log = logging.getLogger(__name__)


@dataclass
class VerificationReport:
    ok: bool
    problems: list[str]
    counts: dict[str, int]
    started_at: dt.datetime
    finished_at: dt.datetime


@dataclass
class Verification:
    """One verification under way: its options, and what the checks counted and found."""

    files: bool = False  # also re-hash the stored files (a slow check, asked for explicitly)
    report_all: bool = True  # False: stop at the first problem
    progress: Callable[[str], None] | None = None
    problems: list[str] = field(default_factory=list)
    counts: dict[str, int] = field(default_factory=dict)

    def found(self, problem) -> None:
        self.problems.append(str(problem))

    def count(self, what: str, n: int) -> None:
        self.counts[what] = self.counts.get(what, 0) + n

    @property
    def enough(self) -> bool:
        """A problem is already known and only the first was asked for."""
        return bool(self.problems) and not self.report_all


Check = Callable[[Verification], None]

# What the counts count, for people (a check may add its own; unknown keys show as they are).
COUNT_LABELS = {
    "dossiers": _("Hồ sơ"),
    "events": _("Sự kiện nhật ký"),
    "digests": _("Mã tổng hợp hằng ngày"),
    "access_log_entries": _("Lượt xem dữ liệu cá nhân"),
    "history_rows": _("Dòng lịch sử"),
    "anchors": _("Mốc neo"),
}


def _report_each(verification: Verification, problems) -> None:
    """Record each problem, stopping at the first when only the first was asked for."""
    for problem in problems:
        verification.found(problem)
        if verification.enough:
            return


def check_chains(verification: Verification) -> None:
    """Every dossier's hash chain, with the history rows its events name."""
    verification.count("dossiers", Dossier.objects.count())
    verification.count("events", DossierEvent.objects.count())
    _report_each(verification, verify_all())


def check_digests(verification: Verification) -> None:
    """Every stored daily digest, recomputed (each differing day is named)."""
    verification.count("digests", AuditDigest.objects.count())
    for problem in verify_digests():
        verification.found(problem)


def check_access_log(verification: Verification) -> None:
    """The access log's global chain."""
    verification.count("access_log_entries", AccessLogEntry.objects.count())
    _report_each(verification, verify_access_log())


def check_history(verification: Verification) -> None:
    """Every history row's chain and seal, and each current row against its newest one."""
    verification.count(
        "history_rows", sum(m.objects.count() for m in sealing.sealed_history_models())
    )
    _report_each(verification, integrity.verify_history())


def check_stored_hashes(verification: Verification) -> None:
    """Each slip's hash is the one its sealed event recorded."""
    _report_each(verification, integrity.verify_stored_hashes())


def check_anchors(verification: Verification) -> None:
    """The anchors (file outside the database and its copy inside), and every anchored window
    recomputed from the records present."""
    verification.count("anchors", AuditAnchor.objects.count())
    _report_each(verification, anchors.verify_anchors())


def check_files(verification: Verification) -> None:
    """Every stored document and slip re-hashed (only when asked for: it reads every file)."""
    if verification.files:
        _report_each(verification, integrity.verify_files())


# Every check, in the order they run.
CHECKS: list[Check] = [
    check_chains,
    check_digests,
    check_access_log,
    check_history,
    check_stored_hashes,
    check_anchors,
    check_files,
]


@contextmanager
def _one_snapshot():
    """On PostgreSQL, every check reads the same snapshot (REPEATABLE READ, read only): an
    action committed between two reads must not look like tampering. (SQLite is left alone:
    a transaction there would hold the write lock for the whole verification.)"""
    if connection.vendor != "postgresql" or connection.in_atomic_block:
        yield
        return
    with transaction.atomic():
        with connection.cursor() as cursor:
            cursor.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ READ ONLY")
        yield


def verify_everything(
    *, files: bool = False, report_all: bool = True, progress: Callable[[str], None] | None = None
) -> VerificationReport:
    """Run every check; with `report_all=False`, stop after the check that found the first
    problem. `progress(name)` is told each check's name as it starts."""
    started_at = timezone.now()
    verification = Verification(files=files, report_all=report_all, progress=progress)
    with _one_snapshot():
        for check in CHECKS:
            if verification.enough:
                break
            if progress is not None:
                progress(check.__name__)
            check(verification)
    return VerificationReport(
        ok=not verification.problems,
        problems=verification.problems,
        counts=verification.counts,
        started_at=started_at,
        finished_at=timezone.now(),
    )


# --- runs: asked for, done by the worker, kept ---------------------------------------------------


def _stale_before() -> dt.datetime:
    """A run still marked running since before this belongs to a worker that died (its job is
    put back by tasks.requeue_stale after the same delay)."""
    return timezone.now() - dt.timedelta(seconds=settings.ONESTOP_STALE_JOB_SECONDS)


def request_run(user, *, files: bool = False) -> tuple[VerificationRun, bool]:
    """Ask the worker for a verification: (the run, True), or (the run already waiting or
    running, False): never two at a time."""
    for _attempt in range(3):
        try:
            with transaction.atomic():
                run = VerificationRun.objects.create(
                    requested_by=user,
                    via=VerificationRun.Via.PAGE,
                    files=files,
                    requested_at=timezone.now(),
                    status=VerificationRun.Status.QUEUED,
                )
                # The job is a row of this transaction: it exists exactly when the run does.
                run_verification.enqueue(run.pk)
            return run, True
        except IntegrityError:
            active = VerificationRun.objects.filter(active=True).first()
            if active is not None:  # else it finished meanwhile: ask again
                return active, False
    raise RuntimeError("could not request a verification run")


def active_run() -> VerificationRun | None:
    return VerificationRun.objects.filter(active=True).first()


@task()
def run_verification(run_id: int) -> None:
    """The worker's job: claim the run, verify everything, store what was found. Run twice (a
    worker killed mid-run, its job put back), the second claims the run again once the first
    is stale, and stores its own result."""
    now = timezone.now()
    claimable = Q(status=VerificationRun.Status.QUEUED) | Q(
        status=VerificationRun.Status.RUNNING, started_at__lt=_stale_before()
    )
    claimed = (
        VerificationRun.objects.filter(claimable, pk=run_id)
        .filter(active=True)
        .update(status=VerificationRun.Status.RUNNING, started_at=now)
    )
    if not claimed:
        return  # finished already, running elsewhere, or unknown
    run = VerificationRun.objects.get(pk=run_id)
    try:
        report = verify_everything(files=run.files, report_all=True)
    except Exception as error:  # recorded on the run; asking again is one button away
        log.exception("verification run %s failed", run_id)
        VerificationRun.objects.filter(pk=run_id).update(
            status=VerificationRun.Status.ERROR,
            error=f"{type(error).__name__}: {error}"[:2000],
            finished_at=timezone.now(),
            active=None,
        )
        return
    VerificationRun.objects.filter(pk=run_id).update(**_result(report), active=None)


def _result(report: VerificationReport) -> dict:
    return {
        "status": VerificationRun.Status.OK if report.ok else VerificationRun.Status.FAILED,
        "problems": report.problems[: VerificationRun.MAX_PROBLEMS],
        "problem_count": len(report.problems),
        "counts": report.counts,
        "started_at": report.started_at,
        "finished_at": report.finished_at,
    }


def record_report(report: VerificationReport, *, files: bool = False) -> VerificationRun:
    """Keep a verification made outside the worker (the command line) among the runs."""
    return VerificationRun.objects.create(
        requested_by=None,
        via=VerificationRun.Via.COMMAND,
        files=files,
        requested_at=report.started_at,
        active=None,
        **_result(report),
    )


def recent_runs(limit: int = 10) -> list[VerificationRun]:
    """The latest runs, newest first (one query)."""
    return list(VerificationRun.objects.select_related("requested_by")[:limit])
