"""Walk every dossier's audit hash chain and the access log's chain; exit 1 naming the first
broken event or entry if any."""

from django.core.management.base import BaseCommand, CommandError

from dossiers import anchors, integrity
from dossiers.access import verify_access_log
from dossiers.audit import verify_all, verify_digests
from dossiers.models import AccessLogEntry, Dossier, DossierEvent


class Command(BaseCommand):
    help = (
        "Verify the audit hash chain of every dossier and the access log's chain; exits "
        "non-zero on the first break."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--all", action="store_true", help="report every broken chain, not only the first"
        )
        parser.add_argument(
            "--files", action="store_true", help="also re-hash every stored document and slip"
        )

    def handle(self, *args, **options):
        problems = []
        for problem in verify_all():
            problems.append(problem)
            if not options["all"]:
                break
        if not problems or options["all"]:
            problems.extend(verify_digests())
        if not problems or options["all"]:
            for problem in verify_access_log():
                problems.append(problem)
                if not options["all"]:
                    break
        later_checks = [
            integrity.verify_history,
            integrity.verify_stored_hashes,
            anchors.verify_anchors,
        ]
        if options["files"]:
            later_checks.append(integrity.verify_files)
        for check in later_checks:
            if problems and not options["all"]:
                break
            for problem in check():
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
                f"{AccessLogEntry.objects.count()} access log entries, every hash chain and "
                "stored daily digest verifies."
            )
        )
