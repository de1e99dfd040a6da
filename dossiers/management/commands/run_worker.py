"""`manage.py run_worker`: the background worker (e-mails, slips, webhook deliveries).

It puts back the jobs of workers that died (tasks.requeue_stale), makes sure the periodic sweep
is planned, then runs django-tasks' database worker on every queue. Run as many as needed on
PostgreSQL; on SQLite run one."""

from django.core.management import call_command
from django.core.management.base import BaseCommand

from dossiers import tasks


class Command(BaseCommand):
    help = "Run the background worker (e-mails, slips, webhooks); Ctrl-C stops it."

    def add_arguments(self, parser):
        parser.add_argument(
            "--batch", action="store_true", help="exit once no job is ready (tests, cron)"
        )
        parser.add_argument("--interval", type=float, default=1.0, help="seconds between polls")

    def handle(self, *args, **options):
        requeued = tasks.requeue_stale()
        if requeued:
            self.stdout.write(f"Put back {requeued} jobs of workers that stopped.")
        tasks.schedule_sweep()
        worker_args = ["--queue-name", "*", "--interval", str(options["interval"])]
        if options["batch"]:
            worker_args.append("--batch")
        call_command("db_worker", *worker_args)
