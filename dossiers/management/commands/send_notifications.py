"""Retry e-mails that could not be sent when their action committed (run it from cron)."""

from django.core.management.base import BaseCommand

from dossiers import notify


class Command(BaseCommand):
    help = "Send pending notification e-mails (retries failures; gives up after several tries)."

    def add_arguments(self, parser):
        parser.add_argument("--limit", type=int, default=500)

    def handle(self, *args, **options):
        tried, sent = notify.retry(limit=options["limit"])
        self.stdout.write(f"{sent} of {tried} pending e-mails sent.")
