"""Verify the whole audit trail (verification.verify_everything); exit 1 naming the first
problem if any. The result is kept among the integrity page's runs unless --no-record."""

import os

from django.core.management.base import BaseCommand, CommandError

from dossiers.verification import record_report, verify_everything


class Command(BaseCommand):
    help = (
        "Verify the whole audit trail (chains, seals, history rows, current rows, anchors, "
        "digests; stored files with --files); exits non-zero on the first break."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--all", action="store_true", help="report every broken chain, not only the first"
        )
        parser.add_argument(
            "--files", action="store_true", help="also re-hash every stored file (slower)"
        )
        parser.add_argument(
            "--all-seals",
            action="store_true",
            help="verify every record's Ed25519 signature, not only each chain's newest and a "
            "random sample (about 0.1 ms per record; see docs/integrity.md)",
        )
        parser.add_argument(
            "--jobs",
            type=int,
            default=os.cpu_count() or 1,
            help="processes reading the records on PostgreSQL (default: the number of cores; "
            "SQLite always uses one)",
        )
        parser.add_argument(
            "--no-record",
            action="store_true",
            help="do not keep the result among the verification runs of the integrity page",
        )

    def handle(self, *args, **options):
        report = verify_everything(
            files=options["files"],
            report_all=options["all"],
            all_seals=options["all_seals"],
            jobs=max(1, options["jobs"]),
        )
        if not options["no_record"]:
            record_report(report, files=options["files"])
        if report.problems:
            for problem in report.problems:
                self.stderr.write(f"BROKEN: {problem}")
            raise CommandError(
                f"audit trail verification failed: first broken event: {report.problems[0]}"
            )
        counts = report.counts
        self.stdout.write(
            self.style.SUCCESS(
                f"OK: {counts.get('dossiers', 0)} dossiers, {counts.get('events', 0)} events, "
                f"{counts.get('access_log_entries', 0)} access log entries, "
                f"{counts.get('history_rows', 0)} history rows, "
                f"{counts.get('anchors', 0)} anchors: "
                "every chain, seal, current row and anchor verifies."
            )
        )
