"""Walk every dossier's audit hash chain; exit 1 naming the first broken event if any."""

from django.core.management.base import BaseCommand, CommandError

from dossiers.audit import verify_all
from dossiers.models import Dossier, DossierEvent


class Command(BaseCommand):
    help = "Verify the audit hash chain of every dossier; exits non-zero on the first break."

    def add_arguments(self, parser):
        parser.add_argument(
            "--all", action="store_true", help="report every broken dossier, not only the first"
        )

    def handle(self, *args, **options):
        problems = []
        for problem in verify_all():
            problems.append(problem)
            if not options["all"]:
                break
        if problems:
            for problem in problems:
                self.stderr.write(f"BROKEN: {problem}")
            raise CommandError(
                f"audit trail verification failed: first broken event: {problems[0]}"
            )
        self.stdout.write(
            self.style.SUCCESS(
                f"OK: {Dossier.objects.count()} dossiers, {DossierEvent.objects.count()} events, "
                "every hash chain verifies."
            )
        )
