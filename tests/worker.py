"""Running the background jobs in a test: the real worker's own code (django-tasks-db's
Worker.run_task), job by job, inside the test's transaction."""

from django_tasks_db.compat import TaskResultStatus
from django_tasks_db.management.commands.db_worker import Worker
from django_tasks_db.models import DBTaskResult
from django_tasks_db.utils import exclusive_transaction


def run_jobs(*, limit: int = 1000) -> int:
    """Run every job that is ready now, as `manage.py run_worker` would; a job that fails fails
    the test with its traceback. Returns how many ran."""
    worker = Worker(
        queue_names=["*"],
        interval=0,
        batch=True,
        backend_name="default",
        startup_delay=False,
        max_tasks=None,
        worker_id="test-worker",
        excluded_queue_names=[],
    )
    ran = 0
    while ran < limit:
        with exclusive_transaction():
            job = DBTaskResult.objects.ready().get_locked()
            if job is None:
                return ran
            job.claim(worker.worker_id)
        worker.run_task(job)
        job.refresh_from_db()
        assert job.status != TaskResultStatus.FAILED, job.traceback
        ran += 1
    raise AssertionError(f"jobs still ready after {limit}: a job that keeps re-enqueueing?")


def ready_jobs(task=None) -> list[DBTaskResult]:
    jobs = DBTaskResult.objects.ready()
    if task is not None:
        jobs = jobs.filter(task_path=task.module_path)
    return list(jobs)
