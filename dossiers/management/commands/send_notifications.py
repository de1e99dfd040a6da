"""Send pending e-mails now, whenever their next try was planned (the worker retries them on its
own with growing delays; see notify.py)."""

from django.core.management.base import BaseCommand

from dossiers import notify


class Command(BaseCommand):
    help = (
        "Send pending notification e-mails now (the worker retries them on its own; an e-mail "
        "failing past ONESTOP_EMAIL_RETRY_DAYS is failed for good)."
    )

    def add_arguments(self, parser):
        parser.add_argument("--limit", type=int, default=500)

    def handle(self, *args, **options):
        tried, sent = notify.retry(limit=options["limit"])
        self.stdout.write(f"{sent} of {tried} pending e-mails sent.")
