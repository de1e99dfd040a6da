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

from . import anchors, bulk_verify, integrity, sealing
from .audit import verify_digests
from .models import (
    AuditAnchor,
    AuditDigest,
    VerificationRun,
)

log = logging.getLogger(__name__)

# The share of records, beyond each chain's newest, whose signature a verification checks: an
# intruder cannot tell which, so a signature garbled anywhere is found within a few runs.
SEAL_SAMPLE = 0.01


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
    # Verify every record's Ed25519 signature, not only each chain's newest and a sample
    # (docs/integrity.md, "Verifying in bulk").
    all_seals: bool = False
    seal_sample: float = SEAL_SAMPLE
    jobs: int = 1  # processes reading the records (PostgreSQL, outside a caller's transaction)
    problems: list[str] = field(default_factory=list)
    counts: dict[str, int] = field(default_factory=dict)
    owns_snapshot: bool = False  # set by verify_everything: the transaction is its own
    _scan: bulk_verify.Part | None = None
    _anchors: tuple | None = None

    def found(self, problem) -> None:
        self.problems.append(str(problem))

    def count(self, what: str, n: int) -> None:
        self.counts[what] = self.counts.get(what, 0) + n

    @property
    def enough(self) -> bool:
        """A problem is already known and only the first was asked for."""
        return bool(self.problems) and not self.report_all

    def trusted_anchors(self) -> tuple[list[dict], list[str]]:
        if self._anchors is None:
            self._anchors = anchors.trusted_anchors(self.keys())
        return self._anchors

    def keys(self):
        return sealing.trusted_keys()

    def scan(self) -> bulk_verify.Part:
        """Every sealed record read once (the first check that needs it runs it): chains,
        history rows, access log, and the anchored windows' counts and sums."""
        if self._scan is None:
            reference, _problems = self.trusted_anchors()
            jobs = self.jobs if self.owns_snapshot and bulk_verify.can_fork(self.jobs) else 1
            policy = bulk_verify.Policy(all_seals=self.all_seals, sample=self.seal_sample)
            self._scan = bulk_verify.scan(
                keys=self.keys(),
                policy=policy,
                windows=anchors.Windows(reference) if reference else None,
                jobs=jobs,
            )
            if self._scan.problems.get(bulk_verify.ACCESS_LOG) and not self.all_seals:
                # Name every altered entry, as a check of every signature would.
                again = bulk_verify.access_log_with_every_seal(self.keys(), None)
                self._scan.problems[bulk_verify.ACCESS_LOG] = again.problems[bulk_verify.ACCESS_LOG]
        return self._scan


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
    scan = verification.scan()
    verification.count("dossiers", scan.counts.get("dossiers", 0))
    verification.count("events", scan.counts.get("events", 0))
    _report_each(verification, scan.problems.get(bulk_verify.CHAINS, []))


def check_digests(verification: Verification) -> None:
    """Every stored daily digest, recomputed (each differing day is named)."""
    verification.count("digests", AuditDigest.objects.count())
    for problem in verify_digests():
        verification.found(problem)


def check_access_log(verification: Verification) -> None:
    """The access log's global chain."""
    scan = verification.scan()
    verification.count("access_log_entries", scan.counts.get("access_log_entries", 0))
    _report_each(verification, scan.problems.get(bulk_verify.ACCESS_LOG, []))


def check_history(verification: Verification) -> None:
    """Every history row's chain and seal, and each current row against its newest one."""
    scan = verification.scan()
    verification.count("history_rows", scan.counts.get("history_rows", 0))
    for spec in bulk_verify.history_specs():
        _report_each(verification, scan.problems.get(spec.source, []))
        if verification.enough:
            return


def check_stored_hashes(verification: Verification) -> None:
    """Each slip's hash, and each signed document's (its verification code), is the one its
    sealed event recorded."""
    _report_each(verification, integrity.verify_stored_hashes())
    if not verification.enough:
        _report_each(verification, integrity.verify_signed_documents())


def check_anchors(verification: Verification) -> None:
    """The anchors (file outside the database and its copy inside), and every anchored window
    recomputed from the records present."""
    verification.count("anchors", AuditAnchor.objects.count())
    scan = verification.scan()
    tallies = {name: scan.tallies.get(name, {}) for name in anchors.sources()}
    found = anchors.verify_anchors(trusted=verification.trusted_anchors(), tallies=tallies)
    _report_each(verification, found)


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
    a transaction there would hold the write lock for the whole verification.) Yields whether
    the snapshot is this verification's own, which worker processes may then share."""
    if connection.vendor != "postgresql" or connection.in_atomic_block:
        yield False
        return
    with transaction.atomic():
        with connection.cursor() as cursor:
            cursor.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ READ ONLY")
        yield True


def verify_everything(
    *,
    files: bool = False,
    report_all: bool = True,
    progress: Callable[[str], None] | None = None,
    all_seals: bool = False,
    seal_sample: float | None = None,
    jobs: int = 1,
) -> VerificationReport:
    """Run every check; with `report_all=False`, stop after the check that found the first
    problem. `progress(name)` is told each check's name as it starts. `jobs` processes read
    the records on PostgreSQL; `all_seals` verifies every record's signature."""
    started_at = timezone.now()
    verification = Verification(
        files=files,
        report_all=report_all,
        progress=progress,
        all_seals=all_seals,
        seal_sample=SEAL_SAMPLE if seal_sample is None else seal_sample,
        jobs=jobs,
    )
    with _one_snapshot() as owned:
        verification.owns_snapshot = owned
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
