"""Store the day's digest of every dossier's audit chain head (run daily from cron)."""

import datetime as dt

from django.core.management.base import BaseCommand, CommandError

from dossiers import clock
from dossiers.audit import record_digest
from dossiers.worktime import VN_TZ


class Command(BaseCommand):
    help = "Store the digest of all chain heads at the end of a day (default: yesterday)."

    def add_arguments(self, parser):
        parser.add_argument("--day", help="YYYY-MM-DD (Vietnam date); default yesterday")

    def handle(self, *args, **options):
        today = clock.now().astimezone(VN_TZ).date()
        try:
            day = (
                dt.date.fromisoformat(options["day"])
                if options["day"]
                else today - dt.timedelta(days=1)
            )
        except ValueError:
            raise CommandError("--day takes a date as YYYY-MM-DD") from None
        if day >= today:
            raise CommandError("a day's digest can be made once the day is over")
        stored = record_digest(day)
        self.stdout.write(f"{stored.day:%Y-%m-%d} {stored.digest} ({stored.dossiers} dossiers)")
