"""`manage.py seed_demo`: the demo data of dossiers/demo/seeding.py (refused with DEBUG off)."""

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from dossiers.demo.seeding import PASSWORD, seed_demo


class Command(BaseCommand):
    help = f"Load demo agencies, procedures, accounts (password {PASSWORD}) and ~300 dossiers."

    def add_arguments(self, parser):
        parser.add_argument("--force", action="store_true", help="run even when DEBUG is off")
        parser.add_argument("--dossiers", type=int, default=300, help="how many dossiers")
        parser.add_argument("--seed", type=int, default=2026, help="random seed")

    def handle(self, *args, **options):
        if not settings.DEBUG and not options["force"]:
            raise CommandError(
                "seed_demo creates accounts with a published password; it refuses to run with "
                "DEBUG off. Use --force if you really mean it."
            )
        made = seed_demo(dossiers=options["dossiers"], seed=options["seed"], log=self.stdout.write)
        if made:
            self.stdout.write(self.style.SUCCESS(f"Created {made} demo dossiers."))
