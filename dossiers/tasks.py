"""Background jobs (Django's Tasks API, the django-tasks backport, database backend).

Each job is defined beside its work (notify.send_email, slips.render_slip,
integrations.webhooks.deliver_webhooks, verification.run_verification); this module holds the
worker's housekeeping: the periodic sweep, the requeueing of dead workers' jobs and the backlog
count.

A job is a row of the task table, enqueued inside the action's transaction, so it exists
exactly when the action committed. Every job is idempotent, and a job that fails schedules its
own retry with a growing delay: run twice (a worker killed mid-job, the job requeued by
`requeue_stale`), it does no harm. Jobs are scheduled on the real clock (`timezone.now()`, which
workers read), not on `clock.now()`, which demo data and tests move. Run workers with
`manage.py run_worker`; several may run side by side on PostgreSQL.
"""

from __future__ import annotations

import datetime as dt
import logging

from django.conf import settings
from django.db import transaction
from django.db.models import Q
from django.utils import timezone
from django_tasks import task
from django_tasks_db.compat import TaskResultStatus
from django_tasks_db.models import DBTaskResult

from . import anchors, export_jobs, indicators, notify
from .export_jobs import build_export, send_export_notice
from .integrations import webhooks
from .integrations.webhooks import deliver_webhooks, fan_out
from .models import OutgoingEmail
from .notify import send_email
from .slips import render_slip
from .verification import run_verification

# Every job, for whoever looks for them here.
__all__ = [
    "backlog",
    "build_export",
    "deliver_webhooks",
    "fan_out",
    "render_slip",
    "requeue_stale",
    "run_verification",
    "send_email",
    "send_export_notice",
    "sweep",
]

log = logging.getLogger(__name__)

SWEEP_EVERY = dt.timedelta(seconds=60)


@task()
def sweep() -> None:
    """Every minute: put back jobs of dead workers, and make sure every piece of pending work
    has a job (a subscription with a backlog, an e-mail still to send, an export whose worker
    died), delete expired export files, sign the audit anchor when one is due (anchors.py) and
    fold the minute's actions into the indicator rollups (indicators.refresh_rollups). Then plan
    the next."""
    schedule_sweep()  # first: a failure below must not end the sweeps
    requeue_stale()
    webhooks.kick_pending()
    covered = {job["args"][0] for job in _open(send_email).values_list("args_kwargs", flat=True)}
    pending = OutgoingEmail.objects.filter(state=OutgoingEmail.State.PENDING).exclude(
        pk__in=covered
    )
    for email in pending.only("pk", "next_attempt_at")[:500]:
        notify.plan(email)  # its job was lost with a worker: planned for its next try
    export_jobs.kick_stale()  # an export whose worker died is built again
    export_jobs.expire()  # expired export files are deleted (ONESTOP_EXPORT_KEEP_DAYS)
    try:
        anchors.anchor_if_due()  # last: a failure here must not hold up mail and webhooks
    except Exception:
        # verify_audit reports anchoring that stopped; the next sweep tries again.
        log.exception("signing the audit anchor failed")
    try:
        indicators.refresh_rollups()  # the supervisors' figures, correct to the minute
    except Exception:
        log.exception("refreshing the indicator rollups failed")  # the next sweep retries


def _open(job):
    """Jobs of `job` waiting (due now or planned for later) or running."""
    return DBTaskResult.objects.filter(
        status__in=[TaskResultStatus.READY, TaskResultStatus.RUNNING], task_path=job.module_path
    )


def schedule_sweep() -> None:
    """Plan the next sweep unless one is already planned."""
    if not _open(sweep).filter(status=TaskResultStatus.READY).exists():
        sweep.using(run_after=timezone.now() + SWEEP_EVERY).enqueue()


def requeue_stale() -> int:
    """Jobs marked running for longer than any job takes belong to a worker that died: ready
    again (at least once). Returns how many."""
    limit = timezone.now() - dt.timedelta(seconds=settings.ONESTOP_STALE_JOB_SECONDS)
    with transaction.atomic():
        return DBTaskResult.objects.filter(
            Q(status=TaskResultStatus.RUNNING) & Q(started_at__lt=limit)
        ).update(status=TaskResultStatus.READY, started_at=None)


def backlog() -> int:
    """Jobs due to run now and not yet taken (for /healthz and the operations page)."""
    return DBTaskResult.objects.ready().count()
