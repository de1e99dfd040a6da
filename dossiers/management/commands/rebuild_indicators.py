"""`manage.py rebuild_indicators`: recompute the supervisors' indicator rollups from the dossiers
(after a bulk load or a restore; actions keep them by themselves through the worker)."""

import time

from django.core.management.base import BaseCommand

from dossiers.indicators import rebuild_rollups


class Command(BaseCommand):
    help = "Recompute every indicator rollup row from the dossiers."

    def handle(self, *args, **options):
        start = time.monotonic()
        rows = rebuild_rollups()
        self.stdout.write(f"{rows} rollup rows in {time.monotonic() - start:.1f} s")
