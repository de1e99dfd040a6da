"""Walk every dossier's audit hash chain; exit 1 naming the first broken event if any."""

from django.core.management.base import BaseCommand, CommandError

from dossiers.audit import verify_all, verify_digests
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
        if not problems or options["all"]:
            problems.extend(verify_digests())
        if problems:
            for problem in problems:
                self.stderr.write(f"BROKEN: {problem}")
            raise CommandError(
                f"audit trail verification failed: first broken event: {problems[0]}"
            )
        self.stdout.write(
            self.style.SUCCESS(
                f"OK: {Dossier.objects.count()} dossiers, {DossierEvent.objects.count()} events, "
                "every hash chain and stored daily digest verifies."
            )
        )
