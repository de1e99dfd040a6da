"""Several `manage.py run_worker` processes side by side on PostgreSQL share the work without
running a job twice: django-tasks-db takes each job with SELECT … FOR UPDATE SKIP LOCKED and
marks it claimed in the same transaction (docs/scaling.md)."""

import os
import subprocess
import sys
import time
from pathlib import Path

import pytest
from django.db import connection
from django_tasks_db.compat import TaskResultStatus
from django_tasks_db.models import DBTaskResult

from dossiers import notify
from dossiers.models import OutgoingEmail
from dossiers.workflow import Status

from .smtp_support import SMTPPeer, _Handler
from .worker import run_jobs

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]

ROOT = Path(__file__).resolve().parent.parent
WORKERS = 3
EMAILS = 30


class _SlowHandler(_Handler):
    """Takes a quarter of a second to accept each message, so that the work lasts long enough
    for every worker to be running at once."""

    def reply(self, line: str) -> None:
        if line.startswith("250 2.0.0 queued"):
            time.sleep(0.25)
        super().reply(line)


def _worker(port: int) -> subprocess.Popen:
    db = connection.settings_dict
    env = {
        **os.environ,
        "DATABASE_URL": f"postgres://{db['USER']}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}"
        f"/{db['NAME']}",
        "DEBUG": "0",
        "EMAIL_HOST": "127.0.0.1",
        "EMAIL_PORT": str(port),
        "EMAIL_USE_TLS": "0",
    }
    return subprocess.Popen(
        [sys.executable, "manage.py", "run_worker", "--batch", "--interval", "0.05"],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )


def test_workers_side_by_side_run_each_job_once(make_dossier):
    dossier = make_dossier(Status.RECEIVED)
    run_jobs()  # the action's own jobs (slip, e-mails, feed), in this process
    event = dossier.events.order_by("-seq").first()
    emails = [
        OutgoingEmail.objects.create(
            dossier=dossier,
            event=event,
            to=f"nguoi-nhan-{n}@example.vn",
            subject=f"Thư số {n}",
            body="Hồ sơ của bạn đã được tiếp nhận.",
            created_at=event.created_at,
        )
        for n in range(EMAILS)
    ]
    for email in emails:
        notify.plan(email)  # one send_email job each, ready now

    peer = SMTPPeer()
    peer._server.RequestHandlerClass = _SlowHandler
    workers = [_worker(peer.port) for _ in range(WORKERS)]
    try:
        for worker in workers:  # --batch: each exits once no job is ready
            _out, err = worker.communicate(timeout=240)
            assert worker.returncode == 0, err[-3000:]
    finally:
        for worker in workers:
            if worker.poll() is None:
                worker.kill()
        peer.close()

    subjects = sorted(str(m["Subject"]) for m in peer.messages)
    assert subjects == sorted(f"Thư số {n}" for n in range(EMAILS))  # each once, none lost
    assert set(
        OutgoingEmail.objects.filter(pk__in=[e.pk for e in emails]).values_list("state", flat=True)
    ) == {OutgoingEmail.State.SENT}
    jobs = DBTaskResult.objects.filter(task_path=notify.send_email.module_path)
    jobs = [job for job in jobs if job.args_kwargs["args"][0] in {e.pk for e in emails}]
    assert len(jobs) == EMAILS
    assert {job.status for job in jobs} == {TaskResultStatus.SUCCESSFUL}
    assert all(len(job.worker_ids) == 1 for job in jobs)  # claimed by one worker, once
    assert len({job.worker_ids[0] for job in jobs}) >= 2  # and the work was shared
